package mirror

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Store is what the worker needs from the database; *index.Store implements it.
type Store interface {
	ClaimMirror(ctx context.Context, limit int, lease time.Duration) ([]index.MirrorJob, error)
	MirrorDue(ctx context.Context) (time.Duration, bool, error)
	RecordMirrored(ctx context.Context, fileID int64, cdnURL string) (index.Normalized, error)
	RecordMirrorFailure(ctx context.Context, f index.MirrorFailure) (bool, error)
	ReleaseMirror(ctx context.Context, fileID int64, attempt int) error
	ListenMirror(ctx context.Context) (*index.MirrorListener, error)
	ClaimMirrorDeletion(ctx context.Context, limit int, lease time.Duration) ([]index.MirrorDeletion, error)
	RecordMirrorDeleted(ctx context.Context, id int64, attempt int) (bool, error)
	RecordMirrorDeletionFailure(ctx context.Context, f index.MirrorFailure) (bool, error)
	ReleaseMirrorDeletion(ctx context.Context, id int64, attempt int) error
}

// Pages rebuilds a project's /simple pages from the committed state, so that
// a newly recorded CDN URL reaches the links; cmd connects it to staticgen.
type Pages interface {
	RegenerateProject(ctx context.Context, name index.Normalized) error
}

// Config configures a Worker. Zero values mean the defaults.
type Config struct {
	// DataDir is the data directory; files are read from DataDir/packages.
	DataDir string
	// MaxAttempts is how many attempts a file gets before it is marked
	// failed (default 10: with the default back-off about 8 hours of trying).
	MaxAttempts int
	// BackoffBase is the wait after the first failed attempt; it doubles
	// with every further failure up to BackoffMax (defaults 30s and 1h).
	// Each wait is jittered between half and all of its value.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// PushTimeout bounds one file's push and verification, sidecar
	// included (default 15 minutes: a 100 MB wheel at 1 Mbit/s).
	PushTimeout time.Duration
	// PollInterval is how often the worker looks for due files without a
	// wake-up (default 1 minute). A notification or a due retry wakes it
	// earlier.
	PollInterval time.Duration
	// Concurrency is how many files are pushed at once (default 4).
	Concurrency int
	// RecordTimeout bounds recording a result and rebuilding the pages
	// after it (default 30s). Both run even when the worker is stopping.
	RecordTimeout time.Duration
	// VerifyClient reads copies back through their public URLs; nil means
	// a client without an overall timeout, since PushTimeout bounds it.
	VerifyClient *http.Client
	// ObservePush, when set, is told how long each push (with its
	// verification) took and whether it succeeded. It must not block.
	ObservePush func(d time.Duration, err error)
}

func (c *Config) setDefaults() {
	c.MaxAttempts = cmp.Or(c.MaxAttempts, 10)
	c.BackoffBase = cmp.Or(c.BackoffBase, 30*time.Second)
	c.BackoffMax = cmp.Or(c.BackoffMax, time.Hour)
	c.PushTimeout = cmp.Or(c.PushTimeout, 15*time.Minute)
	c.PollInterval = cmp.Or(c.PollInterval, time.Minute)
	c.Concurrency = cmp.Or(c.Concurrency, 4)
	c.RecordTimeout = cmp.Or(c.RecordTimeout, 30*time.Second)
	if c.VerifyClient == nil {
		c.VerifyClient = defaultHTTPClient()
	}
}

// Worker pushes pending files to an ObjectStore. Run it in one goroutine;
// any number of workers, in any number of processes, may share a database.
type Worker struct {
	cfg    Config
	dir    datadir.Dir
	lease  time.Duration
	store  Store
	target ObjectStore
	pages  Pages
	log    *slog.Logger
}

// New returns a worker. The target must have a public URL: without one no
// copy can be verified, so none could ever be linked.
func New(cfg Config, store Store, target ObjectStore, pages Pages, logger *slog.Logger) (*Worker, error) {
	cfg.setDefaults()
	var errs []error
	if cfg.DataDir == "" {
		errs = append(errs, errors.New("mirror: no data directory"))
	}
	if cfg.MaxAttempts < 1 || cfg.BackoffBase < 0 || cfg.BackoffMax < cfg.BackoffBase || cfg.PushTimeout < 0 ||
		cfg.PollInterval < 0 || cfg.Concurrency < 1 || cfg.RecordTimeout < 0 {
		errs = append(errs, fmt.Errorf("mirror: invalid settings: %d attempts, back-off %v to %v, push timeout %v, poll %v, concurrency %d",
			cfg.MaxAttempts, cfg.BackoffBase, cfg.BackoffMax, cfg.PushTimeout, cfg.PollInterval, cfg.Concurrency))
	}
	if store == nil || target == nil || pages == nil {
		errs = append(errs, errors.New("mirror: need a store, a target and pages"))
	} else if u, err := url.Parse(target.PublicURL("x")); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		errs = append(errs, errors.New("mirror: the target has no public http(s) URL (set --mirror-public-url)"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{
		cfg: cfg,
		dir: datadir.New(cfg.DataDir),
		// A claim must outlive the push and the recording after it, or a
		// second worker would take the file over while the first still
		// works on it; the minute covers clock drift and slow commits.
		lease:  cfg.PushTimeout + 2*cfg.RecordTimeout + time.Minute,
		store:  store,
		target: target,
		pages:  pages,
		log:    logger.With("component", "mirror"),
	}, nil
}

// Run pushes due files until ctx is done, then returns nil once the files
// in hand are recorded (or given back). It wakes on NOTIFY from new uploads
// and retries, when the earliest back-off ends, and on the poll interval.
func (w *Worker) Run(ctx context.Context) error {
	w.log.InfoContext(ctx, "mirror worker started", "public_url", w.target.PublicURL(""),
		"max_attempts", w.cfg.MaxAttempts, "concurrency", w.cfg.Concurrency)
	wake := make(chan struct{}, 1)
	lctx, stopListening := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { w.listen(lctx, wake) })
	defer wg.Wait()
	defer stopListening()

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-timer.C:
		}
		next := w.cfg.PollInterval
		if _, err := w.RunOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.log.ErrorContext(ctx, "mirror pass failed", "err", err)
		} else if d, ok, err := w.store.MirrorDue(ctx); err == nil && ok {
			next = min(next, d)
		}
		timer.Reset(next)
	}
}

// listen feeds wake-ups from NOTIFY into wake, reconnecting with back-off
// when the connection drops; meanwhile the poll interval keeps work going.
func (w *Worker) listen(ctx context.Context, wake chan<- struct{}) {
	poke := func() {
		select {
		case wake <- struct{}{}:
		default: // a wake-up is already pending: one pass serves both
		}
	}
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		l, err := w.store.ListenMirror(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.log.WarnContext(ctx, "cannot listen for uploads; polling", "err", err, "retry_in", delay)
			}
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
			delay = min(delay*2, 30*time.Second) // a restarted database is heard again soon
			continue
		}
		delay = 100 * time.Millisecond
		poke() // uploads while the connection was down sent no wake-up
		for {
			if err = l.Wait(ctx); err != nil {
				break
			}
			poke()
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		l.Close(cctx) //nolint:errcheck // the connection is dropped either way
		cancel()
		if ctx.Err() == nil {
			w.log.WarnContext(ctx, "lost the listening connection; reconnecting", "err", err)
		}
	}
}

// RunOnce pushes files and removes deleted files' copies until none is
// due, Concurrency at a time, and returns how many it handled, successfully
// or not. Each goroutine claims one at a time, so a claim's lease covers
// one push or removal only.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	var (
		mu    sync.Mutex
		n     int
		errs  []error
		wg    sync.WaitGroup
		empty = make(chan struct{})
		once  sync.Once
	)
	for range w.cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				select {
				case <-empty: // another goroutine found nothing due
					return
				default:
				}
				// Removals first: a file leaving quarantine is pushed
				// only once the removal of its old copy is done.
				dels, err := w.store.ClaimMirrorDeletion(ctx, 1, w.lease)
				var jobs []index.MirrorJob
				if err == nil && len(dels) == 0 {
					jobs, err = w.store.ClaimMirror(ctx, 1, w.lease)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				switch {
				case len(dels) > 0:
					w.processDeletion(ctx, dels[0])
				case len(jobs) > 0:
					w.process(ctx, jobs[0])
				default:
					once.Do(func() { close(empty) })
					return
				}
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return n, err
	}
	return n, errors.Join(errs...)
}

// process pushes one claimed file and records the outcome. Recording runs
// under its own short context that ignores ctx's cancellation: a verified
// copy is recorded and a claim given back even while the worker stops.
func (w *Worker) process(ctx context.Context, job index.MirrorJob) {
	f := job.File
	log := w.log.With("project", job.Project, "filename", f.Filename, "file_id", f.ID, "attempt", job.Attempt)
	pctx, cancel := context.WithTimeout(ctx, w.cfg.PushTimeout)
	start := time.Now()
	cdnURL, err := w.push(pctx, f)
	cancel()
	if w.cfg.ObservePush != nil && ctx.Err() == nil {
		w.cfg.ObservePush(time.Since(start), err)
	}

	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.RecordTimeout)
	defer rcancel()
	if err != nil {
		w.failed(ctx, rctx, log, pushAttempt, f.ID, job.Attempt, err)
		return
	}
	project, err := w.store.RecordMirrored(rctx, f.ID, cdnURL)
	if errors.Is(err, index.ErrNotFound) {
		log.InfoContext(rctx, "file deleted while it was pushed; its CDN copy stays unlinked", "cdn_url", cdnURL)
		return
	}
	if err != nil {
		// The claim runs out and a later attempt pushes and records again.
		log.ErrorContext(rctx, "could not record the verified copy", "err", err)
		return
	}
	log.InfoContext(rctx, "file mirrored", "cdn_url", cdnURL)
	gctx, gcancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.RecordTimeout)
	defer gcancel()
	if err := w.pages.RegenerateProject(gctx, project); err != nil {
		// The project's serial moved on, so start-up repair rebuilds it.
		log.ErrorContext(gctx, "could not rebuild the pages after mirroring", "err", err)
	}
}

// processDeletion removes one claimed CDN copy, sidecar included, and
// records the outcome with the same retries, back-off and final failure as
// a push.
func (w *Worker) processDeletion(ctx context.Context, d index.MirrorDeletion) {
	log := w.log.With("project", d.Project, "filename", d.Filename, "deletion_id", d.ID, "attempt", d.Attempt)
	pctx, cancel := context.WithTimeout(ctx, w.cfg.PushTimeout)
	err := w.remove(pctx, d.Path)
	cancel()

	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.RecordTimeout)
	defer rcancel()
	if err != nil {
		w.failed(ctx, rctx, log, deleteAttempt, d.ID, d.Attempt, err)
		return
	}
	if _, err := w.store.RecordMirrorDeleted(rctx, d.ID, d.Attempt); err != nil {
		// The claim runs out and a later attempt deletes (nothing) again.
		log.ErrorContext(rctx, "could not record the CDN deletion", "err", err)
		return
	}
	log.InfoContext(rctx, "CDN copy deleted", "public_url", w.target.PublicURL(d.Path))
}

// remove deletes the copy of a file and its sidecar from the target, file
// first: a sidecar without its file misleads no one.
func (w *Worker) remove(ctx context.Context, path string) error {
	for _, p := range []string{path, path + datadir.MetadataSuffix} {
		if err := checkPath(p); err != nil {
			return err
		}
		if err := w.target.Delete(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// push copies the file to the target and verifies it, sidecar first: the
// page promises the sidecar at <file URL>.metadata the moment it links the
// file to the CDN. It returns the file's public URL.
func (w *Worker) push(ctx context.Context, f index.File) (string, error) {
	fileURL := w.target.PublicURL(f.Path)
	if f.MetadataSHA256 != "" {
		meta := f.Path + datadir.MetadataSuffix
		if got := w.target.PublicURL(meta); got != fileURL+".metadata" {
			return "", fmt.Errorf("the target serves %s at %s, not at %s.metadata", meta, got, fileURL)
		}
		if err := w.pushOne(ctx, meta, -1, f.MetadataSHA256); err != nil {
			return "", fmt.Errorf("metadata sidecar: %w", err)
		}
	}
	if err := w.pushOne(ctx, f.Path, f.Size, f.SHA256); err != nil {
		return "", err
	}
	return fileURL, nil
}

// pushOne puts one local object and reads it back through its public URL.
// size is what the index says, or -1 when it does not say (sidecars).
func (w *Worker) pushOne(ctx context.Context, path string, size int64, sha string) error {
	if err := checkPath(path); err != nil {
		return err
	}
	fh, err := os.Open(w.dir.Package(path))
	if err != nil {
		return fmt.Errorf("local copy: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("local copy: %w", err)
	}
	if size >= 0 && st.Size() != size {
		return fmt.Errorf("local copy of %s has %d bytes, the index says %d", path, st.Size(), size)
	}
	if err := w.target.Put(ctx, path, fh, st.Size()); err != nil {
		return err
	}
	return w.verify(ctx, path, st.Size(), sha)
}

// verify fetches the public copy as pip would and compares it with what the
// index promises. It asks for the identity encoding so that the bytes
// compared are the bytes sent, and asks caches to revalidate.
func (w *Worker) verify(ctx context.Context, path string, size int64, sha string) error {
	u := w.target.PublicURL(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("verify %s: %w", u, err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := w.cfg.VerifyClient.Do(req)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("verify %s: %s", u, resp.Status)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(resp.Body, size+1))
	if err != nil {
		return fmt.Errorf("verify %s: %w", u, err)
	}
	if n != size {
		return fmt.Errorf("verify %s: %d bytes, want %d", u, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return fmt.Errorf("verify %s: sha256 %s, want %s", u, got, sha)
	}
	return nil
}

// attemptKind is what differs between a failed push and a failed CDN
// delete: the words in the log and the store's methods for the claim.
type attemptKind struct {
	what   string // "push failed…"
	item   string // "could not give the … back"
	giveUp string // what remains after the last attempt
	// release gives the claim back without counting the attempt;
	// record records a counted failed attempt.
	release func(s Store, ctx context.Context, id int64, attempt int) error
	record  func(s Store, ctx context.Context, f index.MirrorFailure) (bool, error)
}

var (
	pushAttempt = attemptKind{what: "push", item: "file", giveUp: "the file keeps its local URL",
		release: Store.ReleaseMirror, record: Store.RecordMirrorFailure}
	deleteAttempt = attemptKind{what: "CDN delete", item: "deletion", giveUp: "the copy stays on the CDN",
		release: Store.ReleaseMirrorDeletion, record: Store.RecordMirrorDeletionFailure}
)

// failed records an attempt (of the claim id) that ended with err, under
// rctx. When the worker is stopping (ctx is done) the failure is not the
// target's fault: the claim is given back and the attempt does not count.
// Otherwise the failure is recorded with its back-off, or as final once
// MaxAttempts are spent.
func (w *Worker) failed(ctx, rctx context.Context, log *slog.Logger, k attemptKind, id int64, attempt int, err error) {
	if ctx.Err() != nil {
		if err := k.release(w.store, rctx, id, attempt); err != nil {
			log.WarnContext(rctx, "could not give the "+k.item+" back; its lease will run out", "err", err)
		}
		return
	}
	final := attempt >= w.cfg.MaxAttempts
	delay := w.backoff(attempt)
	ok, rerr := k.record(w.store, rctx, index.MirrorFailure{
		FileID: id, Attempt: attempt, Err: err.Error(), RetryIn: delay, Final: final,
	})
	switch {
	case rerr != nil:
		log.ErrorContext(rctx, k.what+" failed and could not be recorded", "err", err, "record_err", rerr)
	case !ok:
		log.WarnContext(rctx, k.what+" failed after the claim ran out", "err", err)
	case final:
		log.ErrorContext(rctx, k.what+" failed; giving up, "+k.giveUp, "err", err)
	default:
		log.WarnContext(rctx, k.what+" failed; will retry", "err", err, "retry_in", delay)
	}
}

// backoff returns the wait after the given failed attempt: BackoffBase
// doubled per earlier failure, capped at BackoffMax, then jittered down by
// up to half so that files failing together spread their retries.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.cfg.BackoffBase
	for i := 1; i < attempt && d < w.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, w.cfg.BackoffMax)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}
