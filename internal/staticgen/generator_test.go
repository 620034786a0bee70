package staticgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// fakeStore is a test double of the two-method Store. Its lock is a plain
// mutex per store, which is all the ordering these tests rely on.
type fakeStore struct {
	mu       sync.Mutex
	projects map[index.Normalized]index.ProjectState
	root     index.RootState
	err      error // returned instead of calling fn, when set

	// rootHook, when set, runs inside LockedRoot before fn.
	rootHook func(ctx context.Context) error

	projectCalls atomic.Int64
	rootCalls    atomic.Int64
}

func (s *fakeStore) LockedProject(ctx context.Context, name index.Normalized, fn func(index.ProjectState) error) error {
	s.projectCalls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	st, ok := s.projects[name]
	if !ok {
		return fmt.Errorf("project %q: %w", name, index.ErrNotFound)
	}
	return fn(st)
}

func (s *fakeStore) LockedRoot(ctx context.Context, fn func(index.RootState) error) error {
	s.rootCalls.Add(1)
	if s.rootHook != nil {
		if err := s.rootHook(ctx); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	return fn(s.root)
}

func newTestGenerator(t testing.TB, store Store) (*Generator, string) {
	t.Helper()
	dir := t.TempDir()
	return New(Config{DataDir: dir}, store, slog.New(slog.DiscardHandler)), dir
}

func render(f func(*bytes.Buffer)) []byte {
	var b bytes.Buffer
	f(&b)
	return b.Bytes()
}

// checkPageDir checks that dir holds exactly the wanted entries (sorted), so
// no temporary or trash file was left behind.
func checkPageDir(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

func checkFile(t *testing.T, file string, want []byte) {
	t.Helper()
	if got := readFile(t, file); !bytes.Equal(got, want) {
		t.Errorf("%s:\n%s\nwant:\n%s", file, got, want)
	}
}

func readFile(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPages checks that dir holds st's two pages, as the renderers render
// them, and nothing else.
func checkPages[S any](t *testing.T, dir string, st S, renderHTML, renderJSON func(*bytes.Buffer, S)) {
	t.Helper()
	checkFile(t, filepath.Join(dir, datadir.HTMLName), render(func(b *bytes.Buffer) { renderHTML(b, st) }))
	checkFile(t, filepath.Join(dir, datadir.JSONName), render(func(b *bytes.Buffer) { renderJSON(b, st) }))
	checkPageDir(t, dir, datadir.HTMLName, datadir.JSONName)
}

// generatedFooBar is a generator whose store holds fullProject as foo-bar,
// after it has written foo-bar's pages once.
func generatedFooBar(t *testing.T) (st index.ProjectState, store *fakeStore, g *Generator, data string) {
	t.Helper()
	st = fullProject()
	store = &fakeStore{projects: map[index.Normalized]index.ProjectState{"foo-bar": st}}
	g, data = newTestGenerator(t, store)
	if err := g.RegenerateProject(t.Context(), "foo-bar"); err != nil {
		t.Fatal(err)
	}
	return st, store, g, data
}

func TestRegenerateProject(t *testing.T) {
	t.Parallel()
	st, store, g, data := generatedFooBar(t)
	ctx := t.Context()
	dir := datadir.New(data).ProjectPages("foo-bar")
	if want := filepath.Join(data, "simple", "foo-bar"); dir != want {
		t.Fatalf("ProjectDir = %q, want %q", dir, want)
	}
	checkPages(t, dir, st, RenderProjectHTML, RenderProjectJSON)
	checkPageDir(t, filepath.Join(data, "simple"), "foo-bar")
	for _, name := range []string{datadir.HTMLName, datadir.JSONName} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o600 != 0o600 || fi.Mode().Perm()&^pagePerm != 0 {
			t.Errorf("%s mode %v, want %v less the umask", name, fi.Mode(), pagePerm)
		}
	}

	// A later state (a yank, say) replaces both pages.
	st.Project.LastSerial = 41
	st.Releases[1].Yanked = true
	store.mu.Lock()
	store.projects["foo-bar"] = st
	store.mu.Unlock()
	if err := g.RegenerateProject(ctx, "foo-bar"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{datadir.HTMLName, datadir.JSONName} {
		if n, ok := pageSerial(readFile(t, filepath.Join(dir, name))); !ok || n != 41 {
			t.Errorf("%s serial %d, %v after rewrite; want 41", name, n, ok)
		}
	}
	checkPageDir(t, dir, datadir.HTMLName, datadir.JSONName)
}

func TestRegenerateProjectConcurrent(t *testing.T) {
	t.Parallel()
	store := &fakeStore{projects: map[index.Normalized]index.ProjectState{}}
	for i := range 8 {
		st := bigProject(20)
		st.Project.Normalized = index.Normalized(fmt.Sprintf("p%d", i))
		store.projects[st.Project.Normalized] = st
	}
	g, data := newTestGenerator(t, store)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			if err := g.RegenerateProject(t.Context(), index.Normalized(fmt.Sprintf("p%d", i%8))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	checkPageDir(t, filepath.Join(data, "simple"), "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7")
	for i := range 8 {
		checkPageDir(t, datadir.New(data).ProjectPages(index.Normalized(fmt.Sprintf("p%d", i))), datadir.HTMLName, datadir.JSONName)
	}
}

func TestRegenerateProjectNotFoundRemovesPages(t *testing.T) {
	t.Parallel()
	_, store, g, data := generatedFooBar(t)
	ctx := t.Context()
	store.mu.Lock()
	delete(store.projects, "foo-bar")
	store.mu.Unlock()

	if err := g.RegenerateProject(ctx, "foo-bar"); err != nil {
		t.Fatalf("RegenerateProject of a deleted project: %v", err)
	}
	checkPageDir(t, filepath.Join(data, "simple")) // no project dir, no trash
	// Already gone, or never written: nothing to do.
	if err := g.RegenerateProject(ctx, "foo-bar"); err != nil {
		t.Fatal(err)
	}
	if err := g.RegenerateProject(ctx, "never-existed"); err != nil {
		t.Fatal(err)
	}
}

func TestRegenerateProjectErrors(t *testing.T) {
	t.Parallel()
	errDB := errors.New("database on fire")
	type errCase struct {
		name    string
		project index.Normalized
		store   *fakeStore
		setup   func(t *testing.T, data string)
		wantIs  error // checked with errors.Is when set
		calls   int64
	}
	tests := []errCase{
		{name: "store error", project: "foo-bar", store: &fakeStore{err: errDB}, wantIs: errDB, calls: 1},
		{name: "unavailable", project: "foo-bar", store: &fakeStore{err: fmt.Errorf("%w: pool closed", index.ErrUnavailable)},
			wantIs: index.ErrUnavailable, calls: 1},
		{name: "store returns another project", project: "foo-bar",
			store: &fakeStore{projects: map[index.Normalized]index.ProjectState{"foo-bar": escapingProject()}}, calls: 1},
		{name: "page dir is a file", project: "foo-bar",
			store: &fakeStore{projects: map[index.Normalized]index.ProjectState{"foo-bar": fullProject()}},
			setup: func(t *testing.T, data string) {
				if err := os.MkdirAll(filepath.Join(data, "simple"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(data, "simple", "foo-bar"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}, calls: 1},
	}
	for _, bad := range []index.Normalized{"", ".", "..", "../etc", "a/b", ".hidden", "-a", "a-", "Foo", "a_b", "a.b", "café", "a\x00b"} {
		tests = append(tests, errCase{name: fmt.Sprintf("invalid name %q", bad), project: bad, store: &fakeStore{}, wantIs: index.ErrInvalid})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, data := newTestGenerator(t, tc.store)
			if tc.setup != nil {
				tc.setup(t, data)
			}
			err := g.RegenerateProject(t.Context(), tc.project)
			if err == nil {
				t.Fatal("RegenerateProject succeeded")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			if errors.Is(err, index.ErrNotFound) {
				t.Errorf("error %v must not read as not found", err)
			}
			if n := tc.store.projectCalls.Load(); n != tc.calls {
				t.Errorf("store called %d times, want %d", n, tc.calls)
			}
			if tc.setup == nil {
				if _, err := os.Stat(datadir.New(data).ProjectPages("foo-bar")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("page dir after failure: %v", err)
				}
			} else {
				checkPageDir(t, filepath.Join(data, "simple"), "foo-bar")
			}
		})
	}
}

func TestRegenerateRoot(t *testing.T) {
	t.Parallel()
	st := rootCases()[0].st
	store := &fakeStore{root: st}
	g, data := newTestGenerator(t, store)
	if err := g.RegenerateRoot(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkPages(t, filepath.Join(data, "simple"), st, RenderRootHTML, RenderRootJSON)
}

// TestRegenerateRootCoalesces starts many callers against a slow store and
// checks that they share rewrites, and that each caller returned only after
// a rewrite that began after its call had finished.
func TestRegenerateRootCoalesces(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64 // orders every event in the test
	type run struct{ start, end int64 }
	var (
		runsMu sync.Mutex
		runs   []run
	)
	store := &fakeStore{root: rootCases()[0].st}
	g, _ := newTestGenerator(t, &recordingStore{Store: store, before: func() int64 {
		start := clock.Add(1)
		time.Sleep(100 * time.Millisecond)
		return start
	}, after: func(start int64) {
		end := clock.Add(1)
		runsMu.Lock()
		runs = append(runs, run{start: start, end: end})
		runsMu.Unlock()
	}})

	const callers = 50
	begin := make(chan struct{})
	type call struct {
		c0, c1 int64
		err    error
	}
	calls := make([]call, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-begin
			if i%2 == 1 {
				time.Sleep(time.Duration(i/2) * time.Millisecond) // some arrive mid-rewrite
			}
			c0 := clock.Add(1)
			err := g.RegenerateRoot(t.Context())
			calls[i] = call{c0: c0, c1: clock.Add(1), err: err}
		})
	}
	close(begin)
	wg.Wait()

	if n := store.rootCalls.Load(); n > 3 || n < 1 {
		t.Errorf("%d callers caused %d root rewrites, want 1 to 3", callers, n)
	}
	for i, c := range calls {
		if c.err != nil {
			t.Errorf("caller %d: %v", i, c.err)
			continue
		}
		served := slices.ContainsFunc(runs, func(r run) bool { return r.start > c.c0 && r.end < c.c1 })
		if !served {
			t.Errorf("caller %d (called at %d, returned at %d) was not served by a rewrite that began after its call: %v",
				i, c.c0, c.c1, runs)
		}
	}
	t.Logf("%d callers, %d rewrites", callers, len(runs))
}

// recordingStore wraps a Store and calls before and after every LockedRoot;
// the rewrite is complete when LockedRoot returns.
type recordingStore struct {
	Store
	before func() int64
	after  func(int64)
}

func (s *recordingStore) LockedRoot(ctx context.Context, fn func(index.RootState) error) error {
	start := s.before()
	err := s.Store.LockedRoot(ctx, fn)
	s.after(start)
	return err
}

// blockedRoot is a root rewrite (the leader) started on a store whose
// LockedRoot waits until release is closed or until its context ends, and
// reports each call's start on started.
type blockedRoot struct {
	store            *fakeStore
	g                *Generator
	data             string
	started, release chan struct{}
	leaderErr        chan error // the leader's result
}

// startBlockedRoot starts the leader with ctx and returns once it waits in
// the store.
func startBlockedRoot(t *testing.T, ctx context.Context) *blockedRoot {
	t.Helper()
	b := &blockedRoot{store: &fakeStore{root: rootCases()[0].st},
		started: make(chan struct{}, 10), release: make(chan struct{}), leaderErr: make(chan error)}
	b.store.rootHook = func(ctx context.Context) error {
		b.started <- struct{}{}
		select {
		case <-b.release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.g, b.data = newTestGenerator(t, b.store)
	go func() { b.leaderErr <- b.g.RegenerateRoot(ctx) }()
	<-b.started
	return b
}

// waitWaiters waits until n callers wait for the pending root rewrite.
func waitWaiters(t *testing.T, g *Generator, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.rootMu.Lock()
		w := 0
		if g.rootPending != nil {
			w = g.rootPending.waiters
		}
		g.rootMu.Unlock()
		if w == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want %d", w, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRegenerateRootLeaderCancelled(t *testing.T) {
	t.Parallel()
	leaderCtx, cancel := context.WithCancel(t.Context())
	b := startBlockedRoot(t, leaderCtx)
	waiterErr := make(chan error)
	go func() { waiterErr <- b.g.RegenerateRoot(t.Context()) }()
	waitWaiters(t, b.g, 1)

	cancel()
	if err := <-b.leaderErr; !errors.Is(err, context.Canceled) {
		t.Errorf("leader: %v, want context.Canceled", err)
	}
	<-b.started // the waiter runs the next rewrite itself
	close(b.release)
	if err := <-waiterErr; err != nil {
		t.Errorf("waiter inherited the leader's failure: %v", err)
	}
	if n := b.store.rootCalls.Load(); n != 2 {
		t.Errorf("%d rewrites, want 2", n)
	}
	checkPageDir(t, filepath.Join(b.data, "simple"), datadir.HTMLName, datadir.JSONName)
}

func TestRegenerateRootWaiterCancelled(t *testing.T) {
	t.Parallel()
	b := startBlockedRoot(t, t.Context())
	ctx, cancel := context.WithCancel(t.Context())
	waiterErr := make(chan error)
	go func() { waiterErr <- b.g.RegenerateRoot(ctx) }()
	waitWaiters(t, b.g, 1)
	cancel()
	if err := <-waiterErr; !errors.Is(err, context.Canceled) {
		t.Errorf("waiter: %v, want context.Canceled", err)
	}
	close(b.release)
	if err := <-b.leaderErr; err != nil {
		t.Fatal(err)
	}
	// Nobody wanted the abandoned pending rewrite; the next caller gets a
	// fresh one.
	if err := b.g.RegenerateRoot(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := b.store.rootCalls.Load(); n != 2 {
		t.Errorf("%d rewrites, want 2", n)
	}
	if err := b.g.RegenerateRoot(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("RegenerateRoot with a cancelled context: %v", err)
	}
}

func TestRegenerateRootErrorReachesWaiters(t *testing.T) {
	t.Parallel()
	errDB := errors.New("database on fire")
	b := startBlockedRoot(t, t.Context())
	const waiters = 5
	errs := make(chan error, waiters)
	for range waiters {
		go func() { errs <- b.g.RegenerateRoot(t.Context()) }()
	}
	waitWaiters(t, b.g, waiters)
	b.store.mu.Lock()
	b.store.err = errDB
	b.store.mu.Unlock()
	close(b.release)
	if err := <-b.leaderErr; !errors.Is(err, errDB) {
		t.Errorf("first caller: %v", err)
	}
	for range waiters {
		if err := <-errs; !errors.Is(err, errDB) || !strings.Contains(err.Error(), "root") {
			t.Errorf("waiter: %v, want the wrapped store error", err)
		}
	}
	if n := b.store.rootCalls.Load(); n != 2 {
		t.Errorf("%d rewrites, want 2", n)
	}
	if _, err := os.Stat(filepath.Join(b.data, "simple", datadir.HTMLName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("root page written despite the error: %v", err)
	}
}

// TestRegenerateProjectNeverGoesBackwards: a rewrite from an older state (a
// process that lost its lock with its database session) leaves a newer page
// alone, and a newer state still replaces it.
func TestRegenerateProjectNeverGoesBackwards(t *testing.T) {
	t.Parallel()
	newer := fullProject()
	newer.Project.LastSerial = 90
	older := fullProject()
	older.Project.LastSerial = 80
	older.Files = older.Files[:1]
	store := &fakeStore{projects: map[index.Normalized]index.ProjectState{"foo-bar": newer}}
	g, data := newTestGenerator(t, store)
	ctx := t.Context()
	if err := g.RegenerateProject(ctx, "foo-bar"); err != nil {
		t.Fatal(err)
	}
	dir := datadir.New(data).ProjectPages("foo-bar")

	store.projects["foo-bar"] = older
	if err := g.RegenerateProject(ctx, "foo-bar"); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(dir, datadir.HTMLName), render(func(b *bytes.Buffer) { RenderProjectHTML(b, newer) }))
	checkFile(t, filepath.Join(dir, datadir.JSONName), render(func(b *bytes.Buffer) { RenderProjectJSON(b, newer) }))

	newest := older
	newest.Project.LastSerial = 91
	store.projects["foo-bar"] = newest
	if err := g.RegenerateProject(ctx, "foo-bar"); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(dir, datadir.HTMLName), render(func(b *bytes.Buffer) { RenderProjectHTML(b, newest) }))
	checkPageDir(t, dir, datadir.HTMLName, datadir.JSONName)
}

// With RootRefresh, project rewrites schedule one background root rewrite
// per interval (coalesced); without it, or after Close, none happens.
func TestRootRefresh(t *testing.T) {
	t.Parallel()
	const refresh = 200 * time.Millisecond
	for _, tt := range []struct {
		name    string
		refresh time.Duration
		close   bool
		want    int64
	}{
		{"coalesced", refresh, false, 1},
		{"off", 0, false, 0},
		{"closed", refresh, true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &fakeStore{projects: map[index.Normalized]index.ProjectState{"foo-bar": fullProject()}}
			g := New(Config{DataDir: t.TempDir(), RootRefresh: tt.refresh}, store, slog.New(slog.DiscardHandler))
			defer g.Close()
			start := time.Now()
			for range 5 {
				if err := g.RegenerateProject(t.Context(), "foo-bar"); err != nil {
					t.Fatal(err)
				}
			}
			// A loaded machine may spread the rewrites over more than one
			// interval; each interval may then hold one root rewrite.
			maxWant := tt.want
			if tt.refresh > 0 {
				maxWant += int64(time.Since(start) / tt.refresh)
			}
			atClose := int64(-1)
			if tt.close {
				g.Close()
				atClose = store.rootCalls.Load()
			}
			deadline := time.Now().Add(5 * time.Second)
			for tt.want > 0 && store.rootCalls.Load() < tt.want && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			// Long enough for a wrongly scheduled extra rewrite to show.
			time.Sleep(2 * refresh)
			got := store.rootCalls.Load()
			if got < tt.want || got > maxWant {
				t.Errorf("%d root rewrites, want %d (at most %d)", got, tt.want, maxWant)
			}
			if atClose >= 0 && got != atClose {
				t.Errorf("%d root rewrites after Close (%d before it)", got-atClose, atClose)
			}
		})
	}
}
