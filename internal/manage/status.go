package manage

import (
	"context"
	"errors"
	"fmt"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// SetStatus sets a project's PEP 792 status and reason; by names who did
// it, for the journal ("" from the command line). The pages show the new
// status when it returns.
//
// A quarantined project offers no files: its pages are rewritten without
// links first, then its files and sidecars move from packages/ to
// quarantine/, where no server (the binary, nginx, Apache) looks, so they
// are refused with the application down too. Leaving quarantine moves them
// back before the pages link them again. Setting the same status again
// redoes the moves, so a retry finishes what a crash interrupted.
func (s *Service) SetStatus(ctx context.Context, project string, st index.Status, reason, by string) (index.StatusChange, error) {
	norm := index.Normalize(project)
	sc, err := s.store.SetProjectStatus(ctx, norm, st, reason, by)
	if err != nil {
		return index.StatusChange{}, err
	}
	leaving := st != index.StatusQuarantined && (sc.Previous == index.StatusQuarantined || !sc.Changed)
	if leaving {
		if err := s.moveFiles(ctx, norm, false); err != nil {
			return sc, err
		}
	}
	ch, err := s.after(ctx, norm, sc.Change, nil, "project status set", "status", st.String(), "reason", reason, "previous", sc.Previous.String(), "user", by)
	sc.Change = ch
	if err != nil {
		return sc, err
	}
	if st == index.StatusQuarantined {
		if err := s.moveFiles(ctx, norm, true); err != nil {
			return sc, err
		}
	}
	return sc, nil
}

// moveFiles moves every file of the project into quarantine/ (in) or back
// into packages/.
func (s *Service) moveFiles(ctx context.Context, norm index.Normalized, in bool) error {
	files, err := s.store.ProjectFiles(ctx, norm)
	if err != nil {
		return err
	}
	dir := datadir.New(s.cfg.DataDir)
	var errs []error
	for _, f := range files {
		move := dir.UnquarantineFile
		if in {
			move = dir.QuarantineFile
		}
		if err := move(f.Path); err != nil {
			errs = append(errs, fmt.Errorf("move %s: %w", f.Filename, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return index.WrapErrorf(index.ErrStorage, err, "the files of %s could not all be moved; run the command again", norm)
	}
	return nil
}
