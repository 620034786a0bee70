package repair

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// SweepReport says what a sweep did.
type SweepReport struct {
	TempRemoved  int // upload temp files and half-written page or metadata files removed
	OrphansMoved int // package files no row refers to, moved into DATA/orphans
	Young        int // unreferenced files too young to judge, left for a second look
	PagesRebuilt int // project page directories rebuilt (missing pages) or removed (no project)
}

// orphan is a package file no row referred to when it was looked at.
type orphan struct {
	rel  string // slash-separated, relative to DATA/packages
	id   datadir.FileID
	seen time.Time // its last change (max of mtime and ctime)
}

// maxYoung bounds the young files remembered for a second look; more than
// that many uploads in flight at once is not a crash's leftover, and the
// next full sweep finds whatever was dropped.
const maxYoung = 10000

// Sweep walks the data directory once: it removes temp files older than
// the grace period from tmp/, packages/ and simple/, moves old package
// files no row refers to into DATA/orphans, and rebuilds project pages that
// are missing. Errors on single entries are logged and skipped; the error
// is the first that stopped a whole part.
func (r *Repairer) Sweep(ctx context.Context) (SweepReport, error) {
	rep, _, err := r.sweep(ctx, false)
	return rep, err
}

// sweep is Sweep, returning as well the unreferenced files that were too
// young to judge, for judgeOrphans after the grace period.
// With paced set it works only cfg.SweepDuty of the time (see pause).
func (r *Repairer) sweep(ctx context.Context, paced bool) (SweepReport, []orphan, error) {
	var rep SweepReport
	errTmp := r.sweepTmp(ctx, &rep)
	young, errPkg := r.sweepPackages(ctx, &rep, paced)
	errSimple := r.sweepSimple(ctx, &rep)
	return rep, young, errors.Join(errTmp, errPkg, errSimple)
}

// old reports whether a file last changed before the grace period began.
func (r *Repairer) old(t time.Time) bool { return r.cfg.Now().Sub(t) > r.cfg.Grace }

// removeIfOld removes path when it is a regular file older than the grace
// period. A live upload keeps writing its temp file, which keeps it young.
func (r *Repairer) removeIfOld(ctx context.Context, path string, rep *SweepReport) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || !r.old(changed(fi)) {
		return
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.log.WarnContext(ctx, "remove temp file", "path", path, "err", err)
		return
	}
	r.log.InfoContext(ctx, "removed stale temp file", "path", path, "age", r.cfg.Now().Sub(changed(fi)).Round(time.Second))
	rep.TempRemoved++
}

// sweepTmp removes old upload temp files. Several processes share DATA/tmp;
// each only removes files older than the grace period, never a live one.
func (r *Repairer) sweepTmp(ctx context.Context, rep *SweepReport) error {
	entries, err := os.ReadDir(r.dir.Tmp())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sweep tmp: %w", err)
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e.Type().IsRegular() {
			r.removeIfOld(ctx, filepath.Join(r.dir.Tmp(), e.Name()), rep)
		}
	}
	return nil
}

// sweepPackages walks DATA/packages. Dot-files are the temporaries of a
// .metadata write that never finished (datadir.Replace); everything else must be a file
// or a .metadata sidecar that a row points at.
func (r *Repairer) sweepPackages(ctx context.Context, rep *SweepReport, paced bool) ([]orphan, error) {
	root := r.dir.Packages()
	var batch []orphan
	var young []orphan
	worked := time.Now()
	flush := func() {
		if len(batch) > 0 {
			young = append(young, r.judgeOrphans(ctx, batch, rep)...)
			batch = batch[:0]
		}
		if paced {
			sleepCtx(ctx, pause(time.Since(worked), r.cfg.SweepDuty))
			worked = time.Now()
		}
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile, or no packages/ yet
			}
			r.log.WarnContext(ctx, "sweep packages", "path", path, "err", err)
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			r.removeIfOld(ctx, path, rep)
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return nil
		}
		batch = append(batch, orphan{rel: filepath.ToSlash(rel), id: datadir.IDOf(fi), seen: changed(fi)})
		if len(batch) == 500 {
			flush()
		}
		return nil
	})
	flush()
	if len(young) > maxYoung {
		young = young[:maxYoung]
	}
	rep.Young = len(young)
	return young, err
}

// pause is how long to rest after working for work, so that working takes
// the share duty of the time.
func pause(work time.Duration, duty float64) time.Duration {
	if duty >= 1 || work <= 0 {
		return 0
	}
	return time.Duration(float64(work) * (1 - duty) / duty)
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// distName is the distribution filename a package file belongs to: itself,
// or for "<filename>.metadata" the filename.
func distName(rel string) (filename string, sidecar bool) {
	base := rel[strings.LastIndexByte(rel, '/')+1:]
	if f, ok := strings.CutSuffix(base, datadir.MetadataSuffix); ok {
		return f, true
	}
	return base, false
}

// referenced reports whether row (ok: it exists) refers to the package file
// at rel.
func referenced(rel string, row index.File, ok, sidecar bool) bool {
	if !ok {
		return false
	}
	if sidecar {
		return row.MetadataSHA256 != "" && row.Path+datadir.MetadataSuffix == rel
	}
	return row.Path == rel
}

// judgeOrphans looks up the rows of files; those referenced are fine, old
// unreferenced ones are moved aside, young ones are returned.
func (r *Repairer) judgeOrphans(ctx context.Context, files []orphan, rep *SweepReport) []orphan {
	names := make([]string, 0, len(files))
	for _, f := range files {
		n, _ := distName(f.rel)
		names = append(names, n)
	}
	slices.Sort(names)
	rows, err := r.store.FilesByFilename(ctx, slices.Compact(names))
	if err != nil {
		if ctx.Err() == nil {
			r.log.WarnContext(ctx, "sweep packages: look up files", "err", err)
		}
		return nil
	}
	var young []orphan
	for _, f := range files {
		n, sidecar := distName(f.rel)
		row, ok := rows[n]
		if referenced(f.rel, row, ok, sidecar) {
			continue
		}
		if !r.old(f.seen) {
			young = append(young, f)
			continue
		}
		moved, err := r.moveAside(ctx, f)
		if err != nil {
			if ctx.Err() == nil {
				r.log.WarnContext(ctx, "move orphan aside", "path", f.rel, "err", err)
			}
			continue
		}
		if moved {
			rep.OrphansMoved++
		}
	}
	return young
}

// lockName is the project whose lock an upload of filename commits under:
// the normalised name part of the filename, which the upload checks
// against the project. A name no upload could have produced needs no lock.
func lockName(filename string) (index.Normalized, bool) {
	if w, err := index.ParseWheelFilename(filename); err == nil {
		return index.Normalize(w.Name), true
	}
	if s, err := index.ParseSdistFilename(filename); err == nil {
		return index.Normalize(s.Name), true
	}
	return "", false
}

// moveAside moves an unreferenced package file into DATA/orphans under the
// same relative path. Under the project's lock no upload of this file can
// commit, so the row check is final for the moment of the move; the file
// must still be old and the same inode, and if an upload renamed a fresh
// copy into place between the last look and the rename, that copy is put
// back, so an upload never loses its file.
func (r *Repairer) moveAside(ctx context.Context, f orphan) (moved bool, err error) {
	filename, sidecar := distName(f.rel)
	src := r.dir.Package(f.rel)
	move := func(rows map[string]index.File) error {
		fi, err := os.Lstat(src)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if datadir.IDOf(fi) != f.id || !r.old(changed(fi)) {
			return nil // replaced or touched since: an upload is at work
		}
		row, ok := rows[filename]
		if referenced(f.rel, row, ok, sidecar) {
			return nil // committed since the sweep looked
		}
		dst, err := r.orphanPath(f.rel)
		if err != nil {
			return err
		}
		if err := os.Rename(src, dst); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if fi, err := os.Lstat(dst); err == nil && datadir.IDOf(fi) != f.id {
			// A fresh placement won the race for the name; it belongs to
			// an upload waiting for this lock. Put it back.
			if err := os.Link(dst, src); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("put back %s: %w", f.rel, err)
			}
			return os.Remove(dst)
		}
		moved = true
		return errors.Join(datadir.SyncDir(filepath.Dir(src)), datadir.SyncDir(filepath.Dir(dst)))
	}
	if name, ok := lockName(filename); ok {
		err = r.store.LockedFiles(ctx, name, []string{filename}, move)
	} else {
		var rows map[string]index.File
		if rows, err = r.store.FilesByFilename(ctx, []string{filename}); err == nil {
			err = move(rows)
		}
	}
	if moved {
		r.log.WarnContext(ctx, "moved unreferenced package file aside", "path", f.rel,
			"to", r.dir.Orphan(f.rel))
	}
	return moved, err
}

// orphanPath returns a free path under DATA/orphans for rel, creating its
// directory. An earlier orphan of the same name keeps its place; the new
// one gets a numeric suffix.
func (r *Repairer) orphanPath(rel string) (string, error) {
	dst := r.dir.Orphan(rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			return dst, nil
		}
		dst = r.dir.Orphan(rel) + "." + strconv.Itoa(i)
	}
}

// sweepSimple removes what interrupted page writes leave in DATA/simple
// (datadir's dot-named temporaries, and the ".<name>.removed-*" directories
// of an interrupted removal), then compares the project directories with
// the database: a project missing a page gets it rebuilt, and a directory
// of a project that no longer exists is removed through the page hook,
// which checks again under the project's lock.
func (r *Repairer) sweepSimple(ctx context.Context, rep *SweepReport) error {
	simple := r.dir.Simple()
	// Names only: at 700,000 projects a []fs.DirEntry costs several times
	// the memory of the names themselves.
	entries, err := readDirNames(simple)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sweep simple: %w", err)
	}
	// complete[i]: entries[i] is a project directory holding both pages. A
	// flag per entry rather than a second list of names: at 700,000 projects
	// that list, and the database's names held whole, would double the
	// sweep's memory.
	complete := make([]bool, len(entries))
	var rebuild []index.Normalized
	for i, name := range entries {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		path := filepath.Join(simple, name)
		switch {
		case strings.HasPrefix(name, "."):
			fi, err := os.Lstat(path)
			if err != nil {
				continue
			}
			if fi.IsDir() {
				if strings.Contains(name, ".removed-") && r.old(changed(fi)) {
					if err := os.RemoveAll(path); err == nil {
						rep.TempRemoved++
					}
				}
				continue
			}
			r.removeIfOld(ctx, path, rep)
		default:
			switch isDir, both := r.sweepPageDir(ctx, path, rep); {
			case both:
				complete[i] = true
			case isDir:
				rebuild = append(rebuild, index.Normalized(name))
			}
		}
	}
	// Both are in byte order: merge the complete directories with the
	// projects as the database streams them.
	i := 0
	err = r.store.EachProjectName(ctx, func(n index.Normalized) error {
		for ; i < len(entries) && (!complete[i] || entries[i] < string(n)); i++ {
			if complete[i] {
				rebuild = append(rebuild, index.Normalized(entries[i])) // no such project
			}
		}
		if i < len(entries) && entries[i] == string(n) {
			i++
			return nil
		}
		rebuild = append(rebuild, n) // no directory, or an incomplete one
		return nil
	})
	if err != nil {
		return fmt.Errorf("sweep simple: %w", err)
	}
	for ; i < len(entries); i++ {
		if complete[i] {
			rebuild = append(rebuild, index.Normalized(entries[i]))
		}
	}
	slices.Sort(rebuild)
	rebuild = slices.Compact(rebuild)
	// A directory no project could own (not a normalised name) is not ours
	// to remove; the page hook would refuse it anyway.
	rebuild = slices.DeleteFunc(rebuild, func(n index.Normalized) bool {
		return !index.ValidName(string(n)) || index.Normalize(string(n)) != n
	})
	if len(rebuild) > 0 {
		r.log.InfoContext(ctx, "sweep: page directories to rebuild", "count", len(rebuild))
	}
	ok, _, err := r.regenerate(ctx, rebuild, nil)
	rep.PagesRebuilt += ok
	return err
}

// readDirNames returns the names in dir in byte order.
func readDirNames(dir string) ([]string, error) {
	f, err := datadir.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// sweepPageDir removes old temporaries in one project's page directory and
// reports whether path is a directory and whether both pages are there.
func (r *Repairer) sweepPageDir(ctx context.Context, dir string, rep *SweepReport) (isDir, both bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		// Not a directory (or gone): nothing of ours to rebuild there.
		return false, false
	}
	var html, json bool
	for _, e := range entries {
		page, isPage := datadir.PageOf(e.Name())
		switch name := e.Name(); {
		case isPage && page == datadir.HTML:
			html = e.Type().IsRegular()
		case isPage && page == datadir.JSON:
			json = e.Type().IsRegular()
		case strings.HasPrefix(name, "."):
			r.removeIfOld(ctx, filepath.Join(dir, name), rep)
		}
	}
	return true, html && json
}
