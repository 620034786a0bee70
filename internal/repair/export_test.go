package repair

import "context"

// JudgeOrphans exposes the second look at young files to the tests.
func JudgeOrphans(r *Repairer, ctx context.Context, files []orphan, rep *SweepReport) []orphan {
	return r.judgeOrphans(ctx, files, rep)
}
