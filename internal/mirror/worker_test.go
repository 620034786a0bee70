package mirror_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/mirror"
	"github.com/cheeseshop/cheeseshop/internal/mirror/mirrortest"
)

// checkMirrored checks that every file ended mirrored at its public URL,
// that the target holds exactly the local bytes (and sidecar), and that the
// pages linked the CDN URL and never a bad copy.
func checkMirrored(t *testing.T, fx *fixture, target mirror.ObjectStore, files []testFile) {
	t.Helper()
	st := fx.waitAllMirrored()
	for _, f := range files {
		want := target.PublicURL(f.Path)
		if got := st[f.Filename].CDNURL; got != want {
			t.Errorf("%s: cdn_url %q, want %q", f.Filename, got, want)
		}
		if err := fetchMatches(context.Background(), want, f.Size, f.SHA256); err != nil {
			t.Errorf("%s: %v", f.Filename, err)
		}
		if f.MetadataSHA256 != "" {
			if err := fetchMatches(context.Background(), want+".metadata", int64(len(f.metadata)), f.MetadataSHA256); err != nil {
				t.Errorf("%s sidecar: %v", f.Filename, err)
			}
		}
	}
	// The page rebuild follows the record; give it the moment it takes.
	deadline := time.Now().Add(5 * time.Second)
	for _, f := range files {
		for fx.pages.linkedURL(f.Filename) != target.PublicURL(f.Path) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := fx.pages.linkedURL(f.Filename); got != target.PublicURL(f.Path) {
			t.Errorf("%s: the rebuilt page links %q, want the CDN URL", f.Filename, got)
		}
	}
	fx.pages.check(t)
}

func addDemo(fx *fixture) []testFile {
	return []testFile{
		fx.add("Demo_Pkg", "1.0", "demo_pkg-1.0-py3-none-any.whl"),
		fx.add("Demo_Pkg", "1.0", "demo_pkg-1.0.tar.gz"),
	}
}

// mirrorDemo adds the demo files, starts a worker with cfg pushing to
// target, and checks that both files are mirrored there.
func mirrorDemo(t *testing.T, fx *fixture, target mirror.ObjectStore, cfg mirror.Config) []testFile {
	t.Helper()
	files := addDemo(fx)
	fx.start(fx.worker(target, cfg))
	checkMirrored(t, fx, target, files)
	return files
}

// TestWorkerS3 is acceptance 1 at the worker's level: files reach an S3
// server speaking real HTTP and the page links a copy with the right sha256.
func TestWorkerS3(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	target := newS3Target(t, "pypi/packages")
	mirrorDemo(t, fx, target, mirror.Config{})
}

// TestWorkerNginx is acceptance 2 at the worker's level: real nginx with
// WebDAV PUT, serving the pushed files.
func TestWorkerNginx(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	u, err := url.Parse(mirrortest.StartNginxDAV(t))
	if err != nil {
		t.Fatal(err)
	}
	target, err := mirror.NewHTTPPut(u, mirror.TargetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mirrorDemo(t, fx, target, mirror.Config{})
}

func TestWorkerPushesSidecarFirstAndRebuildsPages(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ft := newFaultTarget(t)
	files := mirrorDemo(t, fx, ft.target(), mirror.Config{Concurrency: 1})
	_, order := ft.putCounts()
	wheel := "/cdn/" + files[0].Path
	if len(order) != 3 {
		t.Fatalf("PUTs %v, want 3 (sidecar, wheel, sdist)", order)
	}
	mi, wi := -1, -1
	for i, p := range order {
		switch p {
		case wheel + ".metadata":
			mi = i
		case wheel:
			wi = i
		}
	}
	if mi < 0 || wi < 0 || mi > wi {
		t.Errorf("PUT order %v: the sidecar must go first", order)
	}
	fx.pages.mu.Lock()
	defer fx.pages.mu.Unlock()
	if len(fx.pages.calls) != 2 || fx.pages.calls[0] != "demo-pkg" {
		t.Errorf("page rebuilds %v, want demo-pkg once per file", fx.pages.calls)
	}
}

// TestWorkerWakesOnUpload: an upload's NOTIFY starts the push within a
// second, with polling effectively off.
func TestWorkerWakesOnUpload(t *testing.T) {
	t.Parallel()
	fx, ft := listeningWorker(t)
	checkWokenByUpload(t, fx, ft)
}

// listeningWorker starts a worker with polling effectively off, so that
// only a notification wakes it, and waits until it listens.
func listeningWorker(t *testing.T) (*fixture, *faultTarget) {
	t.Helper()
	fx := newFixture(t)
	ft := newFaultTarget(t)
	fx.start(fx.worker(ft.target(), mirror.Config{PollInterval: time.Hour}))
	waitListening(t, fx, 1)
	return fx, ft
}

// checkWokenByUpload uploads a file and checks that the worker pushed it
// within a second.
func checkWokenByUpload(t *testing.T, fx *fixture, ft *faultTarget) {
	t.Helper()
	uploaded := time.Now()
	files := []testFile{fx.add("demo", "1.0", "demo-1.0.tar.gz")}
	checkMirrored(t, fx, ft.target(), files)
	if first, ok := ft.firstPut(); !ok || first.Sub(uploaded) > time.Second {
		t.Errorf("first PUT %v after the upload, want within a second", first.Sub(uploaded))
	}
}

// testFault breaks the target, runs the worker against it, checks that
// files keep failing and are never linked while the fault lasts, heals the
// target and checks that every file ends mirrored.
func testFault(t *testing.T, breakIt func(*faultTarget), cfg mirror.Config, wantErr string, heal func(*faultTarget)) {
	fx := newFixture(t)
	ft := newFaultTarget(t)
	breakIt(ft)
	files := addDemo(fx)
	fx.start(fx.worker(ft.target(), cfg))

	st := fx.waitFor("at least two failed attempts per file", func(st map[string]index.MirrorStatus) bool {
		for _, f := range files {
			if s := st[f.Filename]; s.Attempts < 3 || s.LastError == "" {
				return false
			}
		}
		return true
	})
	for _, f := range files {
		s := st[f.Filename]
		if s.State != index.MirrorPending || s.CDNURL != "" {
			t.Errorf("%s during the fault: state %s, cdn_url %q; want pending with the local URL", f.Filename, s.State, s.CDNURL)
		}
		if !strings.Contains(s.LastError, wantErr) {
			t.Errorf("%s: last error %q, want it to mention %q", f.Filename, s.LastError, wantErr)
		}
		t.Logf("%s after %d attempts: %s", f.Filename, s.Attempts, s.LastError)
		if u := fx.pages.linkedURL(f.Filename); u != "" {
			t.Errorf("%s: a page linked %s during the fault", f.Filename, u)
		}
	}
	heal(ft)
	checkMirrored(t, fx, ft.target(), files)
}

func setFault(f fault) func(*faultTarget) { return func(ft *faultTarget) { ft.set(f) } }

func TestFaultServerError(t *testing.T) {
	t.Parallel()
	testFault(t, setFault(answer500), mirror.Config{}, "500 Internal Server Error: storage backend exploded", setFault(healthy))
}

func TestFaultTimeout(t *testing.T) {
	t.Parallel()
	testFault(t, setFault(hang), mirror.Config{PushTimeout: 200 * time.Millisecond}, "deadline exceeded", setFault(healthy))
}

func TestFaultConnectionClosedMidBody(t *testing.T) {
	t.Parallel()
	testFault(t, setFault(hangUp), mirror.Config{}, "put ", setFault(healthy))
}

func TestFaultWrongBytes(t *testing.T) {
	t.Parallel()
	testFault(t, setFault(corrupt), mirror.Config{}, "sha256", setFault(healthy))
}

func TestFaultDownThenBack(t *testing.T) {
	t.Parallel()
	testFault(t, (*faultTarget).down, mirror.Config{}, "connection refused", (*faultTarget).up)
}

func TestWorkerGivesUpAfterMaxAttemptsAndRetries(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ft := newFaultTarget(t)
	ft.set(answer500)
	files := addDemo(fx)
	fx.start(fx.worker(ft.target(), mirror.Config{MaxAttempts: 3}))
	st := fx.waitFor("both files failed", func(st map[string]index.MirrorStatus) bool {
		for _, f := range files {
			if st[f.Filename].State != index.MirrorFailed {
				return false
			}
		}
		return true
	})
	for _, f := range files {
		if s := st[f.Filename]; s.Attempts != 3 || s.CDNURL != "" || !strings.Contains(s.LastError, "500") {
			t.Errorf("%s: %+v", f.Filename, s)
		}
	}
	counts, _ := ft.putCounts()
	wheel := "/cdn/" + files[0].Path
	if counts[wheel+".metadata"] != 3 || counts[wheel] != 0 {
		t.Errorf("PUTs %v: want 3 of the sidecar and none of a wheel whose sidecar failed", counts)
	}

	ft.set(healthy)
	if err := fx.store.RetryMirror(context.Background(), files[0].Filename); err != nil {
		t.Fatal(err)
	}
	fx.waitFor("the retried file mirrored", func(st map[string]index.MirrorStatus) bool {
		return st[files[0].Filename].State == index.MirrorMirrored
	})
	if s := fx.statuses()[files[1].Filename]; s.State != index.MirrorFailed {
		t.Errorf("the file not retried is %s", s.State)
	}
	if _, err := fx.store.RetryFailedMirrors(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkMirrored(t, fx, ft.target(), files)
}

// TestTwoWorkersPushEachFileOnce is acceptance 4: two workers, each with its
// own connection pool as separate processes would have, race for files
// uploaded while both run; every object is PUT exactly once.
func TestTwoWorkersPushEachFileOnce(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ft := newFaultTarget(t)
	fx.start(fx.worker(ft.target(), mirror.Config{Concurrency: 3}))
	pool2, err := pgxpool.New(context.Background(), fx.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool2.Close)
	w2, err := mirror.New(mirror.Config{DataDir: fx.dataDir, PollInterval: time.Hour, Concurrency: 3},
		index.NewStore(pool2), ft.target(), fx.pages, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	fx.start(w2)

	var files []testFile
	objects := 0
	for i := range 12 {
		v := fmt.Sprintf("1.%d", i)
		files = append(files, fx.add("demo", v, "demo-"+v+"-py3-none-any.whl"), fx.add("demo", v, "demo-"+v+".tar.gz"))
		objects += 3
	}
	checkMirrored(t, fx, ft.target(), files)
	counts, order := ft.putCounts()
	if len(order) != objects {
		t.Errorf("%d PUTs, want %d", len(order), objects)
	}
	for p, n := range counts {
		if n != 1 {
			t.Errorf("%s PUT %d times", p, n)
		}
	}
}

// TestWorkerStopsAndGivesBack: stopping mid-push returns nil, and the file
// goes back to pending without the attempt counting against it.
func TestWorkerStopsAndGivesBack(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ft := newFaultTarget(t)
	ft.set(hang)
	files := []testFile{fx.add("demo", "1.0", "demo-1.0.tar.gz")}
	stop := fx.start(fx.worker(ft.target(), mirror.Config{PushTimeout: time.Minute}))
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, ok := ft.firstPut(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no PUT arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	s := fx.statuses()[files[0].Filename]
	if s.State != index.MirrorPending || s.Attempts != 0 || s.LastError != "" {
		t.Errorf("after stopping: %+v; want pending, no attempt counted, no error", s)
	}
	if time.Until(s.NextAttempt) > time.Second {
		t.Errorf("next attempt %v from now, want due at once", time.Until(s.NextAttempt))
	}
}

func TestNewRefusesTargetWithoutPublicURL(t *testing.T) {
	t.Parallel()
	d, err := mirror.NewDir(&url.URL{Scheme: "file", Path: t.TempDir()}, mirror.TargetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = mirror.New(mirror.Config{DataDir: t.TempDir()}, &index.Store{}, d, &pagesProbe{}, nil)
	if err == nil || !strings.Contains(err.Error(), "public") {
		t.Errorf("New with a target without public URL: %v", err)
	}
	_, err = mirror.New(mirror.Config{}, &index.Store{}, d, &pagesProbe{}, nil)
	if err == nil || !strings.Contains(err.Error(), "data directory") {
		t.Errorf("New without a data directory: %v", err)
	}
}

func TestWorkerRefusesCorruptLocalCopy(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ft := newFaultTarget(t)
	f := fx.add("demo", "1.0", "demo-1.0.tar.gz")
	// Same size, different bytes: only the read-back catches it.
	local := filepath.Join(fx.dataDir, "packages", filepath.FromSlash(f.Path))
	if err := os.WriteFile(local, bytes.Repeat([]byte("x"), int(f.Size)), 0o644); err != nil {
		t.Fatal(err)
	}
	fx.start(fx.worker(ft.target(), mirror.Config{MaxAttempts: 2}))
	st := fx.waitFor("failed", func(st map[string]index.MirrorStatus) bool {
		return st[f.Filename].State == index.MirrorFailed
	})
	if s := st[f.Filename]; s.CDNURL != "" || !strings.Contains(s.LastError, "sha256") {
		t.Errorf("corrupt local copy: %+v", s)
	}
}

// TestWorkerPollsWithoutNotifications: with the trigger off (a lost
// notification), the poll interval still finds the file.
func TestWorkerPollsWithoutNotifications(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ft := newFaultTarget(t)
	if _, err := fx.store.Pool().Exec(context.Background(), `ALTER TABLE files DISABLE TRIGGER files_mirror_notify`); err != nil {
		t.Fatal(err)
	}
	fx.start(fx.worker(ft.target(), mirror.Config{PollInterval: 100 * time.Millisecond}))
	waitListening(t, fx, 1)
	files := addDemo(fx)
	checkMirrored(t, fx, ft.target(), files)
}

// TestWorkerListensAgainAfterConnectionLoss: when the listening session
// dies, the worker reconnects, and uploads wake it within a second again.
func TestWorkerListensAgainAfterConnectionLoss(t *testing.T) {
	t.Parallel()
	fx, ft := listeningWorker(t)
	var killed int
	if err := fx.store.Pool().QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN `+index.MirrorChannel+`'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d listening sessions: %v", killed, err)
	}
	waitListening(t, fx, 1)
	checkWokenByUpload(t, fx, ft)
}

// waitListening waits until n sessions listen on the mirror channel.
func waitListening(t *testing.T, fx *fixture, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got int
		err := fx.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN `+index.MirrorChannel+`' AND state = 'idle'`).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions listen, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWorkerDeletesCopies: deleting a mirrored file removes its copy and
// sidecar from the target; a DELETE the target refuses is retried with
// back-off until it runs out of attempts, then it is failed and listed
// until a retry succeeds.
func TestWorkerDeletesCopies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newFixture(t)
	ft := newFaultTarget(t)
	files := addDemo(fx)
	fx.start(fx.worker(ft.target(), mirror.Config{MaxAttempts: 3}))
	fx.waitAllMirrored()
	wheel, sdist := files[0], files[1]
	for _, p := range []string{wheel.Path, wheel.Path + ".metadata", sdist.Path} {
		if _, ok := ft.object(p); !ok {
			t.Fatalf("%s is not on the target", p)
		}
	}

	// A failing DELETE: retried, then failed, listed with its error.
	ft.set(answer500)
	if _, err := fx.store.DeleteFile(ctx, "demo-pkg", "1.0", wheel.Filename, ""); err != nil {
		t.Fatal(err)
	}
	dels := waitDeletions(t, fx, func(d []index.MirrorStatus) bool { return len(d) == 1 && d[0].State == index.MirrorFailed })
	if d := dels[0]; d.Filename != wheel.Filename || d.Attempts != 3 || !strings.Contains(d.LastError, "500") {
		t.Errorf("failed deletion %+v", d)
	}
	if n := ft.deleteCount(wheel.Path); n != 3 {
		t.Errorf("%d DELETEs of the wheel, want 3", n)
	}
	if _, ok := ft.object(wheel.Path); !ok {
		t.Errorf("the wheel's copy went although every DELETE failed")
	}

	// Healed and retried: the copy and its sidecar go, the row too.
	ft.set(healthy)
	if n, err := fx.store.RetryFailedMirrorDeletions(ctx); err != nil || n != 1 {
		t.Fatalf("retry: %d, %v", n, err)
	}
	waitDeletions(t, fx, func(d []index.MirrorStatus) bool { return len(d) == 0 })
	for _, p := range []string{wheel.Path, wheel.Path + ".metadata"} {
		if _, ok := ft.object(p); ok {
			t.Errorf("%s is still on the target", p)
		}
	}
	if _, ok := ft.object(sdist.Path); !ok {
		t.Errorf("the sdist's copy went with the wheel's")
	}

}

// waitDeletions waits until the queued deletions satisfy ok.
func waitDeletions(t *testing.T, fx *fixture, ok func([]index.MirrorStatus) bool) []index.MirrorStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := fx.store.MirrorDeletions(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("deletions after 20s: %+v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
