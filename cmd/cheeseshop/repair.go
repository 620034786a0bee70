package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/repair"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// repairFlags are serve's flags for start-up repair and the background
// sweep (internal/repair).
type repairFlags struct {
	grace, sweepDelay time.Duration
}

func (f *repairFlags) register(fs *flagSet) {
	fs.DurationVar(&f.grace, "orphan-grace", fs.envDuration("CHEESESHOP_ORPHAN_GRACE", repair.DefaultGrace),
		"how old a temp file, or a package file no database row refers to, must be before the background sweep removes it "+
			"(temp files) or moves it into DATA/orphans (package files) (env CHEESESHOP_ORPHAN_GRACE)")
	fs.DurationVar(&f.sweepDelay, "sweep-delay", fs.envDuration("CHEESESHOP_SWEEP_DELAY", repair.DefaultSweepDelay),
		"how long after start the first background sweep of the data directory begins; later ones follow daily "+
			"(env CHEESESHOP_SWEEP_DELAY)")
	fs.check(func() error {
		var errs []error
		if f.grace <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", fs.origin("orphan-grace", "CHEESESHOP_ORPHAN_GRACE")))
		}
		if f.sweepDelay <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", fs.origin("sweep-delay", "CHEESESHOP_SWEEP_DELAY")))
		}
		return errors.Join(errs...)
	})
}

// startup repairs the pages before the server listens and returns the
// repairer whose Run keeps repairing in the background.
func (f *repairFlags) startup(ctx context.Context, dataDir string, store *index.Store, pages *staticgen.Generator, log *slog.Logger) (*repair.Repairer, error) {
	r, err := repair.New(repair.Config{
		DataDir:    dataDir,
		Grace:      f.grace,
		SweepDelay: f.sweepDelay,
	}, store, pages, log)
	if err != nil {
		return nil, err
	}
	if _, err := r.Startup(ctx); err != nil {
		return nil, fmt.Errorf("start-up repair: %w", err)
	}
	return r, nil
}
