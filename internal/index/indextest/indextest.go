// Package indextest gives tests a fresh, migrated PostgreSQL database.
//
// NewDB connects to TEST_DATABASE_URL, builds a template database named after
// a hash of the migrations once (under an advisory lock, so parallel test
// binaries cooperate), and clones it per test with CREATE DATABASE … TEMPLATE,
// which takes milliseconds. The clone is dropped when the test passes and
// kept, with its name logged, when it fails.
package indextest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	neturl "net/url"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/migrations"
)

var counter atomic.Int64

// URL returns the admin connection URL for tests. Without TEST_DATABASE_URL
// the test is skipped, or fails when CI=true: CI must never pass by skipping.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CHEESESHOP_REQUIRE") != "" || os.Getenv("CI") == "true" {
			t.Fatal("TEST_DATABASE_URL is not set; run the tests with `make test`")
		}
		t.Skip("TEST_DATABASE_URL is not set; run `make test` to get a database")
	}
	return u
}

// NewDB returns a pool on a fresh migrated database and its URL.
func NewDB(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	url := NewDBURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(pool.Close)
	return pool, url
}

// NewDBURL creates a fresh migrated database and returns its URL, for tests
// that hand the database to a separate process.
func NewDBURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin := URL(t)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	tmpl, err := ensureTemplate(ctx, conn, admin)
	if err != nil {
		t.Fatalf("template database: %v", err)
	}
	name := fmt.Sprintf("cheeseshop_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, counter.Add(1))
	// CREATE DATABASE … TEMPLATE fails while anyone else is connected to the
	// template; other test binaries only connect briefly, so retry.
	for i := 0; ; i++ {
		_, err = conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, tmpl))
		if err == nil || i > 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept test database %s", name)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Logf("drop %s: %v", name, err)
		}
	})
	u, err := withDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// withDatabase returns url with its database replaced by db. It accepts
// URL-style ("postgres://…/name?…") and keyword-style ("host=… dbname=…")
// connection strings, as pgx does.
func withDatabase(connString, db string) (string, error) {
	if strings.Contains(connString, "://") {
		u, err := neturl.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse database URL: %w", err)
		}
		u.Path = "/" + db
		return u.String(), nil
	}
	return connString + " dbname=" + db, nil
}

func migrationsHash() (string, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func ensureTemplate(ctx context.Context, conn *pgx.Conn, admin string) (string, error) {
	hash, err := migrationsHash()
	if err != nil {
		return "", err
	}
	tmpl := "cheeseshop_tmpl_" + hash
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7311001)`); err != nil {
		return "", err
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock(7311001)`) //nolint:errcheck
	var isTemplate bool
	err = conn.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, tmpl).Scan(&isTemplate)
	if err == nil && isTemplate {
		return tmpl, nil
	}
	// A half-built template from a crashed run is not marked: rebuild it.
	if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, tmpl)); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, tmpl)); err != nil {
		return "", err
	}
	tmplURL, err := withDatabase(admin, tmpl)
	if err != nil {
		return "", err
	}
	pool, err := pgxpool.New(ctx, tmplURL)
	if err != nil {
		return "", err
	}
	_, err = index.Migrate(ctx, pool, migrations.FS)
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s WITH is_template true`, tmpl)); err != nil {
		return "", err
	}
	return tmpl, nil
}
