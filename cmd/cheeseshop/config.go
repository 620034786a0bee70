package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/migrations"
)

// defaultDatabaseURL is a local PostgreSQL database named cheeseshop, reached
// the way libpq would (Unix socket, the current user).
const defaultDatabaseURL = "postgres:///cheeseshop"

// common holds the flags every command that touches the database or the data
// directory shares with serve, and what parsing them made.
type common struct {
	databaseURL string
	dataDir     string
	logFormat   string
	logLevel    string

	log      *slog.Logger    // from logFormat and logLevel
	dbConfig *pgxpool.Config // from databaseURL
}

// flagSet is a command's flags, each defaulting to its environment
// variable. Its parse methods parse the arguments and then report every bad
// environment value and every failed check at once: all of that happens
// before a command touches the database.
type flagSet struct {
	*flag.FlagSet
	e      env
	errs   []error        // bad environment values, found as the flags are defined
	checks []func() error // run after parsing, in order

	configPath string            // --config (configfile.go)
	fromFile   map[string]string // flags set from the configuration file: name → file
}

// newFlags returns a flag set for a command with the shared flags, each
// defaulting to its environment variable.
func newFlags(e env, name, synopsis string, c *common) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), e: e}
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: cheeseshop %s\n\n%s\n\nFlags:\n", synopsis, e.cmd.summary)
		fs.PrintDefaults()
	}
	fs.StringVar(&fs.configPath, "config", fs.envString("CHEESESHOP_CONFIG", ""),
		"TOML configuration file whose keys are flag names (env CHEESESHOP_CONFIG); default "+defaultConfigPath+" when it exists")
	if c != nil {
		fs.StringVar(&c.databaseURL, "database-url", fs.envString("CHEESESHOP_DATABASE_URL", defaultDatabaseURL),
			"PostgreSQL connection URL (env CHEESESHOP_DATABASE_URL)")
		fs.StringVar(&c.dataDir, "data-dir", fs.envString("CHEESESHOP_DATA_DIR", ""),
			"data directory: packages/, simple/ and tmp/ live here (env CHEESESHOP_DATA_DIR); default: the one the database records, or ./data when serve starts a new index")
		defFormat := "plain" // sentences for a person at a terminal
		if daemon(e.cmd.name) {
			defFormat = "json"
		}
		fs.StringVar(&c.logFormat, "log-format", fs.envString("CHEESESHOP_LOG_FORMAT", defFormat), "log format: json, text (key=value) or plain (sentences) (env CHEESESHOP_LOG_FORMAT)")
		fs.StringVar(&c.logLevel, "log-level", fs.envString("CHEESESHOP_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env CHEESESHOP_LOG_LEVEL)")
		fs.check(func() error { return c.setUp(fs) })
	}
	return fs
}

// daemon reports whether a command runs until stopped, logging for
// machines (JSON by default) rather than printing for a person.
func daemon(name string) bool { return name == "serve" || name == "mirror run" }

// setUp makes the logger and the database configuration from the parsed
// flags.
func (c *common) setUp(fs *flagSet) error {
	var errs []error
	var err error
	var level slog.Level
	if level.UnmarshalText([]byte(c.logLevel)) != nil {
		errs = append(errs, fmt.Errorf("%s must be debug, info, warn or error, not %q", fs.origin("log-level", "CHEESESHOP_LOG_LEVEL"), c.logLevel))
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: msAttr}
	switch c.logFormat {
	case "json":
		c.log = slog.New(slog.NewJSONHandler(fs.e.stderr, opts))
	case "text":
		c.log = slog.New(slog.NewTextHandler(fs.e.stderr, opts))
	case "plain":
		c.log = slog.New(newPlainHandler(fs.e.stderr, level))
	default:
		errs = append(errs, fmt.Errorf("%s must be json, text or plain, not %q", fs.origin("log-format", "CHEESESHOP_LOG_FORMAT"), c.logFormat))
	}
	if c.dbConfig, err = pgxpool.ParseConfig(c.databaseURL); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", fs.origin("database-url", "CHEESESHOP_DATABASE_URL"), err))
	}
	return errors.Join(errs...)
}

// envString returns the environment variable key, or def when it is unset
// or empty.
func (fs *flagSet) envString(key, def string) string {
	if v := fs.e.getenv(key); v != "" {
		return v
	}
	return def
}

// envInt returns the environment variable key as an integer, or def when
// it is unset or empty. A value that is not an integer is an error parse
// reports, naming the variable.
func (fs *flagSet) envInt(key string, def int64) int64 {
	return envValue(fs, key, def, func(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) },
		"not an integer")
}

// envBool is envInt for booleans, read as the flag package reads a
// boolean flag ("1", "true", "0", "false", …).
func (fs *flagSet) envBool(key string, def bool) bool {
	return envValue(fs, key, def, strconv.ParseBool, "not a boolean (true or false)")
}

// envDuration is envInt for durations ("30s", "1h30m").
func (fs *flagSet) envDuration(key string, def time.Duration) time.Duration {
	return envValue(fs, key, def, time.ParseDuration, "not a duration such as 30s, 10m or 1h")
}

// envValue returns the environment variable key read by parse (after
// trimming spaces), or def when it is unset or empty. A value parse refuses
// is recorded as an error that parse reports, naming the variable and what
// the value should have been (expected), and def is returned.
func envValue[T any](fs *flagSet, key string, def T, parse func(string) (T, error), expected string) T {
	v := fs.e.getenv(key)
	if v == "" {
		return def
	}
	x, err := parse(strings.TrimSpace(v))
	if err != nil {
		fs.errs = append(fs.errs, fmt.Errorf("environment variable %s=%q: %s", key, v, expected))
		return def
	}
	return x
}

// origin names where a flag's value came from, for errors: "--name", or
// "environment variable KEY" when the flag was not given and KEY is set.
func (fs *flagSet) origin(name, key string) string {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	if !given && fs.e.getenv(key) != "" {
		return "environment variable " + key
	}
	if file, ok := fs.fromFile[name]; !given && ok {
		return fmt.Sprintf("%s in %s", name, file)
	}
	return "--" + name
}

// check adds a check of the parsed flags, run by parse.
func (fs *flagSet) check(f func() error) { fs.checks = append(fs.checks, f) }

// parse parses args and validates the result.
func (fs *flagSet) parse(args []string) error {
	if fs.e.collect != nil {
		fs.e.collect(fs)
		return errCollected
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	return fs.validate()
}

// parseInterspersed parses flags that may come before, between or after the
// positional arguments ("yank demo 1.0 --reason x" and "yank --reason x demo
// 1.0" alike), validates them and returns the positional arguments. The
// flag package stops at the first positional argument, so it is called
// again after each.
func (fs *flagSet) parseInterspersed(args []string) ([]string, error) {
	if fs.e.collect != nil {
		fs.e.collect(fs)
		return nil, errCollected
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, fs.validate()
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// validate reports the bad environment values and the failed checks.
func (fs *flagSet) validate() error {
	if err := fs.applyConfig(); err != nil {
		return err
	}
	errs := fs.errs
	for _, check := range fs.checks {
		if err := check(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// openDB connects to the database; with create it first creates the database
// when it does not exist. The pool gives up on a connection attempt after a
// few seconds so that an unreachable database becomes a quick 503, not a hang.
// Only serve and migrate call it, and migrate next; every other command
// opens the database with openCurrent.
func (c *common) openDB(ctx context.Context, create bool) (*pgxpool.Pool, error) {
	cfg := c.dbConfig.Copy()
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 5*time.Second {
		cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	}
	if create {
		if err := createDatabase(ctx, cfg.ConnConfig); err != nil {
			return nil, err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

// openCurrent connects to the database and refuses unless its schema is
// the one this binary's migrations build: only serve and migrate change
// the schema.
func (c *common) openCurrent(ctx context.Context) (*pgxpool.Pool, error) {
	pool, err := c.openDB(ctx, false)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(ctx, pool, c.dbConfig.ConnConfig.Database); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// checkSchema compares the database's schema version with the one the
// embedded migrations build.
func checkSchema(ctx context.Context, pool *pgxpool.Pool, database string) error {
	need, err := index.NeededVersion(migrations.FS)
	if err != nil {
		return err
	}
	have, err := index.SchemaVersion(ctx, pool)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
		return fmt.Errorf("database %q does not exist: run `cheeseshop migrate --create-database`", database)
	}
	if err != nil {
		return err
	}
	switch {
	case have < need:
		return fmt.Errorf("the database schema is at %d, this binary needs %d: run `cheeseshop migrate`", have, need)
	case have > need:
		return fmt.Errorf("the database schema is at %d, this binary needs %d: a newer cheeseshop migrated it; use that one", have, need)
	}
	return nil
}

// createDatabase creates cfg's database when it is missing, connecting to the
// server's "postgres" maintenance database to do so.
func createDatabase(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		conn.Close(ctx)
		return nil
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("connect to database %q: %w", cfg.Database, err)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to create database %q: %w", cfg.Database, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") { // duplicate_database: created meanwhile
		return fmt.Errorf("create database %q: %w", cfg.Database, err)
	}
	return nil
}

// migrate applies pending migrations.
func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	applied, err := index.Migrate(ctx, pool, migrations.FS)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "versions", applied)
	}
	return nil
}

// redactURL hides a password in a database URL for logging.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.Index(s, "password="); i >= 0 {
			return s[:i] + "password=xxxxx"
		}
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// openStore opens the database (openCurrent) for the administrative
// commands.
func openStore(ctx context.Context, e env, c *common) (*index.Store, *slog.Logger, func(), error) {
	pool, err := c.openCurrent(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return index.NewStore(pool), c.log, pool.Close, nil
}

// openDataStore is openStore for the commands that read or write the data
// directory too: it also checks the data directory against the database's
// record (resolveDataDir, for writing) and closes the database if that fails.
func openDataStore(ctx context.Context, e env, c *common) (*index.Store, *slog.Logger, func(), error) {
	store, log, done, err := openStore(ctx, e, c)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := c.resolveDataDir(ctx, store, dirWrite); err != nil {
		done()
		return nil, nil, nil, err
	}
	return store, log, done, nil
}
