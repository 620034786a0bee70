package repair

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Defaults for Config's zero values.
const (
	// DefaultGrace is how old a temp file or an unreferenced package file
	// must be before the sweep touches it. An upload streams into its temp
	// file (keeping its mtime fresh), inspects it for seconds, places it and
	// commits within milliseconds; an hour is far beyond any of that, and
	// beyond any request a proxy lets live.
	DefaultGrace = time.Hour
	// DefaultInterval is the period of the background stale-page pass.
	DefaultInterval = time.Minute
	// DefaultSweepInterval is the period of the full sweep of the data
	// directory after the one at start: it walks every package file, so
	// it is rare.
	DefaultSweepInterval = 24 * time.Hour
	// DefaultSweepDelay defers the first sweep after start.
	DefaultSweepDelay = 5 * time.Minute
	// DefaultSweepDuty paces the background sweep to a quarter of one
	// core's time.
	DefaultSweepDuty = 0.25
	// DefaultWorkers is how many pages are rewritten at once; each holds
	// one database connection, and pgxpool's default is max(4, CPUs).
	DefaultWorkers = 4
)

// Store is what repair reads from the database; *index.Store implements it.
type Store interface {
	StalePages(ctx context.Context) ([]index.StalePage, error)
	MarkPageSerials(ctx context.Context, marks []index.PageMark) error
	// EachProjectName streams the names in byte order, for the sweep: at
	// 700,000 projects a list of them would double its memory.
	EachProjectName(ctx context.Context, fn func(index.Normalized) error) error
	// ProjectNamesByAge lists them in creation order, roughly the order
	// their pages lie on disk, for rebuilding every page.
	ProjectNamesByAge(ctx context.Context) ([]index.Normalized, error)
	FilesByFilename(ctx context.Context, filenames []string) (map[string]index.File, error)
	LockedFiles(ctx context.Context, name index.Normalized, filenames []string, fn func(map[string]index.File) error) error
	// AwaitEarlierTransactions waits (at most limit) for the transactions
	// that began before the call, so that a commit a killed process left
	// to the database is visible to the start-up pass.
	AwaitEarlierTransactions(ctx context.Context, limit time.Duration) (bool, error)
}

// settleLimit bounds how long start-up waits for earlier transactions.
const settleLimit = 5 * time.Second

// Pages rewrites pages from the committed state under the cross-process
// page locks; cmd connects it to staticgen.Generator. RegenerateProject
// removes the pages of a project that no longer exists.
type Pages interface {
	RegenerateProject(ctx context.Context, name index.Normalized) error
	RegenerateRoot(ctx context.Context) error
}

// Config configures a Repairer. Zero values mean the defaults.
type Config struct {
	// DataDir is the data directory (packages/, simple/, tmp/); required.
	DataDir       string
	Grace         time.Duration // default DefaultGrace
	Interval      time.Duration // default DefaultInterval
	SweepInterval time.Duration // default DefaultSweepInterval
	// SweepDelay is how long after Run starts the first sweep begins
	// (default DefaultSweepDelay): orphans only take disk space, while a
	// freshly started server has clients to serve.
	SweepDelay time.Duration
	// SweepDuty is the share of wall time the background sweep may spend
	// working (default DefaultSweepDuty): it walks every package file, and
	// at full speed it takes a core and the disk from uploads for minutes
	// at PyPI's size. A direct call of Sweep (the tests' one-shot sweep) is not paced.
	SweepDuty float64
	Workers   int // default DefaultWorkers
	Now       func() time.Time
}

// Repairer repairs one data directory against one database.
type Repairer struct {
	cfg   Config
	dir   datadir.Dir
	store Store
	pages Pages
	log   *slog.Logger
	// syncPages makes a project's pages durable (datadir.SyncPages; tests
	// inject failures). A page found current is synced before its serial is
	// recorded, because a server writing pages with deferred syncs may not
	// have synced it yet.
	syncPages func(dir string) error
}

// New returns a Repairer. A nil logger discards.
func New(cfg Config, store Store, pages Pages, log *slog.Logger) (*Repairer, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("repair: no data directory")
	}
	cfg.Grace = cmp.Or(cfg.Grace, DefaultGrace)
	cfg.Interval = cmp.Or(cfg.Interval, DefaultInterval)
	cfg.SweepInterval = cmp.Or(cfg.SweepInterval, DefaultSweepInterval)
	cfg.SweepDelay = cmp.Or(cfg.SweepDelay, DefaultSweepDelay)
	cfg.Workers = cmp.Or(cfg.Workers, DefaultWorkers)
	if cfg.SweepDuty <= 0 || cfg.SweepDuty > 1 {
		cfg.SweepDuty = DefaultSweepDuty
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Repairer{cfg: cfg, dir: datadir.New(cfg.DataDir), store: store, pages: pages,
		log: log.With("component", "repair"), syncPages: datadir.SyncPages}, nil
}

// PagesReport says what a page repair did.
type PagesReport struct {
	All       bool // the root page was missing: every project was rebuilt
	Stale     int  // projects the database listed as stale
	Marked    int  // of those, pages found current on disk and only recorded
	Rewritten int  // pages rewritten
	Failed    int  // rewrites that failed (logged)
}

// Startup brings every page up to date before the server starts serving:
// the stale projects, or every project when the root page is missing, and
// then the root page. A page that cannot be written is logged and left to
// the background pass; only failing to ask the database is an error.
func (r *Repairer) Startup(ctx context.Context) (PagesReport, error) {
	start := time.Now()
	if done, err := r.store.AwaitEarlierTransactions(ctx, settleLimit); err != nil {
		return PagesReport{}, err
	} else if !done {
		r.log.WarnContext(ctx, "start-up repair: transactions begun before start still run; repairing without waiting for them", "waited_ms", settleLimit.Milliseconds())
	}
	rep, err := r.pagePass(ctx, nil)
	if err != nil {
		return rep, err
	}
	if !rep.All { // a full rebuild ended with the root already
		// The root page lists every project; a crash between creating a
		// project and rewriting it leaves the project out, and no serial
		// records that. Rewriting it costs about a second at 700,000
		// projects.
		if err := r.pages.RegenerateRoot(ctx); err != nil {
			// Without a root page /simple/ answers 404 until a pass
			// rebuilds it.
			r.log.ErrorContext(ctx, "start-up repair: root page", "err", err)
			rep.Failed++
		}
	}
	level := slog.LevelDebug
	if rep.Stale > 0 || rep.All || rep.Failed > 0 {
		level = slog.LevelInfo
	}
	r.log.Log(ctx, level, "start-up repair done", "all", rep.All, "stale", rep.Stale, "marked", rep.Marked,
		"rewritten", rep.Rewritten, "failed", rep.Failed, "took", time.Since(start).Round(time.Millisecond))
	return rep, nil
}

// pagePass rewrites stale pages, or all pages when the root page is
// missing. With seen non-nil it only rewrites projects that were already
// stale at the same serial in the previous pass (seen is updated), so it
// leaves alone uploads that are between their commit and their rewrite.
func (r *Repairer) pagePass(ctx context.Context, seen map[index.Normalized]int64) (PagesReport, error) {
	var rep PagesReport
	if !r.rootPresent() {
		names, err := r.store.ProjectNamesByAge(ctx)
		if err != nil {
			return rep, err
		}
		rep.All = true
		r.log.WarnContext(ctx, "the root page is missing: rebuilding every page", "projects", len(names))
		rep.Rewritten, rep.Failed, err = r.regenerate(ctx, names, nil)
		if err != nil {
			return rep, err
		}
		if err := r.pages.RegenerateRoot(ctx); err != nil {
			r.log.ErrorContext(ctx, "rebuild root page", "err", err)
			rep.Failed++
		}
		return rep, nil
	}
	stale, err := r.store.StalePages(ctx)
	if err != nil {
		return rep, err
	}
	rep.Stale = len(stale)
	if seen != nil {
		next := make(map[index.Normalized]int64, len(stale))
		var due []index.StalePage
		for _, p := range stale {
			next[p.Name] = p.LastSerial
			if prev, ok := seen[p.Name]; ok && prev == p.LastSerial {
				due = append(due, p)
			}
		}
		clear(seen)
		maps.Copy(seen, next)
		stale = due
	}
	marks, todo := r.readBack(stale)
	if len(marks) > 0 {
		if err := r.store.MarkPageSerials(ctx, marks); err != nil {
			return rep, err
		}
		rep.Marked = len(marks)
	}
	rep.Rewritten, rep.Failed, err = r.regenerate(ctx, todo, nil)
	return rep, err
}

// readBack sorts stale projects into those whose pages on disk already
// show their last serial (the record was lost: the recording commit does
// not wait for the WAL, or the process died between writing the page and
// committing) and those to rewrite. Reading a serial is far cheaper than
// rewriting a page; after a migration that added page_serial, or a seed
// that wrote pages directly, this is every project, so it runs in parallel.
func (r *Repairer) readBack(stale []index.StalePage) (marks []index.PageMark, todo []index.Normalized) {
	current := make([]bool, len(stale))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(2*r.cfg.Workers, max(1, len(stale)/64)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(stale) {
					return
				}
				s, ok := r.diskSerial(stale[i].Name)
				current[i] = ok && s == stale[i].LastSerial && r.syncProject(stale[i].Name)
			}
		})
	}
	wg.Wait()
	for i, p := range stale {
		if current[i] {
			marks = append(marks, index.PageMark{Name: p.Name, Serial: p.LastSerial})
		} else {
			todo = append(todo, p.Name)
		}
	}
	return marks, todo
}

// syncProject makes a project's pages durable before their serial is
// recorded; a page that cannot be synced is rewritten instead.
func (r *Repairer) syncProject(name index.Normalized) bool {
	if err := r.syncPages(r.dir.ProjectPages(name)); err != nil {
		r.log.Warn("sync pages", "project", string(name), "err", err)
		return false
	}
	return true
}

// rootPresent reports whether both root pages exist and record a serial,
// and the home page for people exists: a data directory from before the
// pages for people has none, and gets every page rewritten once.
func (r *Repairer) rootPresent() bool {
	for _, p := range datadir.Pages {
		if _, ok := datadir.ReadSerial(r.dir.RootPage(p), p); !ok {
			return false
		}
	}
	_, err := os.Stat(r.dir.WebHome())
	return err == nil
}

// diskSerial returns the serial both pages of a project record, false when
// they disagree or either is missing or unreadable. datadir.ReadSerial
// reads only the ends of each page, so a page of a project with thousands
// of files costs two small reads.
func (r *Repairer) diskSerial(name index.Normalized) (int64, bool) {
	h, ok := datadir.ReadSerial(r.dir.ProjectPage(name, datadir.HTML), datadir.HTML)
	if !ok {
		return 0, false
	}
	j, ok := datadir.ReadSerial(r.dir.ProjectPage(name, datadir.JSON), datadir.JSON)
	return h, ok && h == j
}

// regenerate rewrites the pages of names with the configured number of
// workers, logging failures (the first few in full) and progress on long
// runs. It returns the counts; its error is the context's, if it ended.
func (r *Repairer) regenerate(ctx context.Context, names []index.Normalized, progress func(done, failed int)) (ok, failed int, err error) {
	if len(names) == 0 {
		return 0, 0, nil
	}
	var logged atomic.Int32
	lastLog := time.Now()
	var mu sync.Mutex
	report := func(done, nfailed int) {
		if progress != nil {
			progress(done, nfailed)
		}
		mu.Lock()
		defer mu.Unlock()
		if time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			r.log.InfoContext(ctx, "rewriting pages", "done", done, "total", len(names), "failed", nfailed)
		}
	}
	ok, failed, err = Regenerate(ctx, r.pages, names, r.cfg.Workers, report, func(name index.Normalized, err error) {
		if logged.Add(1) <= 10 {
			r.log.ErrorContext(ctx, "rewrite pages", "project", string(name), "err", err)
		}
	})
	if failed > 10 {
		r.log.ErrorContext(ctx, "page rewrites failed", "failed", failed, "total", len(names))
	}
	return ok, failed, err
}

// Regenerate rewrites the pages of names through pages with workers
// goroutines (at least one), calling progress after each project (from
// any goroutine, never concurrently) and fail for each failure. It returns
// how many succeeded and failed, and ctx.Err() if ctx ended first.
//
// When pages can rewrite many projects at once (BatchPages), they go in
// batches: one locked read and one
// file system sync per batch instead of per project, which is what makes
// rebuilding 700,000 projects a matter of a minute. A batch that fails is
// retried one project at a time, so failures are still counted per project.
func Regenerate(ctx context.Context, pages Pages, names []index.Normalized, workers int,
	progress func(done, failed int), fail func(index.Normalized, error)) (ok, failed int, err error) {
	if bp, isBatch := pages.(BatchPages); isBatch && len(names) > 1 {
		return regenerateBatches(ctx, bp, pages, names, workers, progress, fail)
	}
	return regenerateEach(ctx, pages, names, workers, progress, fail)
}

// BatchPages is the optional capability of rewriting many projects' pages in one go.
type BatchPages interface {
	RegenerateProjects(ctx context.Context, names []index.Normalized, workers int) error
}

// batchIOPerWorker: a batch's pages are compared and written by this many
// goroutines per worker. They hold no database connection, and with the
// page cache cold (a rebuild after a restore) reading the current pages is
// the bottleneck, which more reads in flight relieve.
const batchIOPerWorker = 4

// batchesAtOnce: one batch reads from PostgreSQL or syncs while the other
// compares and writes pages.
const batchesAtOnce = 2

// PageReaders is how many goroutines Regenerate has reading and writing
// pages at once with the given workers, when the pages object can rewrite
// in batches. Each blocks in the kernel for as long as a cold read takes;
// a caller that wants them all in flight at once needs that many Ps
// (GOMAXPROCS), see cmd/cheeseshop's regenerate.
func PageReaders(workers int) int { return batchesAtOnce * max(1, workers) * batchIOPerWorker }

// BatchSize is how many projects one batch holds: their uploads wait for
// the batch (well under a second), and larger batches gain little.
const BatchSize = 2000

func regenerateBatches(ctx context.Context, bp BatchPages, pages Pages, names []index.Normalized, workers int,
	progress func(done, failed int), fail func(index.Normalized, error)) (ok, failed int, err error) {
	var mu sync.Mutex
	inParallel(ctx, batchesAtOnce, len(names), BatchSize, func(lo, hi int) {
		chunk := names[lo:hi]
		if err := bp.RegenerateProjects(ctx, chunk, max(1, workers)*batchIOPerWorker); err != nil {
			if ctx.Err() != nil {
				return
			}
			o, f, _ := regenerateEach(ctx, pages, chunk, 1, nil, fail)
			mu.Lock()
			ok, failed = ok+o, failed+f
		} else {
			mu.Lock()
			ok += len(chunk)
		}
		if progress != nil {
			progress(ok+failed, failed)
		}
		mu.Unlock()
	})
	return ok, failed, ctx.Err()
}

func regenerateEach(ctx context.Context, pages Pages, names []index.Normalized, workers int,
	progress func(done, failed int), fail func(index.Normalized, error)) (ok, failed int, err error) {
	var mu sync.Mutex
	inParallel(ctx, max(1, min(workers, len(names))), len(names), 1, func(i, _ int) {
		err := pages.RegenerateProject(ctx, names[i])
		mu.Lock()
		if err != nil {
			failed++
			if fail != nil && ctx.Err() == nil {
				fail(names[i], err)
			}
		} else {
			ok++
		}
		if progress != nil {
			progress(ok+failed, failed)
		}
		mu.Unlock()
	})
	return ok, failed, ctx.Err()
}

// inParallel calls fn from goroutines at once on the consecutive ranges
// [lo, hi) of 0..n, size long (the last may be shorter), each range once,
// until all are done or ctx ends.
func inParallel(ctx context.Context, goroutines, n, size int, fn func(lo, hi int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for ctx.Err() == nil {
				lo := int(next.Add(int64(size)) - int64(size))
				if lo >= n {
					return
				}
				fn(lo, min(lo+size, n))
			}
		})
	}
	wg.Wait()
}

// Run repairs in the background until ctx ends: a sweep of the data
// directory SweepDelay after it starts, a second look after the grace period at the files the
// sweep found too young to judge, a full sweep every SweepInterval, and a
// stale-page pass every Interval. Failures (the database being away, a
// full disk) are logged and retried at the next tick; Run returns nil
// when ctx ends.
func (r *Repairer) Run(ctx context.Context) error {
	var young []orphan
	var recheck <-chan time.Time
	first := time.NewTimer(r.cfg.SweepDelay)
	defer first.Stop()
	pass := time.NewTicker(r.cfg.Interval)
	defer pass.Stop()
	sweep := time.NewTicker(r.cfg.SweepInterval)
	defer sweep.Stop()
	seen := map[index.Normalized]int64{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-pass.C:
			rep, err := r.pagePass(ctx, seen)
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				r.log.WarnContext(ctx, "stale-page pass", "err", err)
			case rep.Rewritten+rep.Marked+rep.Failed > 0 || rep.All:
				r.log.InfoContext(ctx, "stale pages repaired", "all", rep.All, "marked", rep.Marked,
					"rewritten", rep.Rewritten, "failed", rep.Failed)
			}
		case <-recheck:
			recheck = nil
			var rep SweepReport
			young = r.judgeOrphans(ctx, young, &rep)
			r.logSweep(ctx, "orphan re-check", rep, nil)
		case <-first.C:
			young = r.sweepLogged(ctx)
			if len(young) > 0 && recheck == nil {
				recheck = time.After(r.cfg.Grace + time.Second)
			}
		case <-sweep.C:
			young = r.sweepLogged(ctx)
			if len(young) > 0 && recheck == nil {
				recheck = time.After(r.cfg.Grace + time.Second)
			}
		}
	}
}

func (r *Repairer) sweepLogged(ctx context.Context) []orphan {
	start := time.Now()
	rep, young, err := r.sweep(ctx, true)
	if ctx.Err() != nil {
		return nil
	}
	r.logSweep(ctx, fmt.Sprintf("sweep (%s)", time.Since(start).Round(time.Millisecond)), rep, err)
	return young
}

func (r *Repairer) logSweep(ctx context.Context, what string, rep SweepReport, err error) {
	if err != nil {
		r.log.WarnContext(ctx, what+" incomplete", "err", err, "temp_removed", rep.TempRemoved,
			"orphans_moved", rep.OrphansMoved, "pages_rebuilt", rep.PagesRebuilt)
		return
	}
	level := slog.LevelDebug
	if rep.TempRemoved+rep.OrphansMoved+rep.PagesRebuilt+rep.Young > 0 {
		level = slog.LevelInfo
	}
	r.log.Log(ctx, level, what, "temp_removed", rep.TempRemoved, "orphans_moved", rep.OrphansMoved,
		"orphans_young", rep.Young, "pages_rebuilt", rep.PagesRebuilt)
}
