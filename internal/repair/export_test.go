package repair

import "context"

// JudgeOrphans exposes the second look at young files to the tests.
func JudgeOrphans(r *Repairer, ctx context.Context, files []orphan, rep *SweepReport) []orphan {
	return r.judgeOrphans(ctx, files, rep)
}

// SweepYoung is Sweep with the files too young to judge.
func SweepYoung(r *Repairer, ctx context.Context) (SweepReport, []orphan, error) {
	return r.sweep(ctx)
}
