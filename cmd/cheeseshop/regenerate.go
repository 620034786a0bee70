package main

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/repair"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

func cmdRegenerate(ctx context.Context, e env, args []string) error {
	var c common
	var all bool
	var workers int
	fs := newFlags(e, "regenerate", "regenerate [flags] (PROJECT... | --all)", &c)
	fs.BoolVar(&all, "all", false, "rewrite the pages of every project")
	fs.IntVar(&workers, "workers", repair.DefaultWorkers, "pages rewritten at once")
	fs.check(func() error {
		if workers < 1 {
			return fmt.Errorf("--workers must be positive")
		}
		return nil
	})
	pos, err := fs.parseInterspersed(args)
	if err != nil {
		return err
	}
	var names []index.Normalized
	for _, p := range pos {
		if !index.ValidName(p) {
			return fmt.Errorf("regenerate: %q is not a valid project name", p)
		}
		names = append(names, index.Normalize(p))
	}
	if all == (len(names) > 0) {
		fs.Usage()
		return fmt.Errorf("regenerate: name projects or give --all, not both or neither")
	}
	store, log, done, err := openDataStore(ctx, e, &c)
	if err != nil {
		return err
	}
	defer done()
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	// Writing through the Generator takes the same PostgreSQL locks as the
	// servers' page rewrites, so this never writes a page from an older
	// state than theirs.
	pages := staticgen.New(staticgen.Config{DataDir: c.dataDir, AllReleasePages: true}, store, log)
	if all {
		// Creation order is disk order, which matters when the pages
		// are not in the page cache (a rebuild after a restore).
		if names, err = store.ProjectNamesByAge(ctx); err != nil {
			return err
		}
	}
	// With the page cache cold (a rebuild after a reboot),
	// every page read blocks in the kernel, and Go hands a blocked
	// thread's P to another goroutine only when sysmon notices, so with
	// GOMAXPROCS at 2 most readers queued for a P while the disk sat idle
	// (under one read in flight on average). One P per reader keeps them
	// all in flight: a cold --all at 700,000 projects took 50-58 s instead
	// of 93-100 s, side by side (BENCHMARKS.md, session 5). The readers
	// are mostly asleep in the kernel, so this does not oversubscribe the
	// CPUs; GOMAXPROCS is restored when the command returns.
	if n := repair.PageReaders(workers); n > runtime.GOMAXPROCS(0) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	}
	// READMEs first: the pages show them. Only those an older renderer
	// made are rendered again.
	var readmeNames []index.Normalized
	if !all {
		readmeNames = names
	}
	rendered, err := rerenderReadmes(ctx, store, readmeNames)
	if err != nil {
		return fmt.Errorf("regenerate: %w", err)
	}
	if rendered > 0 {
		fmt.Fprintf(e.stdout, "rendered %d READMEs again\n", rendered)
	}
	bar := newBar(e.stdout, len(names), "regenerating")
	var failures []string
	ok, failed, err := repair.Regenerate(ctx, pages, names, workers, func(done, _ int) { bar.Set(done) }, func(n index.Normalized, err error) {
		failures = append(failures, fmt.Sprintf("%s: %v", n, err))
	})
	bar.Finish() //nolint:errcheck // a progress bar on a terminal
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
