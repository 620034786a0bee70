package repair

import (
	"context"
	"time"
)

// JudgeOrphans exposes the second look at young files to the tests.
func JudgeOrphans(r *Repairer, ctx context.Context, files []orphan, rep *SweepReport) []orphan {
	return r.judgeOrphans(ctx, files, rep)
}

// SweepYoung is Sweep with the files too young to judge.
func SweepYoung(r *Repairer, ctx context.Context) (SweepReport, []orphan, error) {
	return r.sweep(ctx, false)
}

// SetSyncPages replaces datadir.SyncPages, to inject failures.
func SetSyncPages(r *Repairer, f func(dir string) error) { r.syncPages = f }

// Pause exposes the sweep's pacing rule.
func Pause(work time.Duration, duty float64) time.Duration { return pause(work, duty) }
