package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/repair"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

func init() {
	register("regenerate", command{
		summary: "rewrite the /simple pages of the named projects (or --all) and the root page; safe while servers run",
		run:     cmdRegenerate,
	})
}

func cmdRegenerate(ctx context.Context, e env, args []string) error {
	var c common
	var all bool
	var workers int
	fs := newFlags(e, "regenerate", "regenerate [flags] (PROJECT... | --all)", &c)
	fs.BoolVar(&all, "all", false, "rewrite the pages of every project")
	fs.IntVar(&workers, "workers", repair.DefaultWorkers, "pages rewritten at once")
	var names []index.Normalized
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		n := index.Normalize(fs.Arg(0))
		if !index.ValidName(fs.Arg(0)) {
			return fmt.Errorf("regenerate: %q is not a valid project name", fs.Arg(0))
		}
		names = append(names, n)
		rest = fs.Args()[1:]
	}
	if all == (len(names) > 0) {
		fs.Usage()
		return fmt.Errorf("regenerate: name projects or give --all, not both or neither")
	}
	if workers < 1 {
		return fmt.Errorf("--workers must be positive")
	}
	log, err := c.logger(e.stderr)
	if err != nil {
		return err
	}
	pool, err := c.openDB(ctx, false)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrate(ctx, pool, log); err != nil {
		return err
	}
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	store := index.NewStore(pool)
	// Writing through the Generator takes the same PostgreSQL locks as the
	// servers' page rewrites, so this never writes a page from an older
	// state than theirs.
	pages := staticgen.New(staticgen.Config{DataDir: c.dataDir}, store, log)
	if all {
		if names, err = store.ProjectNames(ctx); err != nil {
			return err
		}
	}
	bar := newProgress(e.stdout, len(names))
	var failures []string
	ok, failed, err := repair.Regenerate(ctx, pages, names, workers, bar.set, func(n index.Normalized, err error) {
		failures = append(failures, fmt.Sprintf("%s: %v", n, err))
	})
	bar.done()
	for _, f := range failures {
		fmt.Fprintln(e.stderr, "regenerate:", f)
	}
	if err != nil {
		return err
	}
	if err := pages.RegenerateRoot(ctx); err != nil {
		return fmt.Errorf("regenerate root page: %w", err)
	}
	fmt.Fprintf(e.stdout, "rewrote the pages of %d projects and the root page", ok)
	if failed > 0 {
		fmt.Fprintf(e.stdout, "; %d failed", failed)
	}
	fmt.Fprintln(e.stdout)
	if failed > 0 {
		return fmt.Errorf("regenerate: %d projects failed", failed)
	}
	return nil
}

// progress draws a one-line progress bar when w is a terminal, at most ten
// times a second; otherwise it draws nothing.
type progress struct {
	w     io.Writer
	total int
	start time.Time
	tty   bool

	mu   sync.Mutex
	last time.Time
	n    int
	fail int
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, start: time.Now(), tty: isTerminal(w)}
}

// isTerminal reports whether w is a character device (a terminal), the
// standard library's way without golang.org/x/term.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) set(n, failed int) {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n, p.fail = n, failed
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || n == p.total {
		p.last = now
		p.draw()
	}
}

func (p *progress) draw() {
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = float64(p.n) / float64(p.total)
	}
	fill := int(frac * width)
	elapsed := time.Since(p.start)
	rate := float64(p.n) / max(elapsed.Seconds(), 1e-3)
	eta := "-"
	if p.n > 0 && p.n < p.total {
		eta = time.Duration(float64(p.total-p.n) / rate * float64(time.Second)).Round(time.Second).String()
	}
	line := fmt.Sprintf("\r[%s%s] %d/%d %5.1f%% %.0f/s eta %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill),
		p.n, p.total, 100*frac, rate, eta)
	if p.fail > 0 {
		line += fmt.Sprintf(" (%d failed)", p.fail)
	}
	fmt.Fprint(p.w, line+"\033[K")
}

func (p *progress) done() {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw()
	fmt.Fprintln(p.w)
}
