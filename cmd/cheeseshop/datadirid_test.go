package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// treeFiles lists the files under dir (none when it does not exist). A
// directory removed while it is listed is skipped: a server may be
// removing files under dir at the same time.
func treeFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// packageFiles lists the files under dataDir/packages and dataDir/tmp.
func packageFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"packages", "tmp"} {
		files = append(files, treeFiles(t, filepath.Join(dataDir, dir))...)
	}
	return files
}

// firstVersion reads a project's first version from its JSON page in dataDir.
func firstVersion(t *testing.T, dataDir, project string) (string, string) {
	t.Helper()
	b := readFile(t, filepath.Join(dataDir, "simple", project, "index.v1_json"))
	var page struct {
		Versions []string `json:"versions"`
	}
	if err := json.Unmarshal([]byte(b), &page); err != nil {
		t.Fatal(err)
	}
	return page.Versions[0], b
}

// TestDataDirMarker: the index records its data directory when it is
// created; yank from another directory (or ./data of another working
// directory) writes nothing and names the real one; without --data-dir a
// command uses the recorded one; a moved directory is followed.
func TestDataDirMarker(t *testing.T) {
	t.Parallel()
	url := indextest.NewDBURL(t)
	base := t.TempDir()
	real := filepath.Join(base, "srv", "data")
	env := func(dir string) map[string]string {
		m := map[string]string{"CHEESESHOP_DATABASE_URL": url, "CHEESESHOP_LOG_LEVEL": "warn", "CHEESESHOP_LOG_FORMAT": "text"}
		if dir != "" {
			m["CHEESESHOP_DATA_DIR"] = dir
		}
		return m
	}
	if _, msg := runText(env(real), "", "dev", "seed", "--projects", "1"); msg != "" {
		t.Fatalf("dev seed: %s", msg)
	}
	if _, err := os.Stat(filepath.Join(real, "cheeseshop-index")); err != nil {
		t.Fatalf("no marker after the index was created: %v", err)
	}
	version, _ := firstVersion(t, real, "bench-10")

	// Another directory, existing or not: refused, nothing written.
	other := filepath.Join(base, "elsewhere", "data")
	if err := os.MkdirAll(filepath.Join(base, "existing"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{other, filepath.Join(base, "existing")} {
		_, msg := runText(env(dir), "", "yank", "bench-10", version)
		want := dir + " is not the data directory of this index: the server uses " + real
		if !strings.Contains(msg, want) {
			t.Fatalf("yank in %s: error %q, want %q", dir, msg, want)
		}
		if files := treeFiles(t, dir); len(files) > 0 {
			t.Fatalf("yank in the wrong directory wrote %v", files)
		}
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Fatalf("the wrong directory was created: %v", err)
	}

	// Without --data-dir: the recorded directory, whatever the cwd.
	out, msg := runText(env(""), "", "yank", "bench-10", version, "--reason", "broken")
	if msg != "" {
		t.Fatalf("yank without --data-dir: %s", msg)
	}
	if _, page := firstVersion(t, real, "bench-10"); !strings.Contains(page, `"yanked":"broken"`) {
		t.Fatalf("yank (%s) is not on the real page:\n%s", out, page)
	}

	// Moved with its marker: migrate --data-dir (or serve) records the new
	// path; then commands without --data-dir follow it.
	moved := filepath.Join(base, "moved")
	if err := os.Rename(real, moved); err != nil {
		t.Fatal(err)
	}
	if _, msg := runText(env(moved), "", "migrate"); msg != "" {
		t.Fatalf("migrate --data-dir moved: %s", msg)
	}
	if _, msg := runText(env(""), "", "unyank", "bench-10", version); msg != "" {
		t.Fatalf("unyank after the move: %s", msg)
	}
	if _, page := firstVersion(t, moved, "bench-10"); strings.Contains(page, `"yanked":"broken"`) {
		t.Fatal("unyank did not reach the moved directory")
	}
	// A directory of another index is refused even by migrate; adopting it
	// is explicit.
	url2 := indextest.NewDBURL(t)
	env2 := map[string]string{"CHEESESHOP_DATABASE_URL": url2, "CHEESESHOP_DATA_DIR": moved, "CHEESESHOP_LOG_LEVEL": "warn"}
	if _, msg := runText(env2, "", "migrate"); !strings.Contains(msg, "is the data directory of another index") {
		t.Fatalf("migrate of another index on this directory: %q", msg)
	}
	if out, msg := runText(env2, "", "migrate", "--adopt-data-dir"); msg != "" || !strings.Contains(out, "is now the data directory") {
		t.Fatalf("migrate --adopt-data-dir: %s %s", out, msg)
	}
	if _, msg := runText(env(""), "", "yank", "bench-10", version); !strings.Contains(msg, "is not the data directory of this index") {
		t.Fatalf("the first index still takes the adopted directory: %q", msg)
	}
}
