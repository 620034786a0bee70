package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/sync/errgroup"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/seed"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// seedBatch is how many projects go into one COPY transaction.
const seedBatch = 5000

func cmdSeed(ctx context.Context, e env, args []string) error {
	var c common
	var projects int
	var distSpec string
	var seedN uint64
	var writeFiles, big bool
	fs := newFlags(e, "dev seed", "dev seed --projects N [--files-per-project DIST] [flags]", &c)
	fs.IntVar(&projects, "projects", 1000, "number of projects to add")
	fs.StringVar(&distSpec, "files-per-project", "longtail", "files per project: a number, or longtail[:alpha[:max]] (Pareto, default alpha 1.6, max 10000)")
	fs.Uint64Var(&seedN, "seed", 1, "random seed: the same seed gives the same index")
	fs.BoolVar(&writeFiles, "write-files", false, "also write every (small, synthetic) file to DATA/packages; without it only rows and pages are made")
	fs.BoolVar(&big, "bench-projects", true, "also add bench-10, bench-1000 and bench-10000 with exactly that many files")
	if err := fs.parse(args); err != nil {
		return err
	}
	dist, err := seed.ParseDist(distSpec)
	if err != nil {
		return err
	}
	log := c.log
	pool, err := c.openCurrent(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := index.NewStore(pool)
	if err := c.resolveDataDir(ctx, store, dirClaim); err != nil {
		return err
	}
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	pages := staticgen.New(staticgen.Config{DataDir: c.dataDir}, store, log)
	gen := seed.New(seedN, dist, time.Now().UTC())

	start := time.Now()
	bar := newBar(e.stderr, projects, "seeding")
	var nfiles int
	for done := 0; done < projects; {
		n := min(seedBatch, projects-done)
		batch := make([]index.ProjectState, 0, n+3)
		if done == 0 && big {
			for _, k := range []int{10, 1000, 10000} {
				batch = append(batch, gen.Project(k, fmt.Sprintf("bench-%d", k)))
			}
		}
		for range n {
			batch = append(batch, gen.Project(-1, ""))
		}
		if err := store.BulkInsert(ctx, batch); err != nil {
			return err
		}
		if err := writeSeeded(ctx, c.dataDir, pages, batch, writeFiles); err != nil {
			return err
		}
		// The pages are on disk: record their serials, so the first serve
		// does not read every page back to find out.
		marks := make([]index.PageMark, len(batch))
		for i, st := range batch {
			marks[i] = index.PageMark{Name: st.Project.Normalized, Serial: st.Project.LastSerial}
		}
		if err := store.MarkPageSerials(ctx, marks); err != nil {
			return err
		}
		for _, st := range batch {
			nfiles += len(st.Files)
		}
		done += n
		bar.Add(n) //nolint:errcheck // a progress bar on stderr
	}
	bar.Finish() //nolint:errcheck
	if err := pages.RegenerateRoot(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "seeded %d projects with %d files in %s\n", projects, nfiles, time.Since(start).Round(time.Millisecond))
	return nil
}

// writeSeeded writes the pages (and optionally the files) of a batch in parallel.
func writeSeeded(ctx context.Context, dataDir string, pages *staticgen.Generator, batch []index.ProjectState, files bool) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(2 * runtime.GOMAXPROCS(0))
	for i := range batch {
		st := batch[i]
		g.Go(func() error {
			if files {
				for _, f := range st.Files {
					dst := datadir.New(dataDir).Package(f.Path)
					if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
						return err
					}
					// The file is fsynced before its rename; its directory
					// is not: seeding is a development tool.
					if err := datadir.Replace(dst, seed.Content(f.Filename), 0o644, true); err != nil {
						return err
					}
					if f.MetadataSHA256 != "" {
						if err := datadir.Replace(dst+datadir.MetadataSuffix, seed.Metadata(f.Filename), 0o644, true); err != nil {
							return err
						}
					}
				}
			}
			return pages.WriteProject(ctx, st)
		})
	}
	return g.Wait()
}

// newBar returns a progress bar that draws on w only when w is a terminal.
func newBar(w io.Writer, total int, what string) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	tty := false
	if ok {
		fi, err := f.Stat()
		tty = err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetVisibility(tty),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
}
