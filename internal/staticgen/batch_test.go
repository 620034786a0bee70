package staticgen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// batchStore adds the batch capability to fakeStore.
type batchStore struct{ *fakeStore }

func (s batchStore) LockedProjects(ctx context.Context, names []index.Normalized, fn func([]index.ProjectState) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var states []index.ProjectState
	for _, n := range names {
		if st, ok := s.projects[n]; ok {
			states = append(states, st)
		}
	}
	return fn(states)
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestRegenerateProjects(t *testing.T) {
	t.Parallel()
	projects := map[index.Normalized]index.ProjectState{}
	var names []index.Normalized
	for i := range 20 {
		st := fullProject()
		n := index.Normalized(fmt.Sprintf("proj-%02d", i))
		st.Project.Normalized, st.Project.Name = n, string(n)
		projects[n] = st
		names = append(names, n)
	}
	fs := &fakeStore{projects: projects}
	g, data := newTestGenerator(t, batchStore{fs})
	ctx := t.Context()
	if err := os.MkdirAll(datadir.New(data).ProjectPages("gone"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := g.RegenerateProjects(ctx, append(names, "gone"), 3); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		dir := datadir.New(data).ProjectPages(n)
		checkFile(t, filepath.Join(dir, datadir.HTMLName), render(func(b *bytes.Buffer) { RenderProjectHTML(b, projects[n]) }))
		checkFile(t, filepath.Join(dir, datadir.JSONName), render(func(b *bytes.Buffer) { RenderProjectJSON(b, projects[n]) }))
		checkPageDir(t, dir, datadir.HTMLName, datadir.JSONName)
	}
	if _, err := os.Stat(datadir.New(data).ProjectPages("gone")); !os.IsNotExist(err) {
		t.Errorf("the page directory of a project that does not exist stayed: %v", err)
	}

	// Unchanged pages are left alone (same inode); a changed one is
	// replaced; an older state never replaces a newer page.
	unchanged := filepath.Join(datadir.New(data).ProjectPages("proj-00"), datadir.HTMLName)
	before := inode(t, unchanged)
	changed := projects["proj-01"]
	changed.Project.LastSerial++
	changed.Files = changed.Files[:1]
	older := projects["proj-02"]
	older.Project.LastSerial--
	older.Files = older.Files[:1]
	fs.mu.Lock()
	projects["proj-01"], projects["proj-02"] = changed, older
	fs.mu.Unlock()
	if err := g.RegenerateProjects(ctx, names, 2); err != nil {
		t.Fatal(err)
	}
	if after := inode(t, unchanged); after != before {
		t.Errorf("an unchanged page was rewritten (inode %d → %d)", before, after)
	}
	checkFile(t, filepath.Join(datadir.New(data).ProjectPages("proj-01"), datadir.HTMLName), render(func(b *bytes.Buffer) { RenderProjectHTML(b, changed) }))
	if b, _ := os.ReadFile(filepath.Join(datadir.New(data).ProjectPages("proj-02"), datadir.HTMLName)); bytes.Equal(b, render(func(b *bytes.Buffer) { RenderProjectHTML(b, older) })) {
		t.Error("an older state replaced a newer page")
	}
}
