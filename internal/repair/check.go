package repair

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// CheckStore is what Check reads; *index.Store implements it.
type CheckStore interface {
	ForEachFile(ctx context.Context, batch int, fn func([]index.File) error) error
	ProjectNames(ctx context.Context) ([]index.Normalized, error)
	InspectProject(ctx context.Context, name index.Normalized, fn func(index.ProjectState) error) error
	LockedRoot(ctx context.Context, fn func(index.RootState) error) error
}

// Renderer renders pages exactly as the page writer does;
// staticgen.Renderer implements it.
type Renderer interface {
	Project(buf *bytes.Buffer, p datadir.Page, st index.ProjectState)
	Root(buf *bytes.Buffer, p datadir.Page, st index.RootState)
}

// PeopleRenderer is the optional part of a Renderer that renders a
// project's pages for people (staticgen.Renderer); with it Check compares
// them too, under the same lock as the /simple pages.
type PeopleRenderer interface {
	People(ctx context.Context, st index.ProjectState) (project []byte, releases map[string][]byte, err error)
}

// CheckConfig configures Check. Zero values mean the defaults.
type CheckConfig struct {
	DataDir string // required
	// SkipHashes checks file sizes only, not their sha256 (which reads
	// every byte of every file).
	SkipHashes bool
	Workers    int // files hashed, and pages compared, at once; default 4
	// Settle is how long a page that differs from the database gets to
	// catch up before it is reported: an upload on a running server commits
	// a moment before it rewrites its page. Default 2s.
	Settle time.Duration
}

// Problem is one way the installation disagrees with its database.
type Problem struct {
	Subject string // what is wrong, as a path relative to the data directory
	Detail  string
}

// String is the problem as `cheeseshop check` prints it: "subject: detail".
func (p Problem) String() string { return p.Subject + ": " + p.Detail }

// CheckReport counts what Check looked at and found.
type CheckReport struct {
	Files    int // file rows checked
	Pages    int // project pages checked (HTML and JSON count as one)
	Problems int
}

// Check verifies that every file row has its file under DATA/packages with
// the recorded size and sha256, and its PEP 658 .metadata with the recorded
// sha256; that every project's pages are byte for byte what the database
// renders now; that no page directory belongs to a project that does not
// exist; and that the root page lists exactly the database's projects. It
// calls report for each problem (from one goroutine at a time) and
// returns the counts; its error means it could not finish.
//
// The root page's serials are not compared: the root is rewritten when a
// project is created, not when one changes, so its per-project
// _last-serial values trail the database by design.
//
// It is safe while servers run: pages are compared under the project's
// lock, and a page found behind is looked at again after Settle.
func Check(ctx context.Context, cfg CheckConfig, store CheckStore, render Renderer, report func(Problem)) (CheckReport, error) {
	cfg.Workers = cmp.Or(cfg.Workers, 4)
	cfg.Settle = cmp.Or(cfg.Settle, 2*time.Second)
	c := &checker{cfg: cfg, dir: datadir.New(cfg.DataDir), store: store, render: render, report: report}
	if err := c.files(ctx); err != nil {
		return c.rep, err
	}
	if err := c.pages(ctx); err != nil {
		return c.rep, err
	}
	if err := c.root(ctx); err != nil {
		return c.rep, err
	}
	return c.rep, nil
}

type checker struct {
	cfg    CheckConfig
	dir    datadir.Dir
	store  CheckStore
	render Renderer
	mu     sync.Mutex
	rep    CheckReport
	report func(Problem)
}

func (c *checker) problem(subject, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rep.Problems++
	c.report(Problem{Subject: subject, Detail: fmt.Sprintf(format, args...)})
}

func (c *checker) files(ctx context.Context) error {
	work := make(chan index.File)
	var wg sync.WaitGroup
	for range c.cfg.Workers {
		wg.Go(func() {
			for f := range work {
				c.file(f)
			}
		})
	}
	err := c.store.ForEachFile(ctx, 1000, func(files []index.File) error {
		for _, f := range files {
			select {
			case work <- f:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		c.mu.Lock()
		c.rep.Files += len(files)
		c.mu.Unlock()
		return nil
	})
	close(work)
	wg.Wait()
	return err
}

// file checks one row's file and metadata sidecar.
func (c *checker) file(f index.File) {
	rel := datadir.PackageRel(f.Path)
	path := c.dir.Package(f.Path)
	if !index.ServableFilename(f.Filename) {
		// Uploads refuse such names now; an older server let some in.
		c.problem(rel, "unservable: file row %d's name %s is one the file server refuses to serve, so it cannot be downloaded", f.ID, index.Repr(f.Filename))
	}
	size, sum, err := c.digest(path)
	if errors.Is(err, fs.ErrNotExist) {
		// A quarantined project's files (PEP 792) wait in quarantine/
		// until its status changes; check that copy instead.
		if qs, qsum, qerr := c.digest(c.dir.Quarantined(f.Path)); qerr == nil {
			path, size, sum, err = c.dir.Quarantined(f.Path), qs, qsum, nil
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.problem(rel, "missing: file row %d (%s) has no file on disk", f.ID, f.Filename)
	case err != nil:
		c.problem(rel, "unreadable: %v", err)
	case size != f.Size:
		c.problem(rel, "size %d, the database records %d", size, f.Size)
	case !c.cfg.SkipHashes && sum != f.SHA256:
		c.problem(rel, "sha256 %s, the database records %s", sum, f.SHA256)
	}
	if f.MetadataSHA256 == "" {
		return
	}
	b, err := os.ReadFile(path + datadir.MetadataSuffix)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.problem(rel+datadir.MetadataSuffix, "missing: the database records PEP 658 metadata for %s", f.Filename)
	case err != nil:
		c.problem(rel+datadir.MetadataSuffix, "unreadable: %v", err)
	default:
		if s := sha256.Sum256(b); hex.EncodeToString(s[:]) != f.MetadataSHA256 {
			c.problem(rel+datadir.MetadataSuffix, "sha256 %x, the database records %s", s, f.MetadataSHA256)
		}
	}
}

func (c *checker) digest(path string) (int64, string, error) {
	fh, err := datadir.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer fh.Close()
	if c.cfg.SkipHashes {
		fi, err := fh.Stat()
		if err != nil {
			return 0, "", err
		}
		return fi.Size(), "", nil
	}
	h := sha256.New()
	n, err := io.Copy(h, fh)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// pageDiff is one project whose pages differ from the database's rendering.
type pageDiff struct {
	name   index.Normalized
	detail string
}

func (c *checker) pages(ctx context.Context) error {
	names, err := c.store.ProjectNames(ctx)
	if err != nil {
		return err
	}
	var (
		diffs []pageDiff
		next  atomic.Int64
		errs  = make([]error, c.cfg.Workers)
		wg    sync.WaitGroup
	)
	// Each comparison holds a database connection for a moment: the
	// workers keep the pool and both cores busy.
	for w := range c.cfg.Workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(names) {
					return
				}
				d, err := c.comparePages(ctx, names[i])
				if err != nil {
					errs[w] = err
					return
				}
				c.mu.Lock()
				c.rep.Pages++
				if d != "" {
					diffs = append(diffs, pageDiff{names[i], d})
				}
				c.mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return err
	}
	slices.SortFunc(diffs, func(a, b pageDiff) int { return strings.Compare(string(a.name), string(b.name)) })
	if len(diffs) > 0 {
		select {
		case <-time.After(c.cfg.Settle):
		case <-ctx.Done():
			return ctx.Err()
		}
		for _, d := range diffs {
			again, err := c.comparePages(ctx, d.name)
			if err != nil {
				return err
			}
			if again != "" {
				c.problem(datadir.SimpleRel(string(d.name)), "%s", again)
			}
		}
	}
	return c.strayPageDirs(names)
}

// comparePages renders a project's pages from the database under its lock
// and compares them with the files; it returns "" when they are equal.
func (c *checker) comparePages(ctx context.Context, name index.Normalized) (string, error) {
	var detail string
	err := c.store.InspectProject(ctx, name, func(st index.ProjectState) error {
		var msgs []string
		for _, p := range [...]datadir.Page{datadir.HTML, datadir.JSON} {
			var want bytes.Buffer
			c.render.Project(&want, p, st)
			got, err := os.ReadFile(c.dir.ProjectPage(name, p))
			switch {
			case errors.Is(err, fs.ErrNotExist):
				msgs = append(msgs, p.Name()+" is missing")
			case err != nil:
				msgs = append(msgs, fmt.Sprintf("%s is unreadable: %v", p.Name(), err))
			case !bytes.Equal(got, want.Bytes()):
				msgs = append(msgs, fmt.Sprintf("%s differs from the database's rendering at serial %d", p.Name(), st.Project.LastSerial))
			}
		}
		if pr, ok := c.render.(PeopleRenderer); ok {
			people, err := c.comparePeople(ctx, pr, name, st)
			if err != nil {
				return err
			}
			msgs = append(msgs, people...)
		}
		detail = strings.Join(msgs, "; ")
		return nil
	})
	if errors.Is(err, index.ErrNotFound) {
		return "", nil // deleted meanwhile; strayPageDirs sees its directory
	}
	return detail, err
}

// comparePeople compares a project's pages for people with what pr renders
// from st: the project page, every release's page, and no page of a
// release the project no longer has.
func (c *checker) comparePeople(ctx context.Context, pr PeopleRenderer, name index.Normalized, st index.ProjectState) ([]string, error) {
	project, releases, err := pr.People(ctx, st)
	if err != nil {
		return nil, err
	}
	var msgs []string
	compare := func(what, path string, want []byte) {
		got, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			msgs = append(msgs, what+" is missing")
		case err != nil:
			msgs = append(msgs, fmt.Sprintf("%s is unreadable: %v", what, err))
		case !bytes.Equal(got, want):
			msgs = append(msgs, fmt.Sprintf("%s differs from the database's rendering", what))
		}
	}
	compare("the project's page for people", c.dir.WebProjectPage(name), project)
	versions := slices.Sorted(maps.Keys(releases))
	for _, v := range versions {
		compare("the page for people of "+v, c.dir.WebReleasePage(name, v), releases[v])
	}
	entries, err := os.ReadDir(c.dir.WebProject(name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if n := e.Name(); e.IsDir() && !strings.HasPrefix(n, ".") && releases[n] == nil {
			msgs = append(msgs, "a page for people of "+n+", which the project does not have")
		}
	}
	return msgs, nil
}

// strayPageDirs reports page directories of projects the database does not
// have. names is in byte order, as os.ReadDir lists.
func (c *checker) strayPageDirs(names []index.Normalized) error {
	entries, err := os.ReadDir(c.dir.Simple())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, found := slices.BinarySearch(names, index.Normalized(e.Name())); !found {
			c.problem(datadir.SimpleRel(e.Name()), "page directory of a project the database does not have")
		}
	}
	return nil
}

// rootJSON is the part of the PEP 691 root page Check reads back.
type rootJSON struct {
	Meta struct {
		LastSerial int64 `json:"_last-serial"`
	} `json:"meta"`
	Projects []struct {
		Name       string `json:"name"`
		LastSerial int64  `json:"_last-serial"`
	} `json:"projects"`
}

// root compares the root pages with the database's rendering, taking the
// serials from the pages themselves (see Check).
func (c *checker) root(ctx context.Context) error {
	return c.store.LockedRoot(ctx, func(st index.RootState) error {
		htmlRel, jsonRel := datadir.SimpleRel(datadir.HTMLName), datadir.SimpleRel(datadir.JSONName)
		html, err := os.ReadFile(c.dir.RootPage(datadir.HTML))
		if err != nil {
			c.problem(htmlRel, "unreadable: %v", err)
		} else if serial, ok := datadir.ParseSerial(datadir.HTML, html); !ok {
			c.problem(htmlRel, "records no serial")
		} else {
			hs := st
			hs.Serial = serial
			var want bytes.Buffer
			c.render.Root(&want, datadir.HTML, hs)
			if !bytes.Equal(html, want.Bytes()) {
				c.problem(htmlRel, "does not list the database's %d projects", len(st.Projects))
			}
		}
		js, err := os.ReadFile(c.dir.RootPage(datadir.JSON))
		if err != nil {
			c.problem(jsonRel, "unreadable: %v", err)
			return nil
		}
		var page rootJSON
		if err := json.Unmarshal(js, &page); err != nil {
			c.problem(jsonRel, "not a PEP 691 page: %v", err)
			return nil
		}
		serials := make(map[string]int64, len(page.Projects))
		for _, p := range page.Projects {
			serials[p.Name] = p.LastSerial
		}
		js2 := index.RootState{Serial: page.Meta.LastSerial, Projects: slices.Clone(st.Projects)}
		for i := range js2.Projects {
			p := &js2.Projects[i]
			if s, ok := serials[p.Name]; ok {
				if s > p.LastSerial {
					c.problem(jsonRel, "lists %s at serial %d, ahead of the database's %d", p.Name, s, p.LastSerial)
				}
				p.LastSerial = s
			}
		}
		var want bytes.Buffer
		c.render.Root(&want, datadir.JSON, js2)
		if !bytes.Equal(js, want.Bytes()) {
			c.problem(jsonRel, "does not list the database's %d projects", len(st.Projects))
		}
		return nil
	})
}
