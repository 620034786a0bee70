package datadir

import (
	"path/filepath"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// The pages for people, under WebDir: a tree laid out as the URLs are, so
// nginx and Apache serve it with `root DATA/web` while the app is down.
const (
	WebDir        = "web"       // the pages for people, derived from the database
	WebProjectDir = "project"   // DATA/web/project/<name>/[<version>/]index.html
	WebStaticDir  = "static"    // DATA/web/static/<file>: the stylesheet
	StyleName     = "style.css" // the one stylesheet
	NotFoundName  = "404.html"  // the page for people of an unknown project or version
	WebPageName   = HTMLName    // each page's file in its directory
)

// Web is DATA/web.
func (d Dir) Web() string { return filepath.Join(d.root, WebDir) }

// WebHome is the home page, DATA/web/index.html.
func (d Dir) WebHome() string { return filepath.Join(d.root, WebDir, WebPageName) }

// WebNotFound is DATA/web/404.html.
func (d Dir) WebNotFound() string { return filepath.Join(d.root, WebDir, NotFoundName) }

// WebStatic is DATA/web/static.
func (d Dir) WebStatic() string { return filepath.Join(d.root, WebDir, WebStaticDir) }

// WebStyle is the stylesheet, DATA/web/static/style.css.
func (d Dir) WebStyle() string { return filepath.Join(d.root, WebDir, WebStaticDir, StyleName) }

// WebProjects is DATA/web/project.
func (d Dir) WebProjects() string { return filepath.Join(d.root, WebDir, WebProjectDir) }

// WebProject is the directory of a project's pages for people.
func (d Dir) WebProject(name index.Normalized) string {
	return filepath.Join(d.root, WebDir, WebProjectDir, string(name))
}

// WebProjectPage is a project's page for people.
func (d Dir) WebProjectPage(name index.Normalized) string {
	return filepath.Join(d.root, WebDir, WebProjectDir, string(name), WebPageName)
}

// WebRelease is the directory of one release's page; version is the
// release's normalised version (index.Version.String()), which ValidVersionDir
// must accept.
func (d Dir) WebRelease(name index.Normalized, version string) string {
	return filepath.Join(d.root, WebDir, WebProjectDir, string(name), version)
}

// WebReleasePage is one release's page for people.
func (d Dir) WebReleasePage(name index.Normalized, version string) string {
	return filepath.Join(d.root, WebDir, WebProjectDir, string(name), version, WebPageName)
}

// ValidVersionDir reports whether a normalised version can name a
// directory: PEP 440's normal form has only [0-9a-z.!+], never a slash
// or a leading dot.
func ValidVersionDir(v string) bool {
	if v == "" || len(v) > 200 || strings.HasPrefix(v, ".") {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '!' || c == '+') {
			return false
		}
	}
	return true
}

// WebRel is a path below DATA/web as relative to the data directory, the
// way problems and logs name a page.
func WebRel(elem ...string) string {
	return filepath.Join(append([]string{WebDir}, elem...)...)
}
