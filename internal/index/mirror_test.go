package index_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// mirrorFixture is a fresh database with one user who uploads files.
type mirrorFixture struct {
	store *index.Store
	user  int64
}

func newMirrorFixture(t *testing.T) *mirrorFixture {
	t.Helper()
	pool, _ := indextest.NewDB(t)
	store := index.NewStore(pool)
	u, err := store.CreateUser(context.Background(), "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	return &mirrorFixture{store: store, user: u.ID}
}

// add records an sdist of project at version 1.0.n and returns its filename.
func (fx *mirrorFixture) add(t *testing.T, project string, n int) string {
	t.Helper()
	v, err := index.ParseVersion(fmt.Sprintf("1.0.%d", n))
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s-%s.tar.gz", project, v)
	h := fmt.Sprintf("%064x", n+1000*len(project))
	_, err = fx.store.AddFile(context.Background(), index.NewFile{
		Project:  project,
		Version:  v,
		Uploader: fx.user,
		File: index.File{Filename: name, Type: index.Sdist, PythonVersion: "source", Size: 3,
			SHA256: h, MD5: h[:32], Blake2b256: h, Path: datadir.PackagePath(h, name)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func TestClaimMirrorLeases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	for i := range 3 {
		fx.add(t, "demo", i)
	}
	jobs, err := fx.store.ClaimMirror(ctx, 2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 {
		t.Fatalf("claimed %d, want 2", len(jobs))
	}
	for _, j := range jobs {
		if j.Attempt != 1 || j.Project != "demo" || j.File.Filename == "" || j.File.Path == "" {
			t.Errorf("job %+v", j)
		}
	}
	more, err := fx.store.ClaimMirror(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(more) != 1 || more[0].File.ID == jobs[0].File.ID || more[0].File.ID == jobs[1].File.ID {
		t.Fatalf("second claim %+v", more)
	}
	none, err := fx.store.ClaimMirror(ctx, 10, time.Minute)
	if err != nil || len(none) != 0 {
		t.Fatalf("third claim = %d jobs, %v; want none while leased", len(none), err)
	}
	wait, ok, err := fx.store.MirrorDue(ctx)
	if err != nil || !ok || wait < 50*time.Second || wait > time.Minute {
		t.Fatalf("MirrorDue = %v, %v, %v; want about the lease", wait, ok, err)
	}

	// A lease that ran out hands the file to the next claim, as a new attempt.
	if _, err := fx.store.Pool().Exec(ctx, `UPDATE files SET mirror_next_attempt_at = now() - interval '1 second' WHERE id = $1`, jobs[0].File.ID); err != nil {
		t.Fatal(err)
	}
	again, err := fx.store.ClaimMirror(ctx, 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].File.ID != jobs[0].File.ID || again[0].Attempt != 2 {
		t.Fatalf("claim after expiry = %+v, %v", again, err)
	}
	// The first claim's token is stale now: its failure is not recorded.
	ok, err = fx.store.RecordMirrorFailure(ctx, index.MirrorFailure{FileID: jobs[0].File.ID, Attempt: 1, Err: "late", Final: true})
	if err != nil || ok {
		t.Fatalf("stale failure recorded = %v, %v", ok, err)
	}
}

func TestClaimMirrorConcurrentWorkersNeverShare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	const files = 40
	for i := range files {
		fx.add(t, "demo", i)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				jobs, err := fx.store.ClaimMirror(ctx, 3, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					seen[j.File.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != files {
		t.Errorf("claimed %d distinct files, want %d", len(seen), files)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("file %d claimed %d times", id, n)
		}
	}
}

func TestRecordMirrored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	name := fx.add(t, "Demo_Pkg", 1)
	before, err := fx.store.Project(ctx, "demo-pkg")
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := fx.store.ClaimMirror(ctx, 1, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim = %v, %v", jobs, err)
	}
	url := "https://cdn.example/" + jobs[0].File.Path
	project, err := fx.store.RecordMirrored(ctx, jobs[0].File.ID, url)
	if err != nil || project != "demo-pkg" {
		t.Fatalf("RecordMirrored = %q, %v", project, err)
	}
	after, err := fx.store.Project(ctx, "demo-pkg")
	if err != nil {
		t.Fatal(err)
	}
	if after.LastSerial <= before.LastSerial {
		t.Errorf("serial %d -> %d, want it bumped", before.LastSerial, after.LastSerial)
	}
	err = fx.store.LockedProject(ctx, "demo-pkg", func(st index.ProjectState) error {
		if len(st.Files) != 1 || st.Files[0].CDNURL != url {
			t.Errorf("files after record: %+v", st.Files)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var action string
	if err := fx.store.Pool().QueryRow(ctx, `SELECT action FROM journal ORDER BY id DESC LIMIT 1`).Scan(&action); err != nil || action != "mirror file "+name {
		t.Errorf("last journal action = %q, %v", action, err)
	}

	// Recording again is harmless and journals nothing.
	if _, err := fx.store.RecordMirrored(ctx, jobs[0].File.ID, url); err != nil {
		t.Fatal(err)
	}
	again, _ := fx.store.Project(ctx, "demo-pkg")
	if again.LastSerial != after.LastSerial {
		t.Errorf("second record bumped the serial %d -> %d", after.LastSerial, again.LastSerial)
	}
	st, err := fx.store.MirrorStatuses(ctx, index.MirrorMirrored)
	if err != nil || len(st) != 1 || st[0].CDNURL != url || st[0].Filename != name {
		t.Fatalf("status = %+v, %v", st, err)
	}
	if _, err := fx.store.RecordMirrored(ctx, 999999, url); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("record unknown file: %v, want ErrNotFound", err)
	}
}

func TestMirrorFailureBackoffAndRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	name := fx.add(t, "demo", 1)
	other := fx.add(t, "demo", 2)
	claim := func() index.MirrorJob {
		t.Helper()
		jobs, err := fx.store.ClaimMirror(ctx, 1, time.Minute)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim = %v, %v", jobs, err)
		}
		return jobs[0]
	}
	j := claim()
	ok, err := fx.store.RecordMirrorFailure(ctx, index.MirrorFailure{FileID: j.File.ID, Attempt: j.Attempt, Err: "boom", RetryIn: time.Hour})
	if err != nil || !ok {
		t.Fatalf("record failure = %v, %v", ok, err)
	}
	st, err := fx.store.MirrorStatuses(ctx, index.MirrorPending)
	if err != nil {
		t.Fatal(err)
	}
	var got index.MirrorStatus
	for _, s := range st {
		if s.Filename == j.File.Filename {
			got = s
		}
	}
	if got.LastError != "boom" || got.Attempts != 1 || time.Until(got.NextAttempt) < 50*time.Minute {
		t.Errorf("after back-off: %+v", got)
	}

	// The other file is due; claim it and release it: the attempt does not count.
	j2 := claim()
	if err := fx.store.ReleaseMirror(ctx, j2.File.ID, j2.Attempt); err != nil {
		t.Fatal(err)
	}
	j2 = claim()
	if j2.Attempt != 1 {
		t.Errorf("attempt after release = %d, want 1", j2.Attempt)
	}
	ok, err = fx.store.RecordMirrorFailure(ctx, index.MirrorFailure{FileID: j2.File.ID, Attempt: j2.Attempt, Err: "gave up", Final: true})
	if err != nil || !ok {
		t.Fatalf("final failure = %v, %v", ok, err)
	}
	failed, err := fx.store.MirrorStatuses(ctx, index.MirrorFailed)
	if err != nil || len(failed) != 1 || failed[0].LastError != "gave up" {
		t.Fatalf("failed = %+v, %v", failed, err)
	}
	failedName := failed[0].Filename
	pendingName := name
	if failedName == name {
		pendingName = other
	}

	if err := fx.store.RetryMirror(ctx, pendingName); !errors.Is(err, index.ErrInvalid) {
		t.Errorf("retry of a pending file: %v, want ErrInvalid", err)
	}
	if err := fx.store.RetryMirror(ctx, "nope-1.0.tar.gz"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("retry of an unknown file: %v, want ErrNotFound", err)
	}
	if err := fx.store.RetryMirror(ctx, failedName); err != nil {
		t.Fatal(err)
	}
	j3 := claim()
	if j3.File.Filename != failedName || j3.Attempt != 1 {
		t.Errorf("after retry claimed %s attempt %d", j3.File.Filename, j3.Attempt)
	}
	fx.store.RecordMirrorFailure(ctx, index.MirrorFailure{FileID: j3.File.ID, Attempt: j3.Attempt, Err: "again", Final: true}) //nolint:errcheck
	n, err := fx.store.RetryFailedMirrors(ctx)
	if err != nil || n != 1 {
		t.Fatalf("retry all failed = %d, %v", n, err)
	}
	all, err := fx.store.MirrorStatuses(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("all statuses = %+v, %v", all, err)
	}
	for _, s := range all {
		if s.State != index.MirrorPending {
			t.Errorf("%s is %s after retry", s.Filename, s.State)
		}
	}
}

func TestListenMirrorWakesOnUploadAndRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	l, err := fx.store.ListenMirror(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	wait := func(what string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := l.Wait(wctx); err != nil {
			t.Fatalf("no wake-up after %s: %v", what, err)
		}
	}
	name := fx.add(t, "demo", 1)
	wait("upload")

	jobs, err := fx.store.ClaimMirror(ctx, 1, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatal(jobs, err)
	}
	fx.store.RecordMirrorFailure(ctx, index.MirrorFailure{FileID: jobs[0].File.ID, Attempt: 1, Err: "x", Final: true}) //nolint:errcheck
	if err := fx.store.RetryMirror(ctx, name); err != nil {
		t.Fatal(err)
	}
	wait("retry")

	// The pool is not affected by the listener's connection.
	if err := fx.store.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := l.Wait(wctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait without a wake-up = %v, want deadline exceeded", err)
	}
}

// TestDeletionsQueued: deleting a file queues the removal of its CDN copy
// only when a worker may have pushed it; a copy whose push is in flight is
// removed only after the push's lease. Quarantine queues the removal of
// every pushed copy, forgets the CDN URLs and holds the pushes back until
// the project leaves quarantine and the removals are done.
func TestDeletionsQueued(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	neverPushed := fx.add(t, "demo", 1)
	inFlight := fx.add(t, "demo", 2)
	if _, err := fx.store.DeleteFile(ctx, "demo", "1.0.1", neverPushed, ""); err != nil {
		t.Fatal(err)
	}
	if d, err := fx.store.MirrorDeletions(ctx); err != nil || len(d) != 0 {
		t.Fatalf("deleting a file never pushed queued %+v, %v", d, err)
	}

	jobs, err := fx.store.ClaimMirror(ctx, 10, time.Hour)
	if err != nil || len(jobs) != 1 || jobs[0].File.Filename != inFlight {
		t.Fatalf("claim: %+v, %v", jobs, err)
	}
	if _, err := fx.store.DeleteFile(ctx, "demo", "1.0.2", inFlight, ""); err != nil {
		t.Fatal(err)
	}
	d, err := fx.store.MirrorDeletions(ctx)
	if err != nil || len(d) != 1 || d[0].Filename != inFlight || d[0].State != index.MirrorDeleting {
		t.Fatalf("deletions: %+v, %v", d, err)
	}
	if wait := time.Until(d[0].NextAttempt); wait < 50*time.Minute {
		t.Errorf("the removal of a copy being pushed is due in %v, want after the push's lease (1h)", wait)
	}
	if got, err := fx.store.ClaimMirrorDeletion(ctx, 10, time.Minute); err != nil || len(got) != 0 {
		t.Errorf("claimed a removal before the push's lease ran out: %+v, %v", got, err)
	}

	// Quarantine: the mirrored file's copy is queued for removal and its
	// CDN URL forgotten; nothing of the project is pushed meanwhile.
	mirrored := fx.add(t, "quar", 1)
	jobs, err = fx.store.ClaimMirror(ctx, 10, time.Hour)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %+v, %v", jobs, err)
	}
	if _, err := fx.store.RecordMirrored(ctx, jobs[0].File.ID, "https://cdn.example/x/"+mirrored); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.SetProjectStatus(ctx, "quar", index.StatusQuarantined, "", ""); err != nil {
		t.Fatal(err)
	}
	st, err := fx.store.MirrorStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Filename == mirrored && (s.State != index.MirrorPending || s.CDNURL != "" || s.Attempts != 0) {
			t.Errorf("quarantined file's mirror status: %+v", s)
		}
	}
	if got, err := fx.store.ClaimMirror(ctx, 10, time.Hour); err != nil || len(got) != 0 {
		t.Errorf("claimed a quarantined project's file: %+v, %v", got, err)
	}
	if _, ok, err := fx.store.MirrorDue(ctx); err != nil || !ok {
		t.Errorf("nothing due with a removal pending: %v, %v", ok, err)
	}
	dels, err := fx.store.ClaimMirrorDeletion(ctx, 10, time.Minute)
	if err != nil || len(dels) != 1 || dels[0].Filename != mirrored || dels[0].Attempt != 1 {
		t.Fatalf("claim removal: %+v, %v", dels, err)
	}
	// Leaving quarantine with the removal still in hand: no push yet.
	if _, err := fx.store.SetProjectStatus(ctx, "quar", index.StatusActive, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.Pool().Exec(ctx, `UPDATE files SET mirror_next_attempt_at = now()`); err != nil {
		t.Fatal(err)
	}
	if got, err := fx.store.ClaimMirror(ctx, 10, time.Hour); err != nil || len(got) != 0 {
		t.Errorf("claimed a push while the removal of its old copy is pending: %+v, %v", got, err)
	}
	if ok, err := fx.store.RecordMirrorDeleted(ctx, dels[0].ID, dels[0].Attempt+1); err != nil || ok {
		t.Errorf("recorded a removal with a stale claim: %v, %v", ok, err)
	}
	if ok, err := fx.store.RecordMirrorDeleted(ctx, dels[0].ID, dels[0].Attempt); err != nil || !ok {
		t.Fatalf("record removal: %v, %v", ok, err)
	}
	got, err := fx.store.ClaimMirror(ctx, 10, time.Hour)
	if err != nil || len(got) != 1 || got[0].File.Filename != mirrored {
		t.Errorf("after the removal the file is pushed again: %+v, %v", got, err)
	}
}
