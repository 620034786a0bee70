package staticgen

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// TestPeoplePages: a project rewrite writes the project's page for people
// and the pages of its releases, rewrites a release page only when the
// release changed, removes the pages of deleted releases, and removes the
// project's pages with the project.
func TestPeoplePages(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	st := index.ProjectState{
		Project: index.Project{ID: 1, Name: "Demo", Normalized: "demo", LastSerial: 3},
		Releases: []index.Release{
			{ID: 1, Version: "1.0", CreatedAt: t0, Serial: 2, Metadata: index.Metadata{Summary: "first"}},
			{ID: 2, Version: "2.0", CreatedAt: t0, Serial: 3, Metadata: index.Metadata{Summary: "second"}},
		},
		Files: []index.File{{ID: 1, ReleaseID: 1, Filename: "demo-1.0.tar.gz", Size: 3, SHA256: hex64('a'), UploadTime: t0,
			Path: blakePath('a', "demo-1.0.tar.gz")}},
	}
	store := &fakeStore{projects: map[index.Normalized]index.ProjectState{"demo": st}}
	g, data := newTestGenerator(t, store)
	dir := datadir.New(data)
	if err := g.RegenerateProject(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string { return string(readFile(t, p)) }
	proj := read(dir.WebProjectPage("demo"))
	if !strings.Contains(proj, "Demo 2.0") || !strings.Contains(proj, "second") || !strings.HasSuffix(proj, "<!--SERIAL 3-->\n") {
		t.Errorf("project page:\n%s", proj)
	}
	if rel := read(dir.WebReleasePage("demo", "1.0")); !strings.Contains(rel, "demo-1.0.tar.gz") || !strings.HasSuffix(rel, "<!--SERIAL 2-->\n") {
		t.Errorf("release page 1.0:\n%s", rel)
	}
	before, err := os.Stat(dir.WebReleasePage("demo", "1.0"))
	if err != nil {
		t.Fatal(err)
	}

	// Release 2.0 changes (yanked) and 1.0 does not: only 2.0's page is
	// rewritten.
	st.Releases[1].Yanked, st.Releases[1].Serial, st.Project.LastSerial = true, 4, 4
	store.projects["demo"] = st
	if err := g.RegenerateProject(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(dir.WebReleasePage("demo", "1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the page of the unchanged release 1.0 was rewritten")
	}
	if rel := read(dir.WebReleasePage("demo", "2.0")); !strings.Contains(rel, "This release is yanked") {
		t.Errorf("release page 2.0 after the yank:\n%s", rel)
	}
	// The project page now shows 1.0, the newest release not yanked.
	if proj := read(dir.WebProjectPage("demo")); !strings.Contains(proj, "Demo 1.0") {
		t.Errorf("project page after the yank:\n%s", proj)
	}

	// RegenerateReleases rewrites the page of a release that did not
	// change (its README was rendered since), and no other.
	before2, err := os.Stat(dir.WebReleasePage("demo", "2.0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.RegenerateReleases(ctx, "demo", []string{"1.0"}); err != nil {
		t.Fatal(err)
	}
	forced, err := os.Stat(dir.WebReleasePage("demo", "1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(after, forced) {
		t.Error("RegenerateReleases left release 1.0's page")
	}
	if after2, err := os.Stat(dir.WebReleasePage("demo", "2.0")); err != nil || !os.SameFile(before2, after2) {
		t.Errorf("RegenerateReleases rewrote release 2.0's page (%v)", err)
	}
	after = forced

	// Release 2.0 is deleted: its page goes.
	st.Releases, st.Project.LastSerial = st.Releases[:1], 5
	store.projects["demo"] = st
	if err := g.RegenerateProject(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir.WebRelease("demo", "2.0")); !os.IsNotExist(err) {
		t.Errorf("page of deleted release 2.0: %v", err)
	}

	// A regenerate with AllReleasePages rewrites every release page.
	gAll := New(Config{DataDir: data, AllReleasePages: true}, store, nil)
	if err := gAll.RegenerateProject(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	if again, err := os.Stat(dir.WebReleasePage("demo", "1.0")); err != nil || os.SameFile(after, again) {
		t.Errorf("AllReleasePages left release 1.0's page (%v)", err)
	}

	// The project is deleted: its pages for people go with its /simple pages.
	delete(store.projects, "demo")
	if err := g.RegenerateProject(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir.WebProject("demo")); !os.IsNotExist(err) {
		t.Errorf("pages for people of the deleted project: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(data, datadir.WebDir, datadir.WebProjectDir)); len(entries) != 0 {
		t.Errorf("left in DATA/web/project: %v", entries)
	}
}
