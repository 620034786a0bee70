package index

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// migrateLockKey is the advisory lock that serialises migrations across
// processes: two servers starting at once must not both apply one file.
const migrateLockKey = 0x6368656573650001

// Migrate applies, in order, every NNNN_name.sql file of migrations that is
// not yet recorded in schema_migrations, each in its own transaction. It
// returns the versions it applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool, migrations fs.FS) ([]int, error) {
	files, err := migrationFiles(migrations)
	if err != nil {
		return nil, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", translate(err))
	}
	defer conn.Release()
	// A session lock on one connection: held across the per-file transactions.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLockKey)); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", translate(err))
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrateLockKey)) //nolint:errcheck // released with the session anyway
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var applied []int
	for _, f := range files {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return applied, fmt.Errorf("migrate %s: %w", f.name, translate(err))
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, f.version).Scan(&done); err != nil {
			tx.Rollback(ctx) //nolint:errcheck
			return applied, fmt.Errorf("migrate %s: %w", f.name, err)
		}
		if done {
			tx.Rollback(ctx) //nolint:errcheck
			continue
		}
		sql, err := fs.ReadFile(migrations, f.name)
		if err != nil {
			tx.Rollback(ctx) //nolint:errcheck
			return applied, fmt.Errorf("migrate %s: %w", f.name, err)
		}
		if _, err := tx.Exec(ctx, string(sql)); err != nil {
			tx.Rollback(ctx) //nolint:errcheck
			return applied, fmt.Errorf("migrate %s: %w", f.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, f.version, f.name); err != nil {
			tx.Rollback(ctx) //nolint:errcheck
			return applied, fmt.Errorf("migrate %s: record: %w", f.name, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return applied, fmt.Errorf("migrate %s: commit: %w", f.name, err)
		}
		applied = append(applied, f.version)
	}
	return applied, nil
}

type migrationFile struct {
	version int
	name    string
}

func migrationFiles(migrations fs.FS) ([]migrationFile, error) {
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: list: %w", err)
	}
	var files []migrationFile
	seen := map[int]string{}
	for _, n := range names {
		num, _, ok := strings.Cut(n, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migrate: %s: name must start with a number and '_'", n)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrate: %s and %s share version %d", prev, n, v)
		}
		seen[v] = n
		files = append(files, migrationFile{v, n})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].version < files[j].version })
	return files, nil
}

// SchemaVersion returns the highest migration version recorded in the
// database, or 0 when none is (schema_migrations does not exist yet). It
// only reads: commands other than serve and migrate compare it with
// NeededVersion and refuse to run on another schema.
func SchemaVersion(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("schema version: %w", translate(err))
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := pool.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version: %w", translate(err))
	}
	return v, nil
}

// NeededVersion returns the highest version among migrations' files: the
// schema version Migrate brings a database to.
func NeededVersion(migrations fs.FS) (int, error) {
	files, err := migrationFiles(migrations)
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, nil
	}
	return files[len(files)-1].version, nil
}
