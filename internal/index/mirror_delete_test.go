package index_test

import (
	"context"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

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
