package datadir

import (
	"path/filepath"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Page is one of the two representations of a simple page, each a file in
// the page's directory (DATA/simple for the root, DATA/simple/<name> for a
// project).
type Page uint8

const (
	HTML Page = iota // PEP 503 HTML, HTMLName
	JSON             // PEP 691 JSON, JSONName
)

// The page file names. index.v1_json is the name bandersnatch's nginx
// setups already use for the PEP 691 twin.
const (
	HTMLName = "index.html"
	JSONName = "index.v1_json"
)

// Pages lists both representations, JSON first: the order page writers
// and syncers go through them.
var Pages = [2]Page{JSON, HTML}

// Name is the page's file name.
func (p Page) Name() string {
	if p == JSON {
		return JSONName
	}
	return HTMLName
}

// PageOf reports which page a file name in a page directory is.
func PageOf(name string) (Page, bool) {
	switch name {
	case HTMLName:
		return HTML, true
	case JSONName:
		return JSON, true
	}
	return 0, false
}

// PageFile is the page p in the page directory dir.
func PageFile(dir string, p Page) string { return filepath.Join(dir, p.Name()) }

// RootPage is the root page p, DATA/simple/<p's name>.
func (d Dir) RootPage(p Page) string { return filepath.Join(d.root, SimpleDir, p.Name()) }

// ProjectPage is the project page p, DATA/simple/<name>/<p's name>.
func (d Dir) ProjectPage(name index.Normalized, p Page) string {
	return filepath.Join(d.root, SimpleDir, string(name), p.Name())
}

// SyncPages makes both pages in the page directory dir (a project's, or
// DATA/simple for the root) and their entries durable: it fsyncs the two
// files and then dir. It is the second half of a page rewrite whose syncs
// were deferred (see Replace).
func SyncPages(dir string) error {
	for _, p := range Pages {
		if err := SyncFile(PageFile(dir, p)); err != nil {
			return err
		}
	}
	return SyncDir(dir)
}
