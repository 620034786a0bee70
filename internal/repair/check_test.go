package repair_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/repair"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

func (fx *fixture) check(skipHashes bool) (repair.CheckReport, []string) {
	fx.t.Helper()
	var problems []string
	rep, err := repair.Check(fx.ctx, repair.CheckConfig{
		DataDir:    fx.data,
		SkipHashes: skipHashes,
		Settle:     1, // no server runs: nothing to wait for
	}, fx.store, staticgen.Renderer{}, func(p repair.Problem) { problems = append(problems, p.String()) })
	if err != nil {
		fx.t.Fatal(err)
	}
	slices.Sort(problems)
	return rep, problems
}

func TestCheck(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	a := fx.addFile("alpha", "1.0", "alpha one", true)
	b := fx.addFile("beta", "1.0", "beta one", false)
	fx.addFile("beta", "2.0", "beta two", false)
	if _, err := fx.repairer(repair.Config{}).Startup(fx.ctx); err != nil {
		t.Fatal(err)
	}
	rep, problems := fx.check(false)
	if len(problems) != 0 || rep.Files != 3 || rep.Pages != 2 {
		t.Fatalf("a clean installation: %+v %q", rep, problems)
	}

	// An upload to an existing project leaves the root's per-project
	// serial behind by design; that is not a problem.
	fx.addFile("beta", "3.0", "beta three", false)
	if err := fx.pages.RegenerateProject(fx.ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	if _, problems := fx.check(false); len(problems) != 0 {
		t.Fatalf("after an upload: %q", problems)
	}

	// Break everything once.
	if err := os.WriteFile(fx.packagePath(a.Path), []byte("alpha 0ne"), 0o644); err != nil { // same size
		t.Fatal(err)
	}
	if err := os.Remove(fx.packagePath(a.Path) + ".metadata"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(fx.packagePath(b.Path)); err != nil {
		t.Fatal(err)
	}
	fx.addFile("beta", "4.0", "beta four", false) // committed, page not rewritten
	if err := os.MkdirAll(fx.pageDir("ghost"), 0o755); err != nil {
		t.Fatal(err)
	}
	fx.addFile("gamma", "1.0", "gamma", false) // a new project the root does not list
	if err := fx.pages.RegenerateProject(fx.ctx, "gamma"); err != nil {
		t.Fatal(err)
	}
	rep, problems = fx.check(false)
	want := []string{
		"packages/" + a.Path + ": sha256",
		"packages/" + a.Path + ".metadata: missing",
		"packages/" + b.Path + ": missing",
		"simple/beta: index.html differs from the database's rendering at serial",
		"simple/ghost: page directory of a project the database does not have",
		"simple/index.html: does not list the database's 3 projects",
		"simple/index.v1_json: does not list the database's 3 projects",
	}
	slices.Sort(want)
	if rep.Problems != len(want) || len(problems) != len(want) {
		t.Fatalf("problems %d:\n%s", rep.Problems, strings.Join(problems, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(problems[i], w) {
			t.Errorf("problem %d: %q, want %q…", i, problems[i], w)
		}
	}
	// Sizes only: the same-size corruption goes unseen.
	if _, problems := fx.check(true); slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "sha256") }) {
		t.Errorf("--skip-hashes still hashed: %q", problems)
	}
	if _, err := os.Stat(filepath.Join(fx.data, "simple", "ghost")); err != nil {
		t.Fatal("check changed the data directory")
	}
}

// A file an older server accepted under a name the file server refuses
// (issue 14: "foo_bar-3.0-py3-none-a:b.whl" was listed and 404'd) is a
// problem check reports; its neighbours are not.
func TestCheckUnservableFilename(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.addFile("foo-bar", "1.0", "foo bar one", true)
	bad := fx.addFileNamed("foo-bar", "3.0", "foo_bar-3.0-py3-none-a:b.whl", "foo bar three")
	if err := fx.pages.RegenerateProject(fx.ctx, "foo-bar"); err != nil {
		t.Fatal(err)
	}
	if err := fx.pages.RegenerateRoot(fx.ctx); err != nil {
		t.Fatal(err)
	}
	_, problems := fx.check(false)
	want := "packages/" + bad.Path + ": unservable: file row "
	if len(problems) != 1 || !strings.HasPrefix(problems[0], want) || !strings.Contains(problems[0], "'foo_bar-3.0-py3-none-a:b.whl'") {
		t.Fatalf("problems %q, want one starting %q", problems, want)
	}
}

// addFileNamed is addFile for a wheel with the given filename and no
// metadata sidecar, written and recorded as it is, whatever it says.
func (fx *fixture) addFileNamed(project, version, filename, body string) index.File {
	fx.t.Helper()
	return fx.putFile(project, version, index.File{Filename: filename, Type: index.Wheel, PythonVersion: "py3"}, []byte(body), nil)
}
