package webpage

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

//go:embed templates
var templateFS embed.FS

// Stylesheet is the one stylesheet every page links, served at
// /static/style.css.
var Stylesheet = mustRead("templates/style.css")

func mustRead(name string) []byte {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

var pages = func() map[string]*template.Template {
	base := template.Must(template.ParseFS(templateFS, "templates/layout.html"))
	m := make(map[string]*template.Template)
	for _, name := range []string{"home", "project", "search", "notfound"} {
		m[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	return m
}()

// SiteName is the name pages show for the index.
const SiteName = "cheeseshop"

// layout is what every page's frame shows.
type layout struct {
	Title    string
	SiteName string
	Query    string
}

func render(buf *bytes.Buffer, page string, data any) {
	if err := pages[page].ExecuteTemplate(buf, "layout", data); err != nil {
		// The templates are fixed and their data plain values: a failure
		// is a bug in this package.
		panic(fmt.Sprintf("webpage: render %s: %v", page, err))
	}
}

// Link is one project URL with its label.
type Link struct {
	Label string
	URL   string
}

// FileRow is one file of a release.
type FileRow struct {
	Filename    string
	URL         string
	MetadataURL string
	Size        string
	Uploaded    string
	UploadedISO string
	SHA256      string
}

// ReleaseView is one release as a page shows it.
type ReleaseView struct {
	Version           string
	Summary           string
	Readme            template.HTML
	Yanked            bool
	YankedReason      string
	Pre               bool
	RequiresPython    string
	License           string
	LicenseExpression string
	Author            string
	Maintainer        string
	Classifiers       []string
	URLs              []Link
	Files             []FileRow
}

// HistoryRow is one release in a project's history.
type HistoryRow struct {
	Version      string
	Date         string
	Pre          bool
	Yanked       bool
	YankedReason string
}

type projectPage struct {
	layout
	Name       string
	Normalized string
	IsRelease  bool
	Newest     string
	Release    *ReleaseView
	// History is the project page's list of every release; a release page
	// has none. A release page is rewritten only when its release changes,
	// so a list of the project's releases on it would miss every release
	// made after it; it links to the project page instead.
	History []HistoryRow
	// HistoryHTML is History rendered (historyHTML).
	HistoryHTML template.HTML
}

// Project is what a project's or a release's page is built from.
type Project struct {
	State   index.ProjectState
	Details map[int64]index.ReleaseDetail // of Latest, and of the release when rendering its page
}

// Ordered is a project's releases as its pages show them (Sorted).
type Ordered struct {
	Releases []index.Release // newest first
	Pre      []bool          // Releases[i] is a pre-release
	Latest   int             // the release the project page shows; -1 for none
}

// Sorted returns the project's releases newest first by PEP 440 order,
// with the release a project page shows first: the newest final release
// that is not yanked, else the newest not yanked, else the newest.
// Releases whose version does not parse come last, by string. Each version
// is parsed once, here.
func Sorted(st index.ProjectState) Ordered {
	// Sorted by index: a Release, metadata and all, is too large to move
	// around in a sort.
	type rv struct {
		i  int
		v  index.Version
		ok bool
	}
	rs := make([]rv, len(st.Releases))
	for i, r := range st.Releases {
		v, err := index.ParseVersion(r.Version)
		rs[i] = rv{i, v, err == nil}
	}
	slices.SortFunc(rs, func(a, b rv) int {
		switch {
		case a.ok && b.ok:
			if c := b.v.Compare(a.v); c != 0 {
				return c
			}
		case a.ok:
			return -1
		case b.ok:
			return 1
		}
		return strings.Compare(st.Releases[b.i].Version, st.Releases[a.i].Version)
	})
	o := Ordered{Releases: make([]index.Release, len(rs)), Pre: make([]bool, len(rs)), Latest: -1}
	for k, r := range rs {
		o.Releases[k] = st.Releases[r.i]
		o.Pre[k] = r.ok && r.v.IsPrerelease()
	}
	for k, r := range rs {
		if !o.Releases[k].Yanked && r.ok && !o.Pre[k] {
			o.Latest = k
			return o
		}
	}
	for k := range rs {
		if !o.Releases[k].Yanked {
			o.Latest = k
			return o
		}
	}
	if len(rs) > 0 {
		o.Latest = 0
	}
	return o
}

// RenderProject appends the page of a project to buf, showing the release
// o.Latest (none when it is -1) with its details from d.
func RenderProject(buf *bytes.Buffer, st index.ProjectState, o Ordered, d map[int64]index.ReleaseDetail) {
	p := projectPage{
		layout:     layout{Title: displayName(st) + " · " + SiteName, SiteName: SiteName},
		Name:       displayName(st),
		Normalized: string(st.Project.Normalized),
	}
	if len(o.Releases) > 0 {
		p.Newest = o.Releases[0].Version
	}
	if o.Latest >= 0 {
		r := o.Releases[o.Latest]
		p.Release = releaseView(st, r, d[r.ID])
	}
	p.History = history(o)
	p.HistoryHTML = historyHTML(p.Normalized, p.History)
	render(buf, "project", p)
}

// RenderRelease appends the page of release r of a project to buf: what
// depends on the release alone (and the project's name), so that the page
// stays true until the release changes.
func RenderRelease(buf *bytes.Buffer, st index.ProjectState, r index.Release, d index.ReleaseDetail) {
	p := projectPage{
		layout:     layout{Title: displayName(st) + " " + r.Version + " · " + SiteName, SiteName: SiteName},
		Name:       displayName(st),
		Normalized: string(st.Project.Normalized),
		IsRelease:  true,
		Release:    releaseView(st, r, d),
	}
	render(buf, "project", p)
}

func displayName(st index.ProjectState) string {
	if st.Project.Name != "" {
		return st.Project.Name
	}
	return string(st.Project.Normalized)
}

func history(o Ordered) []HistoryRow {
	out := make([]HistoryRow, len(o.Releases))
	for i, r := range o.Releases {
		out[i] = HistoryRow{Version: r.Version, Date: day(r.CreatedAt), Pre: o.Pre[i],
			Yanked: r.Yanked, YankedReason: r.YankedReason}
	}
	return out
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

func releaseView(st index.ProjectState, r index.Release, d index.ReleaseDetail) *ReleaseView {
	md := d.Metadata
	v, err := index.ParseVersion(r.Version)
	rv := &ReleaseView{
		Version:           r.Version,
		Summary:           md.Summary,
		Readme:            template.HTML(d.Readme), // sanitised by internal/readme when stored
		Yanked:            r.Yanked,
		YankedReason:      r.YankedReason,
		Pre:               err == nil && v.IsPrerelease(),
		RequiresPython:    md.RequiresPython,
		License:           firstLine(md.License),
		LicenseExpression: md.LicenseExpression,
		Author:            person(md.Author, md.AuthorEmail),
		Maintainer:        person(md.Maintainer, md.MaintainerEmail),
		Classifiers:       md.Classifiers,
		URLs:              links(md),
	}
	var files []index.File
	for _, f := range st.Files {
		if f.ReleaseID == r.ID {
			files = append(files, f)
		}
	}
	slices.SortFunc(files, func(a, b index.File) int { return strings.Compare(a.Filename, b.Filename) })
	for i := range files {
		f := &files[i]
		url := string(index.AppendFileURL(nil, "/packages/", f))
		row := FileRow{Filename: f.Filename, URL: url, Size: size(f.Size), SHA256: f.SHA256,
			Uploaded: f.UploadTime.UTC().Format("2006-01-02 15:04:05"), UploadedISO: f.UploadTime.UTC().Format(time.RFC3339)}
		if f.MetadataSHA256 != "" {
			row.MetadataURL = url + ".metadata"
		}
		rv.Files = append(rv.Files, row)
	}
	return rv
}

// firstLine keeps long license texts (some put the whole license in the
// field) to their first line.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i]) + " …"
	}
	return s
}

func person(name, email string) string {
	switch {
	case name != "" && email != "":
		return name + " <" + email + ">"
	case name != "":
		return name
	}
	return email
}

// links lists the release's URLs with PEP 753's well-known labels: a
// label is normalised (punctuation and whitespace removed, lower case) and
// the well-known ones are shown by their canonical names. Only http and
// https URLs are links.
func links(md index.Metadata) []Link {
	var out []Link
	add := func(label, url string) {
		u := strings.TrimSpace(url)
		lu := strings.ToLower(u)
		if !strings.HasPrefix(lu, "https://") && !strings.HasPrefix(lu, "http://") {
			return
		}
		out = append(out, Link{Label: wellKnown(label), URL: u})
	}
	if md.HomePage != "" && !strings.EqualFold(md.HomePage, "UNKNOWN") {
		add("Homepage", md.HomePage)
	}
	if md.DownloadURL != "" && !strings.EqualFold(md.DownloadURL, "UNKNOWN") {
		add("Download", md.DownloadURL)
	}
	for _, u := range md.ProjectURLs {
		add(u.Label, u.URL)
	}
	return out
}

// wellKnown maps a label to PEP 753's canonical name for it when it is a
// well-known one, and leaves it as written otherwise.
func wellKnown(label string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(label) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	switch b.String() {
	case "homepage":
		return "Homepage"
	case "source", "repository", "sourcecode", "github":
		return "Source"
	case "download":
		return "Download"
	case "changelog", "changes", "whatsnew", "history":
		return "Changelog"
	case "releasenotes":
		return "Release notes"
	case "documentation", "docs":
		return "Documentation"
	case "issues", "bugs", "issue", "tracker", "issuetracker", "bugtracker":
		return "Issue tracker"
	case "funding", "sponsor", "donate", "donation":
		return "Funding"
	}
	return strings.TrimSpace(label)
}

func size(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%d kB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Home is what the home page shows.
type Home struct {
	BaseURL  string // the index's public URL without a trailing slash; "" shows a placeholder
	Projects int
	Files    int64
	Recent   []index.Project // newest change first
}

type homePage struct {
	layout
	Index, Upload, IndexName string
	Projects                 int
	Files                    int64
	Recent                   []index.Project
}

// RenderHome appends the home page to buf.
func RenderHome(buf *bytes.Buffer, h Home) {
	base := strings.TrimRight(h.BaseURL, "/")
	if base == "" {
		base = "https://HOST"
	}
	render(buf, "home", homePage{
		layout: layout{Title: SiteName + " · Python package index", SiteName: SiteName},
		Index:  base + "/simple/", Upload: base + "/legacy/", IndexName: "private",
		Projects: h.Projects, Files: h.Files, Recent: h.Recent,
	})
}

// RenderNotFound appends the page for an unknown project or release.
func RenderNotFound(buf *bytes.Buffer) {
	render(buf, "notfound", layout{Title: "Not found · " + SiteName, SiteName: SiteName})
}

// Result is one project found by a search.
type Result struct {
	Name       string
	Normalized string
	Version    string
	Summary    string
}

// Search is what the search page shows.
type Search struct {
	Query      string
	Results    []Result
	Total      int
	Page, Next int // Next is 0 on the last page
}

type searchPage struct {
	layout
	Query      string
	Results    []Result
	Total      int
	Prev, Next int
}

// RenderSearch appends the search page to buf.
func RenderSearch(buf *bytes.Buffer, s Search) {
	p := searchPage{layout: layout{Title: "Search · " + SiteName, SiteName: SiteName, Query: s.Query},
		Query: s.Query, Results: s.Results, Total: s.Total, Next: s.Next}
	if s.Page > 1 {
		p.Prev = s.Page - 1
	}
	if s.Query != "" {
		p.Title = s.Query + " · Search · " + SiteName
	}
	render(buf, "search", p)
}
