package staticgen

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// deferredStore is a fakeStore that also offers what DeferSync needs:
// InspectProject (no recording) and MarkPageSerials, whose calls it keeps.
// While block is non-nil, MarkPageSerials waits for it to be closed.
type deferredStore struct {
	fakeStore
	marksMu sync.Mutex
	marks   map[index.Normalized]int64
	calls   int
	block   chan struct{}
	entered chan struct{} // receives once per MarkPageSerials call, if non-nil
}

func (s *deferredStore) InspectProject(ctx context.Context, name index.Normalized, fn func(index.ProjectState) error) error {
	return s.fakeStore.LockedProject(ctx, name, fn)
}

func (s *deferredStore) LockedProject(ctx context.Context, name index.Normalized, fn func(index.ProjectState) error) error {
	panic("LockedProject called with DeferSync")
}

func (s *deferredStore) MarkPageSerials(ctx context.Context, marks []index.PageMark) error {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.block != nil {
		<-s.block
	}
	s.marksMu.Lock()
	defer s.marksMu.Unlock()
	s.calls++
	for _, m := range marks {
		s.marks[m.Name] = max(s.marks[m.Name], m.Serial)
	}
	return nil
}

func (s *deferredStore) recorded() map[index.Normalized]int64 {
	s.marksMu.Lock()
	defer s.marksMu.Unlock()
	out := make(map[index.Normalized]int64, len(s.marks))
	for k, v := range s.marks {
		out[k] = v
	}
	return out
}

func newDeferredStore(projects ...index.ProjectState) *deferredStore {
	s := &deferredStore{marks: make(map[index.Normalized]int64)}
	s.projects = make(map[index.Normalized]index.ProjectState)
	for _, st := range projects {
		s.projects[st.Project.Normalized] = st
	}
	return s
}

func newDeferredGenerator(t *testing.T, store Store) (*Generator, string) {
	t.Helper()
	dir := t.TempDir()
	g := New(Config{DataDir: dir, DeferSync: true}, store, slog.New(slog.DiscardHandler))
	t.Cleanup(g.Close)
	return g, dir
}

// With DeferSync a rewrite returns with its pages in place before its
// serial is recorded; Flush waits for the recording.
func TestDeferSyncRecordsAfterReturn(t *testing.T) {
	t.Parallel()
	st := fullProject()
	store := newDeferredStore(st)
	store.block = make(chan struct{})
	store.entered = make(chan struct{}, 10)
	g, data := newDeferredGenerator(t, store)
	ctx := t.Context()

	if err := g.RegenerateProject(ctx, "foo-bar"); err != nil {
		t.Fatal(err)
	}
	// The pages are there already, whole, though nothing is recorded yet
	// (MarkPageSerials is held).
	dir := datadir.New(data).ProjectPages("foo-bar")
	for _, name := range []string{datadir.HTMLName, datadir.JSONName} {
		if n, ok := pageSerial(readFile(t, filepath.Join(dir, name))); !ok || n != st.Project.LastSerial {
			t.Errorf("%s serial %d, %v; want %d", name, n, ok, st.Project.LastSerial)
		}
	}
	<-store.entered // the round reached the database only after the return
	if got := store.recorded(); len(got) != 0 {
		t.Fatalf("recorded %v while MarkPageSerials was held", got)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- g.Flush(ctx) }()
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned %v before the serial was recorded", err)
	default:
	}
	close(store.block)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if got := store.recorded(); got["foo-bar"] != st.Project.LastSerial {
		t.Fatalf("recorded %v, want foo-bar at %d", got, st.Project.LastSerial)
	}
}

// Concurrent rewrites of many projects are all recorded at the serial of
// their last rewrite, in fewer database calls than rewrites, and Close
// flushes them.
func TestDeferSyncBatchesAndCloseFlushes(t *testing.T) {
	t.Parallel()
	var states []index.ProjectState
	for i := range 20 {
		st := fullProject()
		st.Project.Normalized = index.Normalized(fmt.Sprintf("p%02d", i))
		st.Project.LastSerial = int64(100 + i)
		states = append(states, st)
	}
	store := newDeferredStore(states...)
	dir := t.TempDir()
	g := New(Config{DataDir: dir, DeferSync: true}, store, slog.New(slog.DiscardHandler))
	ctx := t.Context()

	var wg sync.WaitGroup
	for _, st := range states {
		for range 3 {
			wg.Go(func() {
				if err := g.RegenerateProject(ctx, st.Project.Normalized); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	if err := g.RegenerateRoot(ctx); err != nil {
		t.Fatal(err)
	}
	g.Close() // flushes

	got := store.recorded()
	if len(got) != len(states) {
		t.Errorf("recorded %d projects, want %d: %v", len(got), len(states), got)
	}
	for _, st := range states {
		if got[st.Project.Normalized] != st.Project.LastSerial {
			t.Errorf("%s recorded at %d, want %d", st.Project.Normalized, got[st.Project.Normalized], st.Project.LastSerial)
		}
	}
	// A round serves every rewrite handed over while the previous one ran.
	if store.calls >= 3*len(states) {
		t.Errorf("%d database calls for %d rewrites: not batched", store.calls, 3*len(states))
	}
}

// A page directory removed before its round syncs it (the project was
// deleted) is not recorded: no serial is claimed for pages not on disk.
func TestDeferSyncSkipsRemovedPages(t *testing.T) {
	t.Parallel()
	first := fullProject()
	gone := fullProject()
	gone.Project.Normalized = "gone"
	store := newDeferredStore(first, gone)
	store.block = make(chan struct{})
	store.entered = make(chan struct{}, 10)
	g, data := newDeferredGenerator(t, store)
	ctx := t.Context()

	if err := g.RegenerateProject(ctx, first.Project.Normalized); err != nil {
		t.Fatal(err)
	}
	<-store.entered // round 1 is held in the database call
	if err := g.RegenerateProject(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(datadir.New(data).ProjectPages("gone")); err != nil {
		t.Fatal(err)
	}
	close(store.block)
	if err := g.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := store.recorded()
	if got[first.Project.Normalized] != first.Project.LastSerial {
		t.Errorf("recorded %v, want %s at %d", got, first.Project.Normalized, first.Project.LastSerial)
	}
	if s, ok := got["gone"]; ok {
		t.Errorf("recorded gone at %d although its pages were removed before they were synced", s)
	}
}

// Without a DeferredStore, DeferSync is ignored: rewrites are durable and
// recorded by LockedProject as before.
func TestDeferSyncNeedsDeferredStore(t *testing.T) {
	t.Parallel()
	st := fullProject()
	store := &fakeStore{projects: map[index.Normalized]index.ProjectState{"foo-bar": st}}
	g := New(Config{DataDir: t.TempDir(), DeferSync: true}, store, slog.New(slog.DiscardHandler))
	defer g.Close()
	if g.syncer != nil {
		t.Fatal("syncer set up for a store without InspectProject and MarkPageSerials")
	}
	if err := g.RegenerateProject(t.Context(), "foo-bar"); err != nil {
		t.Fatal(err)
	}
	if n := store.projectCalls.Load(); n != 1 {
		t.Fatalf("LockedProject called %d times, want 1", n)
	}
}
