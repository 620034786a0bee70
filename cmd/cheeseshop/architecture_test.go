package main

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const modulePath = "github.com/cheeseshop/cheeseshop/"

// TestImportRules holds the import table of docs/architecture.md against the
// code: every internal import of a package must be listed in its row.
func TestImportRules(t *testing.T) {
	allowed := importTable(t, "../../docs/architecture.md")
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p.ImportPath, modulePath)
		if strings.HasPrefix(name, "cmd/") || strings.HasSuffix(name, "test") {
			continue // cmd may import anything; test support packages are not rooms
		}
		rule, ok := allowed[strings.TrimPrefix(name, "internal/")]
		if !ok {
			t.Errorf("%s has no row in docs/architecture.md's import table", name)
			continue
		}
		checked++
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, modulePath) {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, modulePath), "internal/")
			if !slices.Contains(rule, dep) {
				t.Errorf("%s imports %s, which docs/architecture.md does not allow", name, dep)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d packages: is the table still there?", checked)
	}
}

// importTable reads the "| package | may import (internal) |" table.
func importTable(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rules := map[string][]string{}
	in := false
	tick := regexp.MustCompile("`([a-z/]+)`")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "| package | may import"):
			in = true
		case in && !strings.HasPrefix(line, "|"):
			in = false
		case in:
			cells := strings.Split(line, "|")
			if len(cells) < 3 {
				continue
			}
			var deps []string
			for _, m := range tick.FindAllStringSubmatch(cells[2], -1) {
				deps = append(deps, m[1])
			}
			for _, m := range tick.FindAllStringSubmatch(cells[1], -1) {
				rules[m[1]] = deps
			}
		}
	}
	return rules
}

// TestLayoutNamesOnlyInDatadir: the names of the data directory's trees and
// page files appear as Go strings only inside internal/datadir (tests and
// test-support packages aside), so the layout has one owner.
func TestLayoutNamesOnlyInDatadir(t *testing.T) {
	names := regexp.MustCompile(`"(packages|simple|tmp|orphans|quarantine)"|index\.html|index\.v1_json`)
	root := "../.."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == filepath.Join("internal", "datadir") || strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if names.MatchString(line) && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s:%d names the data directory's layout outside internal/datadir: %s", rel, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
