// Command cheeseshop is a Python package index server: the legacy upload API
// for twine and setup.py, and static /simple pages (PEP 503, 691) rewritten
// by every upload before it returns.
//
// This package is wiring only: flags and environment into each package's
// Config, one logger, one pgx pool, the constructors, and the run loop.
// Every command is a row of the table in commands; it parses and checks its
// flags and environment before it touches the database, and only serve and
// migrate change the schema (config.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "cheeseshop:", errorText(err))
		}
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
}

// env is everything a command gets from the process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	cmd    command // the command being run, for its usage
	// collect, when set, receives the command's flags once they are
	// defined, and the command stops there (configfile.go).
	collect func(*flagSet)
}

// command is one subcommand: its name (one word, or a group and a word:
// "token list"), one line of help, and the function that runs it with the
// arguments after its name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

// errUsage is a usage error whose explanation is already printed.
var errUsage = errors.New("usage")

// commands is every subcommand, in the order help lists them. To add one,
// add a row here and write its run function next to its kin.
var commands = []command{
	{"serve", "run the index server (migrates the database first)", cmdServe},
	{"migrate", "apply pending database migrations", cmdMigrate},
	{"user add", "add an upload account (password read from stdin)", cmdUserAdd},
	{"user list", "list the accounts, with their state, tokens and projects", cmdUserList},
	{"user passwd", "change a user's password (the new one read from stdin)", cmdUserPasswd},
	{"user disable", "stop a user's password and tokens from authenticating (roles and files stay)", cmdUserDisable},
	{"user enable", "let a disabled user authenticate again", cmdUserEnable},
	{"token create", "create an API token for a user and print it (once) on stdout", cmdTokenCreate},
	{"token list", "list a user's API tokens (never the secrets)", cmdTokenList},
	{"token revoke", "revoke an API token by its id", cmdTokenRevoke},
	{"role add", "give a user the owner or maintainer role on a project", cmdRoleAdd},
	{"role remove", "take a user's role on a project away", cmdRoleRemove},
	{"project limit", "show or set a project's own size limits: --file-size (in place of --max-file-size) and --total-size", cmdProjectLimit},
	{"yank", "yank a release (PEP 592): installers skip it unless pinned", cmdYank},
	{"unyank", "take a release's yank back", cmdUnyank},
	{"delete", "delete a release, or one file of it; its filenames can never be uploaded again", cmdDelete},
	{"project status", "set a project's PEP 792 status: active, archived, deprecated or quarantined", cmdProjectStatus},
	{"project retention", "show, set or --clear a project's retention policy, which serve applies every --prune-interval", cmdProjectRetention},
	{"prune", "delete old releases (dev builds) by a retention policy, like delete does; --dry-run lists them", cmdPrune},
	{"check", "verify every file (size, sha256, metadata) and every page against the database; exit 1 on any problem", cmdCheck},
	{"regenerate", "rewrite the /simple pages of the named projects (or --all) and the root page; safe while servers run", cmdRegenerate},
	{"mirror run", "run the CDN mirror worker alone (serve runs it too when --mirror is set)", cmdMirrorRun},
	{"mirror status", "list files pending, mirrored and failed on the CDN, with the last error", cmdMirrorStatus},
	{"mirror retry", "make failed files pending again: FILE or --all-failed", cmdMirrorRetry},
	{"upstream status", "sum up the upstream cache: cached projects and files, bytes, hit ratio", cmdUpstreamStatus},
	{"upstream purge", "forget cached upstream projects (NAME... or --all), in the database and on disk", cmdUpstreamPurge},
	{"project claim", "reserve a name the upstream cache holds for local uploads; it is never looked up upstream again", cmdProjectClaim},
	{"deploy nginx", "print an nginx server block that serves the static tree and proxies the rest", cmdDeployNginx},
	{"deploy apache", "print an Apache <VirtualHost> that serves the static tree and proxies the rest", cmdDeployApache},
	{"dev seed", "fill the database and data directory with a synthetic index (for benchmarks)", cmdSeed},
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr, "")
		return errUsage
	}
	if isHelp(args[0]) {
		return help(ctx, e, args[1:])
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "version" {
		fmt.Fprintln(stdout, version())
		return nil
	}
	if c, rest, ok := lookup(args); ok {
		e.cmd = c
		return c.run(ctx, e, rest)
	}
	// A group name: "cheeseshop token --help" lists its commands.
	if group := args[0]; isGroup(group) {
		if len(args) == 2 && isHelp(args[1]) {
			usage(stdout, group)
			return nil
		}
		usage(stderr, group)
		if len(args) == 1 {
			return errUsage
		}
		return fmt.Errorf("unknown command %q", group+" "+args[1])
	}
	usage(stderr, "")
	return fmt.Errorf("unknown command %q", args[0])
}

// lookup finds the command args start with and returns the arguments after
// its name.
func lookup(args []string) (command, []string, bool) {
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, args[len(words):], true
		}
	}
	return command{}, nil, false
}

// isGroup reports whether name is the first word of multi-word commands.
func isGroup(name string) bool {
	for _, c := range commands {
		if strings.HasPrefix(c.name, name+" ") {
			return true
		}
	}
	return false
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "-help" || arg == "--help"
}

// help answers "cheeseshop help [GROUP | COMMAND]": every command, a
// group's commands, or one command's flags.
func help(ctx context.Context, e env, args []string) error {
	switch {
	case len(args) == 0:
		usage(e.stdout, "")
		return nil
	case len(args) == 1 && isGroup(args[0]):
		usage(e.stdout, args[0])
		return nil
	}
	if c, rest, ok := lookup(args); ok && len(rest) == 0 {
		e.cmd = c
		e.stderr = e.stdout // asked for: the flags are the answer
		if err := c.run(ctx, e, []string{"--help"}); !errors.Is(err, flag.ErrHelp) {
			return err
		}
		return nil
	}
	usage(e.stderr, "")
	return fmt.Errorf("help: unknown command %q", strings.Join(args, " "))
}

// usage lists the commands, or only those of group.
func usage(w io.Writer, group string) {
	if group == "" {
		fmt.Fprintln(w, "cheeseshop: a Python package index server (PEP 503/691 simple API, legacy upload API).")
		fmt.Fprintln(w, "\nUsage: cheeseshop COMMAND [flags]\n\nCommands:")
	} else {
		fmt.Fprintf(w, "Usage: cheeseshop %s COMMAND [flags]\n\nCommands:\n", group)
	}
	for _, c := range commands {
		if group == "" || strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(w, "  %-22s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprintln(w, "\nRun 'cheeseshop COMMAND --help' for the flags of a command, 'cheeseshop --version' for the version.")
	fmt.Fprintln(w, "Every flag can also be set through the environment variable named in its help.")
}
