package staticgen

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// DeferredStore is what Config.DeferSync needs from the store besides
// Store; *index.Store implements it. InspectProject is LockedProject without
// recording page_serial; MarkPageSerials records it later, once the pages
// are durable.
type DeferredStore interface {
	InspectProject(ctx context.Context, name index.Normalized, fn func(index.ProjectState) error) error
	MarkPageSerials(ctx context.Context, marks []index.PageMark) error
}

// pageSyncer makes pages durable after their rewrite returned and only then
// records their serials (group commit for pages). A live rewrite replaces
// the two files by rename, which readers see at once, and hands the project
// to the syncer; the syncer fsyncs every page handed over since its last
// round (concurrently, so they share journal commits), and records the
// serials in one statement. While a round runs the next batch gathers.
//
// A crash before a page is synced leaves its page_serial behind its
// last_serial, so start-up repair reads the page back and rewrites it if it
// did not survive. Nothing an upload promised is lost: the file and its row
// were durable before the page was written, and pages are derived.
type pageSyncer struct {
	dir   datadir.Dir
	store DeferredStore
	log   *slog.Logger

	mu       sync.Mutex
	pending  map[index.Normalized]int64 // project → highest serial written
	newDir   bool                       // a project directory was created since the last round
	root     bool                       // the root pages were written since the last round
	files    []string                   // pages for people written since the last round
	queued   uint64                     // handed-over rewrites so far
	synced   uint64                     // of those, the ones whose round ended
	roundEnd chan struct{}              // closed and replaced when a round ends
	wake     chan struct{}              // capacity 1: a round is wanted
	started  bool
	stop     chan struct{}
	stopped  chan struct{}
}

// syncWorkers bounds the concurrent fsyncs of one round.
const syncWorkers = 8

// markTimeout bounds the database update that ends a round.
const markTimeout = 30 * time.Second

func newPageSyncer(dir datadir.Dir, store DeferredStore, log *slog.Logger) *pageSyncer {
	return &pageSyncer{
		dir:      dir,
		store:    store,
		log:      log,
		pending:  make(map[index.Normalized]int64),
		roundEnd: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
}

// add hands over a project whose pages were just written from serial.
func (s *pageSyncer) add(name index.Normalized, serial int64, newDir bool) {
	s.mu.Lock()
	if old, ok := s.pending[name]; !ok || serial > old {
		s.pending[name] = serial
	}
	s.newDir = s.newDir || newDir
	s.queueLocked()
	s.mu.Unlock()
	s.signal()
}

// addRoot hands over the root pages, which have no recorded serial.
// addFiles hands over pages for people written without fsync; the next
// round syncs them, with their directories, before it records serials.
func (s *pageSyncer) addFiles(files []string) {
	if len(files) == 0 {
		return
	}
	s.mu.Lock()
	s.files = append(s.files, files...)
	s.mu.Unlock()
}

func (s *pageSyncer) addRoot() {
	s.mu.Lock()
	s.root = true
	s.queueLocked()
	s.mu.Unlock()
	s.signal()
}

// queueLocked counts one hand-over and starts the background loop on the
// first. s.mu is held.
func (s *pageSyncer) queueLocked() {
	s.queued++
	if !s.started {
		s.started = true
		go s.run()
	}
}

func (s *pageSyncer) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *pageSyncer) run() {
	defer close(s.stopped)
	for {
		select {
		case <-s.wake:
			s.round()
		case <-s.stop:
			return
		}
	}
}

// round syncs what was handed over so far and records the serials.
func (s *pageSyncer) round() {
	s.mu.Lock()
	batch, newDir, root, upto, files := s.pending, s.newDir, s.root, s.queued, s.files
	s.pending, s.newDir, s.root, s.files = make(map[index.Normalized]int64), false, false, nil
	s.mu.Unlock()

	if err := syncWritten(files); err != nil {
		// Their projects' serials are still recorded below: after a crash
		// the page may be lost, and `check` reports it.
		s.log.Warn("sync pages for people", "err", err)
	}

	if root {
		if err := datadir.SyncPages(s.dir.Simple()); err != nil {
			s.log.Warn("sync root pages", "err", err)
		}
	}

	marks := s.syncPages(batch, newDir)
	if len(marks) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), markTimeout)
		if err := s.store.MarkPageSerials(ctx, marks); err != nil {
			// The pages are durable; repair reads them back and records them.
			s.log.Warn("record page serials", "pages", len(marks), "err", err)
		}
		cancel()
	}

	s.mu.Lock()
	s.synced = upto
	close(s.roundEnd)
	s.roundEnd = make(chan struct{})
	s.mu.Unlock()
}

// syncPages fsyncs both pages and the directory of every project in batch,
// then DATA/simple if a project directory was created, and returns the
// marks of the projects synced. Whatever is at a page's path is synced: if
// a later rewrite replaced it meanwhile, that page is at least as new
// (pages never go backwards), so the mark is still true.
func (s *pageSyncer) syncPages(batch map[index.Normalized]int64, newDir bool) []index.PageMark {
	var (
		mu    sync.Mutex
		marks = make([]index.PageMark, 0, len(batch))
		wg    sync.WaitGroup
		next  = make(chan index.PageMark)
	)
	for range min(syncWorkers, len(batch)) {
		wg.Go(func() {
			for m := range next {
				err := datadir.SyncPages(s.dir.ProjectPages(m.Name))
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted meanwhile: nothing to record
				}
				if err != nil {
					s.log.Warn("sync pages", "project", m.Name, "err", err)
					continue
				}
				mu.Lock()
				marks = append(marks, m)
				mu.Unlock()
			}
		})
	}
	for name, serial := range batch {
		next <- index.PageMark{Name: name, Serial: serial}
	}
	close(next)
	wg.Wait()
	if newDir {
		if err := datadir.SyncDir(s.dir.Simple()); err != nil {
			s.log.Warn("sync pages directory", "err", err)
			return nil // the new directories may not survive: record nothing
		}
	}
	return marks
}

// flush returns once every rewrite handed over before the call is durable
// and its serial recorded (or its failure logged), or when ctx ends.
func (s *pageSyncer) flush(ctx context.Context) error {
	s.mu.Lock()
	target := s.queued
	for s.synced < target {
		ch := s.roundEnd
		s.mu.Unlock()
		s.signal()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
	}
	s.mu.Unlock()
	return nil
}

// close flushes within ctx and stops the goroutine.
func (s *pageSyncer) close(ctx context.Context) error {
	err := s.flush(ctx)
	s.mu.Lock()
	started := s.started
	s.started = true // no goroutine is started after this
	s.mu.Unlock()
	if started {
		close(s.stop)
		<-s.stopped
	}
	return err
}
