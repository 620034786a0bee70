package repair_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/repair"
)

// A crash after the commit and before the page rewrite leaves the page
// behind the database; start-up repair rewrites exactly those pages, and
// the recorded page serials make the next start-up a no-op.
func TestStartupRewritesStalePages(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	if err := fx.pages.RegenerateRoot(fx.ctx); err != nil {
		t.Fatal(err)
	}
	fx.addFile("alpha", "1.0", "a1", false)
	fx.addFile("beta", "1.0", "b1", true)
	if err := fx.pages.RegenerateProject(fx.ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	fx.addFile("beta", "2.0", "b2", false) // committed, page not rewritten: "crash"
	if got := fx.stale(); len(got) != 2 || got[0].Name != "alpha" || got[0].PageSerial != -1 || got[1].Name != "beta" {
		t.Fatalf("stale before repair: %+v", got)
	}

	r := fx.repairer(repair.Config{})
	rep, err := r.Startup(fx.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.All || rep.Stale != 2 || rep.Rewritten != 2 || rep.Failed != 0 {
		t.Errorf("report %+v", rep)
	}
	fx.wantPages("alpha")
	fx.wantPages("beta")
	if got := fx.stale(); len(got) != 0 {
		t.Errorf("stale after repair: %+v", got)
	}
	if !exists(filepath.Join(fx.data, "simple", datadir.HTMLName)) {
		t.Error("no root page")
	}
	rep, err = r.Startup(fx.ctx)
	if err != nil || rep.Stale != 0 || rep.Rewritten != 0 {
		t.Errorf("second start-up: %+v, %v", rep, err)
	}
}

// Pages written before page_serial existed (or whose record was lost) are
// read back, not rewritten.
func TestStartupMarksCurrentPages(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.addFile("alpha", "1.0", "a1", false)
	fx.addFile("beta", "1.0", "b1", false)
	for _, n := range []index.Normalized{"alpha", "beta"} {
		if err := fx.pages.RegenerateProject(fx.ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := fx.pages.RegenerateRoot(fx.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.Pool().Exec(fx.ctx, `UPDATE projects SET page_serial = NULL`); err != nil {
		t.Fatal(err)
	}
	// beta's page is then made stale for real.
	fx.addFile("beta", "2.0", "b2", false)
	before, err := os.ReadFile(filepath.Join(fx.pageDir("alpha"), datadir.HTMLName))
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(fx.pageDir("alpha"), datadir.HTMLName))

	rep, err := fx.repairer(repair.Config{}).Startup(fx.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stale != 2 || rep.Marked != 1 || rep.Rewritten != 1 {
		t.Errorf("report %+v, want alpha marked and beta rewritten", rep)
	}
	after, _ := os.ReadFile(filepath.Join(fx.pageDir("alpha"), datadir.HTMLName))
	fi2, _ := os.Stat(filepath.Join(fx.pageDir("alpha"), datadir.HTMLName))
	if !bytes.Equal(before, after) || !os.SameFile(fi, fi2) {
		t.Error("alpha's current page was rewritten")
	}
	fx.wantPages("beta")
	if got := fx.stale(); len(got) != 0 {
		t.Errorf("stale after repair: %+v", got)
	}
}

// A page found current is made durable before its serial is recorded (a
// server with deferred page syncs may not have synced it yet); one that
// cannot be synced is rewritten instead.
func TestStartupSyncsPagesBeforeMarking(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	for _, n := range []string{"alpha", "beta"} {
		fx.addFile(n, "1.0", n, false)
		if err := fx.pages.RegenerateProject(fx.ctx, index.Normalized(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := fx.pages.RegenerateRoot(fx.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.Pool().Exec(fx.ctx, `UPDATE projects SET page_serial = NULL`); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var synced []string
	r := fx.repairer(repair.Config{})
	repair.SetSyncPages(r, func(dir string) error {
		mu.Lock()
		synced = append(synced, filepath.Base(dir))
		mu.Unlock()
		if filepath.Base(dir) == "beta" {
			return errors.New("injected: sync failed")
		}
		return datadir.SyncPages(dir)
	})
	rep, err := r.Startup(fx.ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(synced)
	if !slices.Equal(synced, []string{"alpha", "beta"}) {
		t.Errorf("synced %v, want alpha and beta", synced)
	}
	if rep.Stale != 2 || rep.Marked != 1 || rep.Rewritten != 1 {
		t.Errorf("report %+v, want alpha marked and beta rewritten", rep)
	}
	if got := fx.stale(); len(got) != 0 {
		t.Errorf("stale after repair: %+v", got)
	}
}

// A lost or wiped simple/ tree: the root page is missing, so every page is
// rebuilt, whatever page_serial says.
func TestStartupRebuildsWipedTree(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	for _, n := range []string{"alpha", "beta", "gamma"} {
		fx.addFile(n, "1.0", n, false)
		if err := fx.pages.RegenerateProject(fx.ctx, index.Normalized(n)); err != nil {
			t.Fatal(err)
		}
	}
	if len(fx.stale()) != 0 {
		t.Fatal("pages recorded as stale")
	}
	if err := os.RemoveAll(filepath.Join(fx.data, "simple")); err != nil {
		t.Fatal(err)
	}
	rep, err := fx.repairer(repair.Config{}).Startup(fx.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.All || rep.Rewritten != 3 {
		t.Errorf("report %+v", rep)
	}
	for _, n := range []string{"alpha", "beta", "gamma"} {
		fx.wantPages(n)
	}
	if !exists(filepath.Join(fx.data, "simple", datadir.JSONName)) {
		t.Error("no root page")
	}
}

// The background pass leaves alone a project that is stale for the first
// time (an upload between its commit and its rewrite) and rewrites it when
// it is still stale at the same serial one interval later.
func TestRunRewritesPersistentlyStalePages(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	r := fx.repairer(repair.Config{Interval: 50 * time.Millisecond})
	if _, err := r.Startup(fx.ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(fx.ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	fx.addFile("late", "1.0", "l1", false) // another process died before its rewrite
	deadline := time.Now().Add(10 * time.Second)
	for len(fx.stale()) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the background pass did not rewrite the stale page")
		}
		time.Sleep(20 * time.Millisecond)
	}
	fx.wantPages("late")
}

func TestSweep(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	kept := fx.addFile("kept", "1.0", "k", true)
	if err := fx.pages.RegenerateProject(fx.ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	write := func(rel, body string) string {
		p := filepath.Join(fx.data, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	orphanRel := "ab/cd/" + strings.Repeat("e", 60) + "/orphan-1.0.tar.gz"
	orphan := write("packages/"+orphanRel, "crashed before its commit")
	sidecar := write("packages/"+kept.Path[:len(kept.Path)-len(".whl")]+"-x.whl.metadata", "stray sidecar")
	tmp := write("tmp/upload-123.part", "half an upload")
	metaTmp := write("packages/"+filepath.Dir(kept.Path)+"/.kept-1.0-py3-none-any.whl.metadata123", "half")
	pageTmp := write("simple/kept/.index.html4567", "half a page")
	stray := write("simple/no-such-project/index.html", "<!--SERIAL 1-->")
	if err := os.Remove(filepath.Join(fx.pageDir("kept"), datadir.JSONName)); err != nil {
		t.Fatal(err)
	}

	// At first everything is young: nothing is touched but the pages.
	r := fx.repairer(repair.Config{})
	rep, young, err := repair.SweepYoung(r, fx.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.TempRemoved != 0 || rep.OrphansMoved != 0 || len(young) != 2 || rep.PagesRebuilt != 2 {
		t.Errorf("young sweep: %+v, %d young", rep, len(young))
	}
	for _, p := range []string{orphan, sidecar, tmp, metaTmp, pageTmp} {
		if !exists(p) {
			t.Errorf("%s removed within the grace period", p)
		}
	}
	fx.wantPages("kept")
	if exists(filepath.Dir(stray)) {
		t.Error("the page directory of a project that does not exist stayed")
	}

	// After the grace period: temp files go, orphans move aside.
	fx.later()
	rep, young, err = repair.SweepYoung(r, fx.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.TempRemoved != 3 || rep.OrphansMoved != 2 || len(young) != 0 {
		t.Errorf("old sweep: %+v, %d young", rep, len(young))
	}
	for _, p := range []string{orphan, sidecar, tmp, metaTmp, pageTmp} {
		if exists(p) {
			t.Errorf("%s is still there", p)
		}
	}
	if b, err := os.ReadFile(filepath.Join(fx.data, "orphans", filepath.FromSlash(orphanRel))); err != nil || string(b) != "crashed before its commit" {
		t.Errorf("orphan not moved aside intact: %q, %v", b, err)
	}
	for _, p := range []string{fx.packagePath(kept.Path), fx.packagePath(kept.Path) + ".metadata"} {
		if !exists(p) {
			t.Errorf("referenced file %s was moved", p)
		}
	}

	// A second orphan of the same name does not overwrite the first.
	write("packages/"+orphanRel, "again")
	if _, err := r.Sweep(fx.ctx); err != nil {
		t.Fatal(err)
	}
	fx.later()
	if _, err := r.Sweep(fx.ctx); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(fx.data, "orphans", filepath.FromSlash(orphanRel)+".1")); err != nil || string(b) != "again" {
		t.Errorf("second orphan: %q, %v", b, err)
	}
}

// The sweep merges the directories in DATA/simple with the projects the
// database lists, both in byte order: a project without a directory gets its
// pages, a complete directory of no project is removed wherever it sorts,
// and a project's complete directory is left as it is.
func TestSweepMergesDirectoriesWithProjects(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	for _, p := range []string{"bbb", "ddd", "fff"} {
		fx.addFile(p, "1.0", p, false)
	}
	for _, p := range []string{"bbb", "fff"} {
		if err := fx.pages.RegenerateProject(fx.ctx, index.Normalized(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(fx.pageDir("ddd")); err != nil {
		t.Fatal(err)
	}
	strays := []string{"aaa", "bbb-x", "ccc", "eee", "ggg"} // before, between and after the projects
	for _, p := range strays {
		if err := os.MkdirAll(fx.pageDir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{datadir.HTMLName, datadir.JSONName} {
			if err := os.WriteFile(filepath.Join(fx.pageDir(p), f), []byte("<!--SERIAL 1-->"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	kept := map[string]os.FileInfo{}
	for _, p := range []string{"bbb", "fff"} {
		fi, err := os.Stat(filepath.Join(fx.pageDir(p), datadir.HTMLName))
		if err != nil {
			t.Fatal(err)
		}
		kept[p] = fi
	}

	rep, err := fx.repairer(repair.Config{}).Sweep(fx.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + len(strays); rep.PagesRebuilt != want {
		t.Errorf("sweep rebuilt %d page directories, want %d: %+v", rep.PagesRebuilt, want, rep)
	}
	for _, p := range []string{"bbb", "ddd", "fff"} {
		fx.wantPages(p)
	}
	for p, before := range kept {
		fi, err := os.Stat(filepath.Join(fx.pageDir(p), datadir.HTMLName))
		if err != nil || !os.SameFile(before, fi) {
			t.Errorf("the complete pages of %s were rewritten (%v)", p, err)
		}
	}
	for _, p := range strays {
		if exists(fx.pageDir(p)) {
			t.Errorf("the page directory %s of no project stayed", p)
		}
	}
}

// A file the sweep judged unreferenced but that an upload has since
// replaced (renamed a fresh copy over it) stays: it is not the file judged.
func TestSweepLeavesReplacedFile(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	rel := "ab/cd/" + strings.Repeat("f", 60) + "/racy-1.0.tar.gz"
	p := fx.packagePath(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := fx.repairer(repair.Config{})
	_, young, err := repair.SweepYoung(r, fx.ctx)
	if err != nil || len(young) != 1 {
		t.Fatalf("sweep: %d young, %v", len(young), err)
	}
	// An upload places the same name anew (a new inode), then the grace
	// period of the judged file passes.
	if err := os.WriteFile(p+".tmp", []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
	fx.later()
	var rep repair.SweepReport
	repair.JudgeOrphans(r, fx.ctx, young, &rep)
	if rep.OrphansMoved != 0 || !exists(p) {
		t.Errorf("a replaced file was moved: %+v", rep)
	}
}

// The background sweep rests so that it works only its duty share of the
// time.
func TestSweepPause(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		work time.Duration
		duty float64
		want time.Duration
	}{
		{100 * time.Millisecond, 0.25, 300 * time.Millisecond},
		{100 * time.Millisecond, 0.5, 100 * time.Millisecond},
		{100 * time.Millisecond, 1, 0},
		{0, 0.25, 0},
		{-time.Second, 0.25, 0},
	} {
		if got := repair.Pause(tc.work, tc.duty); got != tc.want {
			t.Errorf("Pause(%v, %v) = %v, want %v", tc.work, tc.duty, got, tc.want)
		}
	}
}

// The background sweep starts SweepDelay after Run, not at once: a server
// that just started has clients to serve first.
func TestRunSweepsAfterDelay(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	p := filepath.Join(fx.data, "tmp", "upload-9.part")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("abandoned"), 0o644); err != nil {
		t.Fatal(err)
	}
	fx.later() // the temp file is old enough to go
	const delay = 2 * time.Second
	r := fx.repairer(repair.Config{SweepDelay: delay, Interval: time.Hour})
	ctx, cancel := context.WithCancel(fx.ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for exists(p) {
		if time.Since(start) > delay+10*time.Second {
			t.Fatal("the delayed sweep did not run")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("the sweep ran %v after Run started, before its %v delay", took, delay)
	}
}
