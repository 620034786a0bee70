package index_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

var updateSchema = flag.Bool("update-schema", false, "rewrite testdata/schema.sql from the migrated schema")

// schemaFile is the checked-in dump of the schema the migrations build, so a
// review shows what a new migration changes (STYLE.md: SQL has a home).
const schemaFile = "../../testdata/schema.sql"

// TestSchemaDump: the migrations build exactly the schema in
// testdata/schema.sql; after a deliberate change, run
// `go test ./internal/index -run SchemaDump -update-schema`.
func TestSchemaDump(t *testing.T) {
	t.Parallel()
	url := indextest.NewDBURL(t)
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Fatalf("pg_dump is missing (Debian postgresql-client, installed by make test): %v", err)
	}
	out, err := exec.Command(pgDump, "--schema-only", "--no-owner", "--no-privileges", "--exclude-table=schema_migrations", url).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	got := normalizeDump(out)
	if *updateSchema {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("%v (run with -update-schema to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the migrated schema differs from %s; if the change is deliberate run\n  go test ./internal/index -run SchemaDump -update-schema\nand review the diff", schemaFile)
	}
}

// normalizeDump drops what varies between pg_dump runs and versions:
// comments, session settings and runs of blank lines.
func normalizeDump(b []byte) []byte {
	var out []string
	blank := true
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "--"), strings.HasPrefix(line, "SET "),
			strings.HasPrefix(line, "SELECT pg_catalog.set_config"), strings.HasPrefix(line, "\\restrict"),
			strings.HasPrefix(line, "\\unrestrict"):
			continue
		case strings.TrimSpace(line) == "":
			if blank {
				continue
			}
			blank = true
		default:
			blank = false
		}
		out = append(out, line)
	}
	return []byte(strings.TrimSpace(strings.Join(out, "\n")) + "\n")
}
