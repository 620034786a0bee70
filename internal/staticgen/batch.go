package staticgen

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// BatchStore is the optional capability RegenerateProjects uses: the state
// of many projects read under all their page locks at once.
type BatchStore interface {
	LockedProjects(ctx context.Context, names []index.Normalized, fn func([]index.ProjectState) error) error
}

// RegenerateProjects rewrites the pages of many projects, for rebuilding the
// whole index. A page written one by one costs three fsyncs (two files and
// their directory); here the pages of the batch are written without them and
// the file system is synced once (syncfs) before the store records their
// serials, so a crash midway leaves pages that repair finds stale, never a
// recorded serial for a page that did not reach the disk. Renames keep every
// page whole for readers throughout. Projects that no longer exist lose
// their pages, as with RegenerateProject. It falls back to one
// RegenerateProject per name when the store has no batch capability.
func (g *Generator) RegenerateProjects(ctx context.Context, names []index.Normalized, workers int) error {
	for _, n := range names {
		if !validDirName(n) {
			return index.Errorf(index.ErrInvalid, "%q is not a normalized project name", n)
		}
	}
	bs, ok := g.store.(BatchStore)
	if !ok {
		for _, n := range names {
			if err := g.RegenerateProject(ctx, n); err != nil {
				return err
			}
		}
		return nil
	}
	if err := ensureDir(g.simple); err != nil {
		return err
	}
	workers = max(workers, 1)
	found := make(map[index.Normalized]bool, len(names))
	err := bs.LockedProjects(ctx, names, func(states []index.ProjectState) error {
		for _, st := range states {
			found[st.Project.Normalized] = true
		}
		var (
			mu       sync.Mutex
			firstErr error
			wg       sync.WaitGroup
			next     = make(chan *index.ProjectState)
		)
		for range workers {
			wg.Go(func() {
				for st := range next {
					if err := g.writeProjectNoSync(ctx, st); err != nil {
						mu.Lock()
						firstErr = cmpErr(firstErr, err)
						mu.Unlock()
					}
				}
			})
		}
		// In id order: the order the projects were created, roughly the
		// order their pages lie on disk (see index.Store.ProjectNamesByAge).
		slices.SortFunc(states, func(a, b index.ProjectState) int { return cmp.Compare(a.Project.ID, b.Project.ID) })
		for i := range states {
			next <- &states[i]
		}
		close(next)
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
		return syncFS(g.simple)
	})
	if err != nil {
		return err
	}
	// As RegenerateProject does: a project that no longer exists loses its pages.
	for _, n := range names {
		if !found[n] {
			if err := removePageDir(g.simple, string(n)); err != nil {
				return fmt.Errorf("remove pages of deleted project %s: %w", n, err)
			}
		}
	}
	return nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (g *Generator) writeProjectNoSync(ctx context.Context, st *index.ProjectState) error {
	dir := g.dir.ProjectPages(st.Project.Normalized)
	if _, err := mkdirOnce(dir); err != nil {
		return err
	}
	// The current HTML page, read whole once: its serial says whether this
	// state may replace it (never backwards, as in writeProject), and its
	// bytes whether it must.
	oldHTML := getBuf()
	defer putBuf(oldHTML)
	haveHTML := readFileInto(oldHTML, datadir.PageFile(dir, datadir.HTML)) == nil
	if haveHTML {
		if old, ok := datadir.ParseSerial(datadir.HTML, oldHTML.Bytes()); ok && old > st.Project.LastSerial {
			return nil
		}
	}
	p := newProjectPage(*st)
	defer p.release()
	if err := renderFileNoSync(datadir.PageFile(dir, datadir.JSON), p.writeJSON, nil); err != nil {
		return fmt.Errorf("write pages of %s: %w", st.Project.Normalized, err)
	}
	var cur *bytes.Buffer
	if haveHTML {
		cur = oldHTML
	}
	if err := renderFileNoSync(datadir.PageFile(dir, datadir.HTML), p.writeHTML, cur); err != nil {
		return fmt.Errorf("write pages of %s: %w", st.Project.Normalized, err)
	}
	// The batch's file-system sync makes these durable too.
	if _, err := g.writePeople(ctx, *st, true, nil, false); err != nil {
		return fmt.Errorf("write pages for people of %s: %w", st.Project.Normalized, err)
	}
	return nil
}

// renderFileNoSync replaces the page at path atomically (datadir.Replace:
// temp file and rename) but leaves durability to the caller's syncFS. A page whose bytes would not
// change is left alone: rebuilding a whole index that is mostly current
// then costs reads, not a new file (and the freeing of the old one's
// blocks) per page. cur, when not nil, holds the current bytes of the page
// already; otherwise they are read here.
func renderFileNoSync(path string, render func(*bytes.Buffer), cur *bytes.Buffer) error {
	buf := getBuf()
	defer putBuf(buf)
	render(buf)
	if cur == nil {
		cur = getBuf()
		defer putBuf(cur)
		if readFileInto(cur, path) != nil {
			cur = nil
		}
	}
	if cur != nil && bytes.Equal(cur.Bytes(), buf.Bytes()) {
		return nil
	}
	return datadir.Replace(path, buf.Bytes(), pagePerm, false)
}

// readFileInto reads the file at path into b, which it resets first.
func readFileInto(b *bytes.Buffer, path string) error {
	f, err := datadir.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	b.Reset()
	if fi, err := f.Stat(); err == nil {
		b.Grow(int(fi.Size()) + 1)
	}
	_, err = b.ReadFrom(f)
	return err
}
