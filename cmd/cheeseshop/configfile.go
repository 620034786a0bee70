package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
)

// defaultConfigPath is read when neither --config nor CHEESESHOP_CONFIG
// names a file, and only when it exists.
const defaultConfigPath = "/etc/cheeseshop/cheeseshop.toml"

// The configuration file (docs/operations.md, "Configuration") is TOML. Its
// keys are flag names: a key at the top level sets that flag for every
// command that has it (database-url, data-dir, log-format for all of them);
// a table named after a command's first word ([serve], [deploy], [mirror],
// [token], …) sets flags for those commands only and wins over the top
// level. A key no command has as a flag, in the table it is in, is an
// error naming it. Precedence: flag, then environment, then file, then
// built-in default.

// errCollected ends a command run only to learn its flags (knownFlags).
var errCollected = errors.New("flags collected")

// allCommands is commands, set in init: the command table's run functions
// reach knownFlags, which reads the table, and a variable's initializer
// may not refer to itself.
var allCommands []command

func init() { allCommands = commands }

// configKeys are the flag names of every command: all of them (the keys
// allowed at the top level) and per group (a command's first word: the
// keys allowed in that table).
type configKeys struct {
	all    map[string]bool
	groups map[string]map[string]bool
}

var (
	knownOnce sync.Once
	known     configKeys
)

// knownFlags runs every command just far enough to define its flags.
func knownFlags() configKeys {
	knownOnce.Do(func() {
		known = configKeys{all: map[string]bool{}, groups: map[string]map[string]bool{}}
		for _, c := range allCommands {
			group := strings.Fields(c.name)[0]
			if known.groups[group] == nil {
				known.groups[group] = map[string]bool{}
			}
			e := env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""),
				stdout: io.Discard, stderr: io.Discard, cmd: c}
			e.collect = func(fs *flagSet) {
				fs.VisitAll(func(f *flag.Flag) {
					if f.Name == "config" {
						return
					}
					known.all[f.Name] = true
					known.groups[group][f.Name] = true
				})
			}
			c.run(context.Background(), e, nil) //nolint:errcheck // returns errCollected
		}
	})
	return known
}

// envOfFlag is the environment variable a flag's help names.
var envOfFlag = regexp.MustCompile(`\(env ([A-Z][A-Z0-9_]*)\)`)

// applyConfig sets the flags that were neither given nor set through their
// environment variable from the configuration file, if there is one.
func (fs *flagSet) applyConfig() error {
	path, explicit := fs.configPath, true
	if path == "" {
		path, explicit = defaultConfigPath, false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, iofs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("configuration file: %w", err)
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return fmt.Errorf("configuration file %s: %w", path, err)
	}
	keys := knownFlags()
	group := ""
	if f := strings.Fields(fs.e.cmd.name); len(f) > 0 {
		group = f[0]
	}
	var errs []error
	top, own := map[string]any{}, map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v := raw[k]
		table, isTable := v.(map[string]any)
		if !isTable {
			if !keys.all[k] {
				errs = append(errs, fmt.Errorf("configuration file %s: unknown key %q: no command has a flag --%s", path, k, k))
				continue
			}
			top[k] = v
			continue
		}
		groupKeys, ok := keys.groups[k]
		if !ok {
			errs = append(errs, fmt.Errorf("configuration file %s: unknown table [%s]: a table is named after a command (serve, token, mirror, deploy, …)", path, k))
			continue
		}
		for _, kk := range slices.Sorted(maps.Keys(table)) {
			if !groupKeys[kk] {
				errs = append(errs, fmt.Errorf("configuration file %s: unknown key %q in [%s]: no %s command has a flag --%s", path, kk, k, k, kk))
			} else if k == group {
				own[kk] = table[kk]
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for k, v := range own {
		top[k] = v
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, k := range slices.Sorted(maps.Keys(top)) {
		f := fs.Lookup(k)
		if f == nil || given[k] {
			continue // another command's flag, or given on the command line
		}
		if m := envOfFlag.FindStringSubmatch(f.Usage); m != nil && fs.e.getenv(m[1]) != "" {
			continue // the environment wins over the file
		}
		vals, err := configStrings(top[k])
		if err != nil {
			errs = append(errs, fmt.Errorf("configuration file %s: %s: %w", path, k, err))
			continue
		}
		for _, s := range vals {
			if err := f.Value.Set(s); err != nil {
				errs = append(errs, fmt.Errorf("configuration file %s: %s = %q: %w", path, k, s, err))
			}
		}
		if fs.fromFile == nil {
			fs.fromFile = map[string]string{}
		}
		fs.fromFile[k] = path
	}
	return errors.Join(errs...)
}

// configStrings turns a TOML value into the text a flag parses; an array
// sets a repeatable flag once per element.
func configStrings(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case bool:
		return []string{strconv.FormatBool(v)}, nil
	case int64:
		return []string{strconv.FormatInt(v, 10)}, nil
	case float64:
		return []string{strconv.FormatFloat(v, 'f', -1, 64)}, nil
	case time.Duration:
		return []string{v.String()}, nil
	case []any:
		var out []string
		for _, e := range v {
			s, err := configStrings(e)
			if err != nil || len(s) != 1 {
				return nil, errors.New("an array may hold only strings, numbers and booleans")
			}
			out = append(out, s[0])
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported value of type %T: use a string, number, boolean or array", v)
}
