package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
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
// directory shares with serve.
type common struct {
	databaseURL string
	dataDir     string
	logFormat   string
	logLevel    string
}

// newFlags returns a flag set for a command with the shared flags, each
// defaulting to its environment variable.
func newFlags(e env, name, synopsis string, c *common) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: cheeseshop %s\n\n%s\n\nFlags:\n", synopsis, commands[name].summary)
		fs.PrintDefaults()
	}
	if c != nil {
		fs.StringVar(&c.databaseURL, "database-url", envOr(e, "CHEESESHOP_DATABASE_URL", defaultDatabaseURL),
			"PostgreSQL connection URL (env CHEESESHOP_DATABASE_URL)")
		fs.StringVar(&c.dataDir, "data-dir", envOr(e, "CHEESESHOP_DATA_DIR", "./data"),
			"data directory: packages/, simple/ and tmp/ live here (env CHEESESHOP_DATA_DIR)")
		fs.StringVar(&c.logFormat, "log-format", envOr(e, "CHEESESHOP_LOG_FORMAT", "json"), "log format: json or text (env CHEESESHOP_LOG_FORMAT)")
		fs.StringVar(&c.logLevel, "log-level", envOr(e, "CHEESESHOP_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env CHEESESHOP_LOG_LEVEL)")
	}
	return fs
}

func envOr(e env, key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be json or text, not %q", c.logFormat)
}

// openDB connects to the database; with create it first creates the database
// when it does not exist. The pool gives up on a connection attempt after a
// few seconds so that an unreachable database becomes a quick 503, not a hang.
func (c *common) openDB(ctx context.Context, create bool) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(c.databaseURL)
	if err != nil {
		return nil, fmt.Errorf("--database-url: %w", err)
	}
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

// openStore connects to the database and applies pending migrations, for
// the administrative commands.
func openStore(ctx context.Context, e env, c *common) (*index.Store, *slog.Logger, func(), error) {
	log, err := c.logger(e.stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	pool, err := c.openDB(ctx, false)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := migrate(ctx, pool, log); err != nil {
		pool.Close()
		return nil, nil, nil, err
	}
	return index.NewStore(pool), log, pool.Close, nil
}
