package manage

import (
	"context"
	"errors"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Prune applies a retention policy to a project (index.PruneProject): the
// releases it picks are deleted as Delete deletes a release, their
// filenames can never be uploaded again, the pages stop linking them
// before it returns and the files then leave the disk. With dryRun it
// reports what would go and changes nothing, pages included.
func (s *Service) Prune(ctx context.Context, project string, r index.Retention, dryRun bool, by string) (index.PruneResult, error) {
	norm := index.Normalize(project)
	res, err := s.store.PruneProject(ctx, norm, r, dryRun, by)
	if err != nil || dryRun {
		return res, err
	}
	if !res.Changed {
		return res, nil
	}
	ch, err := s.after(ctx, norm, res.Change, nil, "pruned", "policy", r.String(), "releases", len(res.Releases), "files", len(res.Removed), "user", by)
	res.Change = ch
	if err != nil {
		return res, err
	}
	return res, s.removeFiles(res.Removed)
}

// PruneByPolicy applies every project's stored retention policy, as the
// server does daily, and returns how many releases went. A project that
// fails is logged and the others are still pruned; the errors are joined.
func (s *Service) PruneByPolicy(ctx context.Context) (int, error) {
	policies, err := s.store.RetentionPolicies(ctx)
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	for _, pr := range policies {
		if ctx.Err() != nil {
			break
		}
		res, err := s.Prune(ctx, string(pr.Project), pr.Retention, false, "")
		n += len(res.Releases)
		if err != nil {
			s.log.ErrorContext(ctx, "prune by policy failed", "project", string(pr.Project), "policy", pr.Retention.String(), "err", err)
			errs = append(errs, err)
		}
	}
	return n, errors.Join(append(errs, ctx.Err())...)
}
