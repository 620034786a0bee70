package staticgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Config configures a Generator.
type Config struct {
	// DataDir is the data directory; pages go under DataDir/simple, which is
	// created on first use. DataDir itself must exist.
	DataDir string
	// RootRefresh, when positive, makes every project page rewrite also
	// schedule a rewrite of the root page at most this long afterwards, in
	// the background and coalesced. The root lists each project's serial
	// (its JSON's per-project _last-serial is how bandersnatch 8 finds
	// changed projects), but rewriting it costs most of a second at
	// 700,000 projects, so only adding a project waits for it. Zero leaves
	// the root to RegenerateRoot callers.
	RootRefresh time.Duration
	// DeferSync makes RegenerateProject return once the new pages are in
	// place (renamed, whole for every reader) and leaves their fsyncs, and
	// the recording of their serial, to a background round that serves every
	// rewrite since the previous one (see pageSyncer). An upload then waits
	// for no page fsync. It needs a store that is also a DeferredStore;
	// without one, or when false, every rewrite is durable when it returns.
	DeferSync bool
	// BaseURL is the index's public URL, shown in the home page's
	// instructions; "" shows a placeholder.
	BaseURL string
	// AllReleasePages makes every project rewrite write the page of every
	// release, not only of those that changed (regenerate: after a new
	// binary or new READMEs).
	AllReleasePages bool
	// Observe, when set, is told how long each page rewrite took: page is
	// "project" (RegenerateProject) or "root" (one root rewrite). It must
	// not block; serve feeds its metrics with it.
	Observe func(page string, d time.Duration)
}

// Store is what a Generator reads page state from; *index.Store implements
// it. Each method holds a cross-process lock (per project, or for the root)
// while fn runs and hands fn the committed state read under that lock, so
// pages written inside fn are never replaced by pages built from an older
// state. LockedProject returns an error wrapping index.ErrNotFound, without
// calling fn, when the project does not exist.
type Store interface {
	LockedProject(ctx context.Context, name index.Normalized, fn func(index.ProjectState) error) error
	LockedRoot(ctx context.Context, fn func(index.RootState) error) error
}

// Generator rebuilds pages in a data directory from a Store. It is safe for
// concurrent use; several processes may share one data directory.
type Generator struct {
	dir    datadir.Dir
	simple string // dir.Simple()
	store  Store
	logger *slog.Logger

	// Root rewrites are coalesced (see RegenerateRoot). At most one runs in
	// this process at a time; rootPending is the next one, which every
	// caller arriving meanwhile joins.
	rootMu      sync.Mutex
	rootRunning bool
	rootPending *rootRun

	syncer *pageSyncer // nil unless Config.DeferSync

	baseURL     string // Config.BaseURL
	allReleases bool   // Config.AllReleasePages

	observe      func(page string, d time.Duration)
	refresh      time.Duration
	refreshMu    sync.Mutex
	refreshTimer *time.Timer // the scheduled background root rewrite, if any
	closed       bool
}

// New returns a Generator writing under cfg.DataDir. A nil logger discards.
func New(cfg Config, store Store, logger *slog.Logger) *Generator {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &Generator{
		dir:     datadir.New(cfg.DataDir),
		simple:  datadir.New(cfg.DataDir).Simple(),
		store:   store,
		logger:  logger.With("component", "staticgen"),
		refresh: cfg.RootRefresh,

		baseURL:     cfg.BaseURL,
		allReleases: cfg.AllReleasePages,
		observe:     cfg.Observe,
	}
	if g.observe == nil {
		g.observe = func(string, time.Duration) {}
	}
	if ds, ok := store.(DeferredStore); ok && cfg.DeferSync {
		g.syncer = newPageSyncer(g.dir, ds, g.logger)
	}
	return g
}

// RefreshRootSoon arranges a background root rewrite within
// Config.RootRefresh, unless one is already scheduled (or RootRefresh is
// zero): for changes another process committed, which this process hears of
// (the project pages that process rewrote itself; the root lists every
// project's serial).
func (g *Generator) RefreshRootSoon() { g.scheduleRootRefresh() }

// scheduleRootRefresh arranges a background root rewrite within the
// refresh interval, unless one is already scheduled.
func (g *Generator) scheduleRootRefresh() {
	if g.refresh <= 0 {
		return
	}
	g.refreshMu.Lock()
	defer g.refreshMu.Unlock()
	if g.refreshTimer != nil || g.closed {
		return
	}
	g.refreshTimer = time.AfterFunc(g.refresh, func() {
		g.refreshMu.Lock()
		g.refreshTimer = nil
		g.refreshMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := g.RegenerateRoot(ctx); err != nil {
			// The next change schedules another attempt.
			g.logger.Warn("background root rewrite", "err", err)
		}
	})
}

// closeTimeout bounds Close's wait for deferred page syncs.
const closeTimeout = 30 * time.Second

// Close stops a scheduled background root rewrite (a running one finishes)
// and, with DeferSync, makes the pages written so far durable and records
// their serials.
func (g *Generator) Close() {
	g.refreshMu.Lock()
	g.closed = true
	if g.refreshTimer != nil {
		g.refreshTimer.Stop()
		g.refreshTimer = nil
	}
	g.refreshMu.Unlock()
	if g.syncer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := g.syncer.close(ctx); err != nil {
			g.logger.Warn("pages left for start-up repair", "err", err)
		}
	}
}

// Flush returns once the pages of every RegenerateProject that returned
// before the call are durable and their serials recorded. Without
// DeferSync they already are, and it returns at once.
func (g *Generator) Flush(ctx context.Context) error {
	if g.syncer == nil {
		return nil
	}
	return g.syncer.flush(ctx)
}

// RegenerateProject rewrites both pages of the named project from the state
// the store hands over under the project's lock; the pages are complete
// when it returns nil, and durable too unless DeferSync is set (then they
// are soon after; see Flush). When the project no longer exists its page
// directory is removed instead.
//
// The removal happens after the store released the lock (the store offers
// no locked "not found" callback), so a project deleted and re-created at
// the same instant can lose its pages until start-up repair rebuilds them.
func (g *Generator) RegenerateProject(ctx context.Context, name index.Normalized) error {
	return g.regenerateProject(ctx, name, nil)
}

// RegenerateReleases is RegenerateProject, which also rewrites the pages
// of the given releases of the project (their versions as stored) even
// when their serial says they are current: their README was rendered after
// their page was written, which is no change to the release and so moves
// no serial.
func (g *Generator) RegenerateReleases(ctx context.Context, name index.Normalized, versions []string) error {
	force := make(map[string]bool, len(versions))
	for _, v := range versions {
		force[v] = true
	}
	return g.regenerateProject(ctx, name, force)
}

func (g *Generator) regenerateProject(ctx context.Context, name index.Normalized, force map[string]bool) error {
	if !validDirName(name) {
		return index.Errorf(index.ErrInvalid, "%q is not a normalized project name", name)
	}
	start := time.Now()
	defer func() { g.observe("project", time.Since(start)) }()
	var err error
	if g.syncer != nil {
		err = g.syncer.store.InspectProject(ctx, name, func(st index.ProjectState) error {
			written, newDir, err := g.writeProjectPages(ctx, name, st, false, force)
			if err == nil && written {
				g.syncer.add(name, st.Project.LastSerial, newDir)
			}
			return err
		})
	} else {
		err = g.store.LockedProject(ctx, name, func(st index.ProjectState) error {
			_, _, err := g.writeProjectPages(ctx, name, st, true, force)
			return err
		})
	}
	if errors.Is(err, index.ErrNotFound) {
		if err := removePageDir(g.simple, string(name)); err != nil {
			return fmt.Errorf("remove pages of deleted project %s: %w", name, err)
		}
		if err := g.removePeople(name); err != nil {
			return fmt.Errorf("remove pages for people of deleted project %s: %w", name, err)
		}
		g.logger.DebugContext(ctx, "removed pages of missing project", "project", name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("regenerate pages of project %s: %w", name, err)
	}
	g.scheduleRootRefresh()
	return nil
}

// WriteProject writes the pages of a project from a state the caller already
// holds, without the store's lock: for bulk loads into an idle index (seeding),
// never for live changes, which go through RegenerateProject.
func (g *Generator) WriteProject(ctx context.Context, st index.ProjectState) error {
	if !validDirName(st.Project.Normalized) {
		return index.Errorf(index.ErrInvalid, "%q is not a normalized project name", st.Project.Normalized)
	}
	return g.writeProject(ctx, st.Project.Normalized, st)
}

func (g *Generator) writeProject(ctx context.Context, name index.Normalized, st index.ProjectState) error {
	_, _, err := g.writeProjectPages(ctx, name, st, true, nil)
	return err
}

// writeProjectPages writes both pages of a project, durably when durable
// is set. It reports whether it wrote them (a newer page on disk is left
// alone) and whether it created the project's directory, whose entry in
// DATA/simple is durable only if durable was set. The pages of the
// releases whose versions force holds are written even when current.
func (g *Generator) writeProjectPages(ctx context.Context, name index.Normalized, st index.ProjectState, durable bool, force map[string]bool) (written, newDir bool, err error) {
	if st.Project.Normalized != name {
		return false, false, fmt.Errorf("store returned project %q for %q", st.Project.Normalized, name)
	}
	p := newProjectPage(st)
	defer p.release()
	dir := g.dir.ProjectPages(name)
	if err := ensureDir(g.simple); err != nil {
		return false, false, err
	}
	if durable {
		err = ensureDir(dir)
	} else {
		newDir, err = mkdirOnce(dir)
	}
	if err != nil {
		return false, false, err
	}
	// Pages never go backwards. Under the project lock the state is never
	// older than the page on disk, unless this process lost its database
	// session (and so the lock) meanwhile and another one wrote a newer page.
	if old, ok := datadir.ReadSerial(datadir.PageFile(dir, datadir.HTML), datadir.HTML); ok && old > st.Project.LastSerial {
		g.logger.WarnContext(ctx, "not replacing a newer page", "project", name,
			"serial", st.Project.LastSerial, "page_serial", old)
		return false, newDir, nil
	}
	// The /simple pages and the pages for people are independent files:
	// written side by side, their renders share the CPUs and their fsyncs
	// the disk's queue instead of following one another.
	var wg sync.WaitGroup
	var simpleErr error
	wg.Go(func() { simpleErr = writePages(dir, p.writeJSON, p.writeHTML, durable) })
	files, err := g.writePeople(ctx, st, g.allReleases, force, durable)
	wg.Wait()
	if g.syncer != nil && !durable {
		g.syncer.addFiles(files)
	}
	if err := errors.Join(simpleErr, err); err != nil {
		return false, newDir, err
	}
	g.logger.DebugContext(ctx, "wrote project pages", "project", name,
		"serial", st.Project.LastSerial, "files", len(st.Files), "durable", durable)
	return true, newDir, nil
}

// rootRun is one rewrite of the root pages and the callers waiting for it.
type rootRun struct {
	wake    chan struct{} // closed when the rewrite before it ended, so it may start
	done    chan struct{} // closed when it ended; err and retry are set by then
	err     error
	retry   bool // its leader's context ended first: the waiters were not served
	waiters int  // callers waiting for it, not counting its leader
	woken   bool
}

// RegenerateRoot rewrites the root pages from the store's state. It
// returns after a rewrite that started after it was called has finished,
// with that rewrite's error, so the pages reflect every change committed
// before the call. Concurrent callers share rewrites: while one runs, all
// new callers join the single next one, so N simultaneous new projects cost
// at most two rewrites of a page that lists every project.
//
// The rewrite runs in the goroutine of one waiting caller, under its
// context. If that context ends first, the others are not failed with its
// error: they go on to the next rewrite. A caller whose own context ends
// returns ctx.Err() at once.
func (g *Generator) RegenerateRoot(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.rootMu.Lock()
	r := g.joinRootLocked()
	wake := r.wake
	for {
		if !g.rootRunning && g.rootPending == r {
			g.rootRunning = true
			g.rootPending = nil
			r.waiters--
			g.rootMu.Unlock()
			return g.leadRoot(ctx, r)
		}
		g.rootMu.Unlock()
		select {
		case <-wake:
			wake = nil // from now on only done matters
		case <-r.done:
			if !r.retry {
				return r.err
			}
		case <-ctx.Done():
			g.rootMu.Lock()
			r.waiters--
			if r.waiters == 0 && g.rootPending == r {
				g.rootPending = nil // nobody is left to want it
			}
			g.rootMu.Unlock()
			return ctx.Err()
		}
		g.rootMu.Lock()
		if r.retry {
			r = g.joinRootLocked()
			wake = r.wake
		}
	}
}

// joinRootLocked returns the pending rewrite, creating it if needed. It has
// not started, so it will start after the caller's call.
func (g *Generator) joinRootLocked() *rootRun {
	r := g.rootPending
	if r == nil {
		r = &rootRun{wake: make(chan struct{}), done: make(chan struct{})}
		g.rootPending = r
	}
	r.waiters++
	return r
}

func (g *Generator) leadRoot(ctx context.Context, r *rootRun) (err error) {
	err = errors.New("staticgen: root rewrite panicked")
	defer func() {
		g.rootMu.Lock()
		defer g.rootMu.Unlock()
		g.rootRunning = false
		r.err = err
		r.retry = err != nil && ctx.Err() != nil
		close(r.done)
		if p := g.rootPending; p != nil && !p.woken {
			p.woken = true
			close(p.wake)
		}
	}()
	start := time.Now()
	err = g.rewriteRoot(ctx)
	g.observe("root", time.Since(start))
	if err != nil {
		err = fmt.Errorf("regenerate root pages: %w", err)
	}
	return err
}

// rewriteRoot writes both root pages from the store, streaming them when
// the store can (RootStreamer). With DeferSync the root is synced in the
// background too: every start-up rewrites it anyway (repair), and a new
// project's upload then does not wait for the fsync of ~2 × 40 MB at PyPI's
// size.
func (g *Generator) rewriteRoot(ctx context.Context) error {
	if err := ensureDir(g.simple); err != nil {
		return err
	}
	durable := g.syncer == nil
	var (
		projects int
		serial   int64
		err      error
	)
	if rs, ok := g.store.(RootStreamer); ok {
		projects, serial, err = g.streamRoot(ctx, rs, durable)
	} else {
		err = g.store.LockedRoot(ctx, func(st index.RootState) error {
			projects, serial = len(st.Projects), st.Serial
			p := newRootPage(st)
			defer p.release()
			return writePages(g.simple,
				func(b *bytes.Buffer) { p.writeJSON(b, st.Serial) },
				func(b *bytes.Buffer) { p.writeHTML(b, st.Serial) }, durable)
		})
	}
	if err != nil {
		return err
	}
	files, err := g.writeHome(ctx, durable)
	if !durable {
		g.syncer.addFiles(files)
		g.syncer.addRoot()
	}
	if err != nil {
		return fmt.Errorf("home page: %w", err)
	}
	g.logger.DebugContext(ctx, "wrote root pages", "serial", serial, "projects", projects, "durable", durable)
	return nil
}
