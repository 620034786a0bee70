package index_test

import (
	"context"
	"io/fs"
	"strconv"
	"testing"
	"testing/fstest"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
	"github.com/cheeseshop/cheeseshop/migrations"
)

// SchemaVersion reads the version Migrate recorded, without changing it,
// and NeededVersion is the highest file's.
func TestSchemaVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := indextest.NewDB(t) // migrated
	need, err := index.NeededVersion(migrations.FS)
	if err != nil || need < 1 {
		t.Fatalf("NeededVersion = %d, %v; want the highest migration", need, err)
	}
	if got, err := index.SchemaVersion(ctx, pool); err != nil || got != need {
		t.Fatalf("SchemaVersion of a migrated database = %d, %v; want %d", got, err, need)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM schema_migrations WHERE version = $1`, need); err != nil {
		t.Fatal(err)
	}
	// The highest migration before it: numbers may have gaps on a branch
	// whose neighbours' migrations are not merged yet.
	names, _ := fs.Glob(migrations.FS, "*.sql")
	prev := 0
	for _, n := range names {
		if v, err := strconv.Atoi(n[:4]); err == nil && v < need {
			prev = max(prev, v)
		}
	}
	if got, err := index.SchemaVersion(ctx, pool); err != nil || got != prev {
		t.Fatalf("SchemaVersion after forgetting %d = %d, %v; want %d", need, got, err, prev)
	}
	if _, err := pool.Exec(ctx, `DROP TABLE schema_migrations`); err != nil {
		t.Fatal(err)
	}
	if got, err := index.SchemaVersion(ctx, pool); err != nil || got != 0 {
		t.Fatalf("SchemaVersion without schema_migrations = %d, %v; want 0", got, err)
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Fatalf("SchemaVersion created schema_migrations (%v, %v); it must only read", exists, err)
	}
}

func TestNeededVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		files []string
		want  int // -1: an error
	}{
		{nil, 0},
		{[]string{"0001_a.sql"}, 1},
		{[]string{"0002_b.sql", "0010_c.sql", "0001_a.sql"}, 10},
		{[]string{"0001_a.sql", "1_b.sql"}, -1},
		{[]string{"x_a.sql"}, -1},
	} {
		fsys := fstest.MapFS{}
		for _, f := range tc.files {
			fsys[f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
		}
		got, err := index.NeededVersion(fsys)
		if tc.want < 0 {
			if err == nil {
				t.Errorf("NeededVersion(%q) = %d, want an error", tc.files, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NeededVersion(%q) = %d, %v; want %d", tc.files, got, err, tc.want)
		}
	}
}
