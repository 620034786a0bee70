package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/readme"
)

// readmeRenderer adapts internal/readme to the upload handler's hook.
func readmeRenderer() func(ctx context.Context, description, contentType string) index.Readme {
	r := readme.New(readme.Config{})
	return func(ctx context.Context, description, contentType string) index.Readme {
		res := r.Render(ctx, description, contentType)
		return index.Readme{HTML: res.HTML, Version: res.Version}
	}
}

// rerenderReadmes renders again the READMEs of the named projects (all
// when names is nil) that an older renderer made, before their pages are
// rewritten. It returns how many it rendered.
func rerenderReadmes(ctx context.Context, store *index.Store, names []index.Normalized) (int, error) {
	render := readmeRenderer()
	if names == nil {
		names = []index.Normalized{""}
	}
	n := 0
	for _, name := range names {
		var after int64
		for {
			batch, err := store.StaleReadmes(ctx, name, readme.Version, after, 100)
			if err != nil {
				return n, err
			}
			if len(batch) == 0 {
				break
			}
			for _, src := range batch {
				rd := render(ctx, src.Description, src.ContentType)
				if _, err := store.SetReadme(ctx, src, rd); err != nil {
					return n, fmt.Errorf("readme of release %s: %w", src.Version, err)
				}
				n++
				after = src.ReleaseID
			}
		}
	}
	return n, nil
}

// readmeStore is what the README worker needs from the database.
type readmeStore interface {
	PendingReadmeProjects(ctx context.Context) ([]index.Normalized, error)
	StaleReadmes(ctx context.Context, name index.Normalized, version int, after int64, limit int) ([]index.ReadmeSource, error)
	SetReadme(ctx context.Context, src index.ReadmeSource, r index.Readme) (bool, error)
}

// readmePages rewrites a project's pages with the given release pages
// (staticgen.Generator.RegenerateReleases).
type readmePages interface {
	RegenerateReleases(ctx context.Context, name index.Normalized, versions []string) error
}

// readmeWorker renders, in serve, the READMEs that uploads and registers
// left pending (index.ReadmePending) so that their reply does not wait for
// it: it stores each and rewrites the project's pages, which show it from
// then on. It works on one project at a time, in the order they were
// queued. A README left pending by a server that stopped first is found
// when the next one starts (and by `regenerate`).
type readmeWorker struct {
	store  readmeStore
	pages  readmePages
	render func(ctx context.Context, description, contentType string) index.Readme
	log    *slog.Logger
	retry  time.Duration // after a failure, the project is queued again this much later

	mu     sync.Mutex
	queue  []index.Normalized
	queued map[index.Normalized]bool
	wake   chan struct{}
	idle   func() // tests: called when the queue is empty
}

// readmeProjectTimeout bounds the work on one project: its READMEs (reST
// has its own limit per README) and its page rewrite.
const readmeProjectTimeout = 2 * time.Minute

func newReadmeWorker(store readmeStore, pages readmePages, log *slog.Logger) *readmeWorker {
	return &readmeWorker{store: store, pages: pages, render: readmeRenderer(), log: log.With("component", "readme"),
		retry: 30 * time.Second, queued: map[index.Normalized]bool{}, wake: make(chan struct{}, 1)}
}

// Queue asks for the pending READMEs of the project to be rendered. It
// never blocks; a project already queued is not queued twice.
func (w *readmeWorker) Queue(name index.Normalized) {
	w.push(name)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run queues the projects a previous server left READMEs pending in, then
// renders until ctx ends.
func (w *readmeWorker) Run(ctx context.Context) error {
	names, err := w.store.PendingReadmeProjects(ctx)
	switch {
	case ctx.Err() != nil:
		return nil
	case err != nil:
		w.log.Warn("cannot list pending READMEs; they wait for the next start or `regenerate`", "err", err)
	case len(names) > 0:
		w.log.Info("rendering READMEs left pending", "projects", len(names))
	}
	for _, n := range names {
		w.push(n)
	}
	for {
		name, ok := w.next()
		if !ok {
			if w.idle != nil {
				w.idle()
			}
			select {
			case <-ctx.Done():
				return nil
			case <-w.wake:
				continue
			}
		}
		if err := w.project(ctx, name); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.log.Warn("rendering READMEs failed; trying again later", "project", string(name), "err", err)
			time.AfterFunc(w.retry, func() {
				if ctx.Err() == nil {
					w.Queue(name)
				}
			})
		}
	}
}

func (w *readmeWorker) push(name index.Normalized) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.queued[name] {
		w.queued[name] = true
		w.queue = append(w.queue, name)
	}
}

func (w *readmeWorker) next() (index.Normalized, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return "", false
	}
	name := w.queue[0]
	w.queue = w.queue[1:]
	delete(w.queued, name)
	return name, true
}

// project renders the project's pending READMEs and rewrites the
// project's pages with those releases' pages. Each README is stored first
// still marked pending, and marked rendered only once the pages that show
// it are written: a server that stops in between renders it again when it
// starts.
func (w *readmeWorker) project(ctx context.Context, name index.Normalized) error {
	ctx, cancel := context.WithTimeout(ctx, readmeProjectTimeout)
	defer cancel()
	start := time.Now()
	type rendered struct {
		src index.ReadmeSource
		rd  index.Readme
	}
	var done []rendered
	var versions []string
	var after int64
	for {
		// Below version 0 is ReadmePending only: READMEs an older renderer
		// made, or reST shown preformatted for want of docutils, are
		// `regenerate`'s.
		batch, err := w.store.StaleReadmes(ctx, name, 0, after, 20)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		for _, src := range batch {
			after = src.ReleaseID
			rd := w.render(ctx, src.Description, src.ContentType)
			if rd.HTML == "" {
				// No description: the pages show what they showed while it
				// was pending, and need no rewrite.
				if _, err := w.store.SetReadme(ctx, src, rd); err != nil {
					return err
				}
				continue
			}
			stored, err := w.store.SetReadme(ctx, src, index.Readme{HTML: rd.HTML, Version: index.ReadmePending})
			if err != nil {
				return err
			}
			// Not stored: a register replaced the description meanwhile,
			// which left the README pending again and queued the project.
			if stored {
				done = append(done, rendered{src, rd})
				versions = append(versions, src.Version)
			}
		}
	}
	if len(done) == 0 {
		return nil
	}
	if err := w.pages.RegenerateReleases(ctx, name, versions); err != nil && !errors.Is(err, index.ErrNotFound) {
		return fmt.Errorf("rewrite pages: %w", err)
	}
	for _, d := range done {
		if _, err := w.store.SetReadme(ctx, d.src, d.rd); err != nil {
			return err
		}
	}
	w.log.Info("READMEs rendered", "project", string(name), "releases", len(done),
		"duration_ms", float64(time.Since(start).Microseconds())/1000)
	return nil
}
