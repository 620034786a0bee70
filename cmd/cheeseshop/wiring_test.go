package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
	"github.com/cheeseshop/cheeseshop/migrations"
)

// trap is a TCP listener standing in for PostgreSQL: it counts the
// connections made to it, so a test can show that a command never tried
// to reach the database.
type trap struct {
	url   string
	conns atomic.Int32
}

func newTrap(t *testing.T) *trap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	tr := &trap{url: "postgres://nobody@" + ln.Addr().String() + "/trap?sslmode=disable&connect_timeout=1"}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tr.conns.Add(1)
			c.Close()
		}
	}()
	return tr
}

// runIn runs the program in-process with exactly the given environment.
func runIn(env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// A bad flag or environment value is refused before the command touches
// the database or the data directory, and the error names the flag or
// the variable.
func TestBadSettingsRefusedBeforeTheDatabase(t *testing.T) {
	t.Parallel()
	tr := newTrap(t)
	for _, tc := range []struct {
		args []string
		env  map[string]string // on top of a database URL and a data directory
		want string            // in the error
	}{
		{[]string{"serve"}, map[string]string{"CHEESESHOP_MAX_FILE_SIZE": "abc"}, `environment variable CHEESESHOP_MAX_FILE_SIZE="abc": not an integer`},
		{[]string{"serve"}, map[string]string{"CHEESESHOP_MAX_FILE_SIZE": "100MB"}, "CHEESESHOP_MAX_FILE_SIZE"},
		{[]string{"serve"}, map[string]string{"CHEESESHOP_MAX_FILE_SIZE": "0"}, "environment variable CHEESESHOP_MAX_FILE_SIZE must be positive"},
		{[]string{"serve", "--max-file-size", "0"}, nil, "--max-file-size must be positive"},
		{[]string{"serve"}, map[string]string{"CHEESESHOP_ORPHAN_GRACE": "10"}, `environment variable CHEESESHOP_ORPHAN_GRACE="10": not a duration`},
		{[]string{"serve"}, map[string]string{"CHEESESHOP_SWEEP_DELAY": "-1s"}, "environment variable CHEESESHOP_SWEEP_DELAY must be positive"},
		{[]string{"serve", "--sweep-delay", "0s"}, nil, "--sweep-delay must be positive"},
		{[]string{"serve"}, map[string]string{"CHEESESHOP_ROOT_REFRESH": "soon"}, "CHEESESHOP_ROOT_REFRESH"},
		{[]string{"serve"}, map[string]string{"CHEESESHOP_MIRROR_ATTEMPTS": "ten"}, "CHEESESHOP_MIRROR_ATTEMPTS"},
		{[]string{"serve"}, map[string]string{"CHEESESHOP_MIRROR": "ftp://cdn.example/x"}, "--mirror"},
		{[]string{"serve"}, map[string]string{"CHEESESHOP_LOG_LEVEL": "loud"}, "environment variable CHEESESHOP_LOG_LEVEL must be debug, info, warn or error"},
		{[]string{"migrate"}, map[string]string{"CHEESESHOP_LOG_FORMAT": "xml"}, "environment variable CHEESESHOP_LOG_FORMAT must be json, text or plain"},
		{[]string{"migrate", "--log-format", "xml"}, nil, "--log-format must be json, text or plain"},
		{[]string{"token", "list", "alice"}, map[string]string{"CHEESESHOP_DATABASE_URL": "postgres://%zz"}, "environment variable CHEESESHOP_DATABASE_URL"},
		{[]string{"user", "add", "alice", "--password-stdin"}, map[string]string{"CHEESESHOP_LOG_LEVEL": "verbose"}, "CHEESESHOP_LOG_LEVEL"},
		{[]string{"mirror", "status"}, map[string]string{"CHEESESHOP_MIRROR_BACKOFF": "fast"}, "CHEESESHOP_MIRROR_BACKOFF"},
		{[]string{"mirror", "status"}, map[string]string{"CHEESESHOP_MIRROR_ATTEMPTS": "0"}, "environment variable CHEESESHOP_MIRROR_ATTEMPTS must be at least 1"},
		{[]string{"mirror", "run", "--mirror", "file:///tmp/x"}, map[string]string{"CHEESESHOP_MIRROR_BACKOFF_MAX": "1x"}, "CHEESESHOP_MIRROR_BACKOFF_MAX"},
		{[]string{"mirror", "run", "--mirror", "gopher://x"}, nil, "--mirror"},
		{[]string{"mirror", "retry", "--all-failed"}, map[string]string{"CHEESESHOP_MIRROR_PUBLIC_URL": "https://cdn.example"}, "environment variable CHEESESHOP_MIRROR_PUBLIC_URL needs --mirror"},
		{[]string{"regenerate", "--all", "--workers", "0"}, nil, "--workers must be positive"},
		{[]string{"regenerate", "--all"}, map[string]string{"CHEESESHOP_LOG_FORMAT": "yaml"}, "CHEESESHOP_LOG_FORMAT"},
		{[]string{"check"}, map[string]string{"CHEESESHOP_LOG_LEVEL": "everything"}, "CHEESESHOP_LOG_LEVEL"},
		{[]string{"yank", "demo", "1.0"}, map[string]string{"CHEESESHOP_LOG_LEVEL": "x"}, "CHEESESHOP_LOG_LEVEL"},
		{[]string{"dev", "seed", "--projects", "1"}, map[string]string{"CHEESESHOP_LOG_FORMAT": "csv"}, "CHEESESHOP_LOG_FORMAT"},
		{[]string{"deploy", "nginx"}, map[string]string{"CHEESESHOP_MAX_FILE_SIZE": "abc"}, `environment variable CHEESESHOP_MAX_FILE_SIZE="abc": not an integer`},
	} {
		name := strings.Join(tc.args, " ")
		for k, v := range tc.env {
			name += " " + k + "=" + v
		}
		t.Run(name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			env := map[string]string{"CHEESESHOP_DATABASE_URL": tr.url, "CHEESESHOP_DATA_DIR": dataDir, "CHEESESHOP_LOG_FORMAT": "text"}
			for k, v := range tc.env {
				env[k] = v
			}
			before := tr.conns.Load()
			stdout, _, err := runIn(env, "pw\n", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
			if stdout != "" {
				t.Errorf("printed %q on stdout", stdout)
			}
			if n := tr.conns.Load() - before; n != 0 {
				t.Errorf("%d connections to the database", n)
			}
			if _, err := os.Stat(dataDir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the data directory was made: %v", err)
			}
		})
	}
	// The control: with good settings the same command does reach the trap.
	before := tr.conns.Load()
	if _, _, err := runIn(map[string]string{"CHEESESHOP_DATABASE_URL": tr.url}, "", "token", "list", "alice"); err == nil {
		t.Fatal("token list on the trap: no error")
	}
	if tr.conns.Load() == before {
		t.Fatal("token list with good settings did not reach the trap: the test cannot see a connection")
	}
}

// The real binary exits non-zero on a bad environment value, naming it.
func TestBadEnvironmentExitStatus(t *testing.T) {
	t.Parallel()
	tr := newTrap(t)
	cmd := exec.Command("cheeseshop", "token", "list", "alice")
	cmd.Env = append(os.Environ(), "CHEESESHOP_DATABASE_URL="+tr.url, "CHEESESHOP_SWEEP_DELAY=1", "CHEESESHOP_LOG_LEVEL=loud")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "cheeseshop: environment variable CHEESESHOP_LOG_LEVEL must be") {
		t.Errorf("output does not name the variable:\n%s", out)
	}
	if n := tr.conns.Load(); n != 0 {
		t.Errorf("%d connections to the database", n)
	}
}

// emptyDB creates a database with no tables at all and returns its URL.
func emptyDB(t *testing.T) string {
	t.Helper()
	admin := indextest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("cheeseshop_test_empty_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, admin); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck // best effort
			c.Close(ctx)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// schemaVersion reads the database's schema version, 0 without one.
func schemaVersion(t *testing.T, dbURL string) int {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	v, err := index.SchemaVersion(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// allButLast is the embedded migrations without the newest: the schema of
// the release before.
func allButLast(t *testing.T) (fs.FS, int) {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(names) < 2 {
		t.Fatalf("migrations: %v %v", names, err)
	}
	older := fstest.MapFS{}
	for _, n := range names[:len(names)-1] { // Glob sorts; the files are zero-padded
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			t.Fatal(err)
		}
		older[n] = &fstest.MapFile{Data: b}
	}
	v, err := index.NeededVersion(older)
	if err != nil {
		t.Fatal(err)
	}
	return older, v
}

// Only serve and migrate change the schema: every other command on a
// database that is not migrated, or migrated by an older release, refuses
// with one sentence and leaves the schema alone; after `migrate` it works.
func TestCommandsRefuseAnotherSchema(t *testing.T) {
	t.Parallel()
	need, err := index.NeededVersion(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	older, olderVersion := allButLast(t)
	for _, tc := range []struct {
		name string
		have int
		prep func(t *testing.T, dbURL string)
	}{
		{"not migrated", 0, func(*testing.T, string) {}},
		{"older schema", olderVersion, func(t *testing.T, dbURL string) {
			pool, err := pgxpool.New(context.Background(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			if _, err := index.Migrate(context.Background(), pool, older); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dbURL := emptyDB(t)
			tc.prep(t, dbURL)
			c := cli{t: t, dbURL: dbURL, dataDir: filepath.Join(t.TempDir(), "data")}
			want := fmt.Sprintf("the database schema is at %d, this binary needs %d: run `cheeseshop migrate`", tc.have, need)
			for _, args := range [][]string{
				{"token", "list", "alice"},
				{"token", "create", "alice"},
				{"token", "revoke", "1"},
				{"user", "add", "alice", "--password-stdin"},
				{"role", "add", "demo", "alice", "owner"},
				{"yank", "demo", "1.0"},
				{"delete", "demo", "1.0"},
				{"check"},
				{"regenerate", "--all"},
				{"mirror", "status"},
				{"mirror", "retry", "--all-failed"},
				{"mirror", "run", "--mirror", "file://" + filepath.ToSlash(t.TempDir())},
				{"dev", "seed", "--projects", "1"},
			} {
				out, err := c.run("pw\n", args...)
				if err == nil || err.Error() != want {
					t.Errorf("%s: err = %v, want %q", strings.Join(args, " "), err, want)
				}
				if out != "" {
					t.Errorf("%s: printed %q", strings.Join(args, " "), out)
				}
			}
			if got := schemaVersion(t, dbURL); got != tc.have {
				t.Fatalf("after the refusals the schema is at %d, want %d untouched", got, tc.have)
			}
			if _, err := c.run("", "migrate"); err != nil {
				t.Fatal(err)
			}
			if got := schemaVersion(t, dbURL); got != need {
				t.Fatalf("after migrate the schema is at %d, want %d", got, need)
			}
			if _, err := c.run("pw\n", "user", "add", "alice", "--password-stdin"); err != nil {
				t.Fatal(err)
			}
			out, err := c.run("", "token", "list", "alice")
			if err != nil || !strings.HasPrefix(out, "ID") {
				t.Fatalf("token list after migrate: %v\n%s", err, out)
			}
		})
	}
}

// A database that a newer release migrated is refused too, without the
// advice to migrate.
func TestCommandsRefuseNewerSchema(t *testing.T) {
	t.Parallel()
	dbURL := indextest.NewDBURL(t)
	need, err := index.NeededVersion(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future.sql')`, need+1)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := cli{t: t, dbURL: dbURL, dataDir: t.TempDir()}
	_, err = c.run("", "token", "list", "alice")
	want := fmt.Sprintf("the database schema is at %d, this binary needs %d: a newer cheeseshop migrated it", need+1, need)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// A database that does not exist is named, with the command that makes it.
func TestCommandOnMissingDatabase(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(indextest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/cheeseshop_test_never_created"
	c := cli{t: t, dbURL: u.String(), dataDir: t.TempDir()}
	_, err = c.run("", "mirror", "status")
	want := "database \"cheeseshop_test_never_created\" does not exist: run `cheeseshop migrate --create-database`"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// Help lists the table's commands: all of them, or a group's; every
// command answers --help with its summary and flags.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		want    []string // on stdout
		notWant []string
	}{
		{[]string{"help"}, []string{"serve ", "token list ", "mirror retry ", "deploy apache ", "dev seed "}, nil},
		{[]string{"--help"}, []string{"migrate ", "role remove "}, nil},
		{[]string{"-h"}, []string{"regenerate "}, nil},
		{[]string{"token", "--help"}, []string{"token create ", "token list ", "token revoke "}, []string{"serve ", "mirror "}},
		{[]string{"mirror", "-h"}, []string{"mirror run ", "mirror status ", "mirror retry "}, []string{"token "}},
		{[]string{"help", "deploy"}, []string{"deploy nginx ", "deploy apache "}, []string{"dev seed"}},
		{[]string{"help", "token", "list"}, []string{"Usage: cheeseshop token list USER", "-database-url"}, nil},
	} {
		stdout, stderr, err := runIn(nil, "", tc.args...)
		all := stdout + stderr
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(all, w) {
				t.Errorf("%q: lacks %q:\n%s", tc.args, w, all)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(all, w) {
				t.Errorf("%q: has %q:\n%s", tc.args, w, all)
			}
		}
	}
	for _, args := range [][]string{{}, {"token"}, {"token", "nope"}, {"nope"}, {"help", "nope"}} {
		if _, _, err := runIn(nil, "", args...); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	for _, c := range commands {
		_, stderr, err := runIn(nil, "", append(strings.Fields(c.name), "--help")...)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s --help: %v, want flag.ErrHelp", c.name, err)
		}
		if !strings.Contains(stderr, "Usage: cheeseshop "+c.name) || !strings.Contains(stderr, c.summary) {
			t.Errorf("%s --help:\n%s", c.name, stderr)
		}
	}
}
