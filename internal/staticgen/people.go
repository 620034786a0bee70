package staticgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/webpage"
)

// The pages for people (DATA/web, see datadir) are written by the same
// rewrites as the /simple pages, under the same lock, after them and from
// the same state: a project rewrite writes the project's page and the
// pages of the releases that changed since their page was written (a
// release page records the serial of the last journal entry naming the
// release); the root rewrite writes the home page, the stylesheet and the
// page for unknown projects.

// writePeople writes the project page of st, the release pages that are
// missing or behind (every one when all is set, and those whose versions
// force holds), and removes the pages of
// releases that no longer exist. It returns the files it wrote; with
// durable set they and their directories are durable when it returns,
// otherwise the caller syncs them (pageSyncer.addFiles).
func (g *Generator) writePeople(ctx context.Context, st index.ProjectState, all bool, force map[string]bool, durable bool) ([]string, error) {
	name := st.Project.Normalized
	// A directory made here is listed too, marked by a trailing separator,
	// so that its parent's new entry is made durable (syncWritten).
	var made []string
	for _, d := range []string{g.dir.Web(), g.dir.WebProjects()} {
		ok, err := mkdirOnce(d)
		if err != nil {
			return nil, err
		}
		if ok {
			made = append(made, d+string(filepath.Separator))
		}
	}
	projDir := g.dir.WebProject(name)
	madeProj, err := mkdirOnce(projDir)
	if err != nil {
		return nil, err
	}
	if madeProj {
		made = append(made, projDir+string(filepath.Separator))
	}
	o := webpage.Sorted(st)
	sorted, latest := o.Releases, o.Latest
	var ids []int64
	if latest >= 0 {
		ids = append(ids, sorted[latest].ID)
	}
	// The project page is written last and records the project's serial:
	// every release page whose release changed at or before that serial
	// was written before it. So one read of the project page's serial
	// tells which release pages are behind (those whose release's serial
	// is newer), instead of one read per release on every upload. A
	// release page removed by hand comes back with regenerate.
	written0 := int64(-1)
	if !madeProj && !all {
		if old, ok := datadir.ReadSerial(g.dir.WebProjectPage(name), datadir.HTML); ok {
			written0 = old
		}
	}
	var todo []index.Release
	keep := make(map[string]bool, len(sorted)+1)
	keep[datadir.WebPageName] = true
	for _, r := range sorted {
		if !datadir.ValidVersionDir(r.Version) {
			continue
		}
		keep[r.Version] = true
		if !force[r.Version] && r.Serial > 0 && r.Serial <= written0 {
			continue
		}
		todo = append(todo, r)
		if latest < 0 || r.ID != sorted[latest].ID {
			ids = append(ids, r.ID)
		}
	}
	details, err := st.ReleaseDetails(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]index.ReleaseDetail, len(details))
	for _, d := range details {
		byID[d.ID] = d
	}

	written := made
	buf := getBuf()
	defer putBuf(buf)
	syncDirs := []string{projDir}
	for _, r := range todo {
		dir := g.dir.WebRelease(name, r.Version)
		if _, err := mkdirOnce(dir); err != nil {
			return written, err
		}
		buf.Reset()
		renderReleasePage(buf, st, r, byID[r.ID])
		page := g.dir.WebReleasePage(name, r.Version)
		if err := datadir.Replace(page, buf.Bytes(), pagePerm, durable); err != nil {
			return written, fmt.Errorf("write page of %s %s: %w", name, r.Version, err)
		}
		written = append(written, page)
		syncDirs = append(syncDirs, dir)
	}
	buf.Reset()
	renderProjectPage(buf, st, o, byID)
	page := g.dir.WebProjectPage(name)
	if err := datadir.Replace(page, buf.Bytes(), pagePerm, durable); err != nil {
		return written, fmt.Errorf("write page of %s: %w", name, err)
	}
	written = append(written, page)
	if err := removeStaleReleases(projDir, keep); err != nil {
		return written, err
	}
	if durable {
		if madeProj {
			syncDirs = append(syncDirs, g.dir.WebProjects(), g.dir.Web())
		}
		for _, d := range syncDirs {
			if err := datadir.SyncDir(d); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// renderProjectPage and renderReleasePage give a page for people as it is
// written: the page, then its serial (the project's, the release's).
func renderProjectPage(buf *bytes.Buffer, st index.ProjectState, o webpage.Ordered, byID map[int64]index.ReleaseDetail) {
	webpage.RenderProject(buf, st, o, byID)
	buf.Write(datadir.AppendHTMLSerial(nil, st.Project.LastSerial))
}

func renderReleasePage(buf *bytes.Buffer, st index.ProjectState, r index.Release, d index.ReleaseDetail) {
	webpage.RenderRelease(buf, st, r, d)
	buf.Write(datadir.AppendHTMLSerial(nil, r.Serial))
}

// People renders a project's pages for people from st as the rewrite
// writes them (repair.PeopleRenderer, for `check`): the project page, and
// each release's page by version (a version that makes no directory name
// has none). st must be read under the project's lock, for the releases'
// details.
func (Renderer) People(ctx context.Context, st index.ProjectState) (project []byte, releases map[string][]byte, err error) {
	o := webpage.Sorted(st)
	ids := make([]int64, len(o.Releases))
	for i, r := range o.Releases {
		ids[i] = r.ID
	}
	details, err := st.ReleaseDetails(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[int64]index.ReleaseDetail, len(details))
	for _, d := range details {
		byID[d.ID] = d
	}
	var buf bytes.Buffer
	releases = make(map[string][]byte, len(o.Releases))
	for _, r := range o.Releases {
		if !datadir.ValidVersionDir(r.Version) {
			continue
		}
		buf.Reset()
		renderReleasePage(&buf, st, r, byID[r.ID])
		releases[r.Version] = bytes.Clone(buf.Bytes())
	}
	buf.Reset()
	renderProjectPage(&buf, st, o, byID)
	return bytes.Clone(buf.Bytes()), releases, nil
}

// removeStaleReleases removes the release directories in projDir that
// keep does not name (releases deleted since their page was written).
func removeStaleReleases(projDir string, keep map[string]bool) error {
	entries, err := os.ReadDir(projDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		n := e.Name()
		if keep[n] || strings.HasPrefix(n, ".") {
			continue
		}
		if err := removePageDir(projDir, n); err != nil {
			return fmt.Errorf("remove page of deleted release %s: %w", n, err)
		}
	}
	return nil
}

// removePeople removes the pages for people of a deleted project.
func (g *Generator) removePeople(name index.Normalized) error {
	if _, err := os.Lstat(g.dir.WebProjects()); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return removePageDir(g.dir.WebProjects(), string(name))
}

// HomeStore is the optional part of a Store that the home page needs;
// *index.Store implements it. Without it the home page is not written.
type HomeStore interface {
	HomeStats(ctx context.Context, recent int) (index.HomeStats, error)
}

// HomeRecent is how many recently changed projects the home page lists.
const HomeRecent = 20

// writeHome writes the home page, the stylesheet and the page for unknown
// projects, and returns the files it wrote (see writePeople for durable).
func (g *Generator) writeHome(ctx context.Context, durable bool) ([]string, error) {
	hs, ok := g.store.(HomeStore)
	if !ok {
		return nil, nil
	}
	stats, err := hs.HomeStats(ctx, HomeRecent)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{g.dir.Web(), g.dir.WebStatic()} {
		if err := ensureDir(d); err != nil {
			return nil, err
		}
	}
	var home, notFound bytes.Buffer
	webpage.RenderHome(&home, webpage.Home{BaseURL: g.baseURL, Projects: stats.Projects, Files: stats.Files, Recent: stats.Recent})
	webpage.RenderNotFound(&notFound)
	files := []struct {
		path string
		data []byte
	}{
		{g.dir.WebStyle(), webpage.Stylesheet},
		{g.dir.WebNotFound(), notFound.Bytes()},
		{g.dir.WebHome(), home.Bytes()},
	}
	var written []string
	for _, f := range files {
		if err := datadir.Replace(f.path, f.data, pagePerm, durable); err != nil {
			return written, err
		}
		written = append(written, f.path)
	}
	if durable {
		for _, d := range []string{g.dir.WebStatic(), g.dir.Web()} {
			if err := datadir.SyncDir(d); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// syncWritten makes files written without fsync durable, with the
// directories whose entries they changed: each file's own directory, and
// for a directory made by the rewrite (listed with a trailing separator)
// its parent. The files are fsynced a few at a time, so that they share
// journal commits; a file listed twice (a page rewritten twice in a round)
// is synced once.
func syncWritten(files []string) error {
	var pages []string
	dirs := map[string]bool{}
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if seen[f] {
			continue
		}
		seen[f] = true
		if d, ok := strings.CutSuffix(f, string(filepath.Separator)); ok {
			dirs[filepath.Dir(d)] = true
			continue
		}
		pages = append(pages, f)
		dirs[filepath.Dir(f)] = true
	}
	if err := syncEach(pages, datadir.SyncFile); err != nil {
		return err
	}
	return syncEach(slices.Sorted(maps.Keys(dirs)), datadir.SyncDir)
}

// syncEach calls syncPath on each path, syncWorkers at a time; a path gone
// meanwhile is not an error.
func syncEach(paths []string, syncPath func(string) error) error {
	errs := make([]error, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(syncWorkers, len(paths)) {
		wg.Go(func() {
			for i := range next {
				if err := syncPath(paths[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs[i] = err
				}
			}
		})
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}
