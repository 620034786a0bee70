package webpage_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/webpage"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func fixture() (index.ProjectState, map[int64]index.ReleaseDetail) {
	t0 := time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)
	st := index.ProjectState{
		Project: index.Project{ID: 1, Name: "Cheese_Shop", Normalized: "cheese-shop", LastSerial: 42},
		Releases: []index.Release{
			{ID: 1, Version: "1.0", CreatedAt: t0, Serial: 10},
			{ID: 2, Version: "1.1", CreatedAt: t0.Add(24 * time.Hour), Yanked: true, YankedReason: "broken <wheel>", Serial: 30},
			{ID: 3, Version: "2.0b1", CreatedAt: t0.Add(48 * time.Hour), Serial: 40},
		},
		Files: []index.File{
			{ID: 1, ReleaseID: 1, Filename: "cheese_shop-1.0-py3-none-any.whl", Size: 12345, SHA256: strings.Repeat("ab", 32),
				UploadTime: t0, Path: "ab/cd/ef/cheese_shop-1.0-py3-none-any.whl", MetadataSHA256: strings.Repeat("cd", 32)},
			{ID: 2, ReleaseID: 1, Filename: "cheese_shop-1.0.tar.gz", Size: 2 << 20, SHA256: strings.Repeat("ef", 32),
				UploadTime: t0.Add(time.Minute), Path: "12/34/56/cheese_shop-1.0.tar.gz"},
		},
	}
	d := map[int64]index.ReleaseDetail{
		1: {ID: 1, Readme: `<h1 id="cheese">Cheese</h1><pre><code class="language-python">import cheese</code></pre>`,
			Metadata: index.Metadata{Summary: "Sells <cheese>", RequiresPython: ">=3.9", LicenseExpression: "MIT",
				Author: "Ann", AuthorEmail: "ann@example.com", Classifiers: []string{"Programming Language :: Python :: 3"},
				ProjectURLs: []index.ProjectURL{{Label: "Bug Tracker", URL: "https://example.com/issues"},
					{Label: "Evil", URL: "javascript:alert(1)"}, {Label: "repository", URL: "https://example.com/src"}}}},
		3: {ID: 3, Metadata: index.Metadata{Summary: "Beta"}},
	}
	return st, d
}

// Every page is its own <main> element in the one layout (head, header
// with the search box, footer). The layout is checked once against
// testdata/layout.html, with each page's title and search box value in
// place of TITLE and QUERY and its <main> in place of MAIN, so that a change
// to the layout touches one golden; each page's <main> is checked against
// testdata/<page>.main.html.
func TestGolden(t *testing.T) {
	st, d := fixture()
	o := webpage.Sorted(st)
	if o.Latest < 0 || o.Releases[o.Latest].Version != "1.0" || !o.Pre[0] || o.Pre[o.Latest] {
		t.Fatalf("latest %d of %v (pre %v), want 1.0 (2.0b1 is a pre-release, 1.1 is yanked)", o.Latest, o.Releases, o.Pre)
	}
	pages := []struct {
		name   string
		title  string // as escaped in the page
		query  string // the search box's value, as escaped in the page
		render func(*bytes.Buffer)
	}{
		{"home", "cheeseshop · Python package index", "", func(b *bytes.Buffer) {
			webpage.RenderHome(b, webpage.Home{BaseURL: "https://pypi.example.com/", Projects: 2, Files: 5,
				Recent: []index.Project{{Name: "Cheese_Shop", Normalized: "cheese-shop"}}})
		}},
		{"project", "Cheese_Shop · cheeseshop", "", func(b *bytes.Buffer) { webpage.RenderProject(b, st, o, d) }},
		{"release", "Cheese_Shop 2.0b1 · cheeseshop", "", func(b *bytes.Buffer) { webpage.RenderRelease(b, st, o.Releases[0], d[3]) }},
		{"search", "che&lt;ese · Search · cheeseshop", "che&lt;ese", func(b *bytes.Buffer) {
			webpage.RenderSearch(b, webpage.Search{Query: "che<ese", Total: 30, Page: 2, Next: 3,
				Results: []webpage.Result{{Name: "Cheese_Shop", Normalized: "cheese-shop", Version: "1.0", Summary: "Sells <cheese>"}}})
		}},
		{"notfound", "Not found · cheeseshop", "", func(b *bytes.Buffer) { webpage.RenderNotFound(b) }},
	}
	layoutGolden := filepath.Join("testdata", "layout.html")
	for i, p := range pages {
		var b bytes.Buffer
		p.render(&b)
		page := b.String()
		for _, bad := range []string{"<script", "javascript:", " style=", "<cheese>", "<wheel>"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s contains %q", p.name, bad)
			}
		}
		layout, main, ok := splitPage(page, p.title, p.query)
		if !ok {
			t.Errorf("%s: no single <main> element, title %q and search box value %q:\n%s", p.name, p.title, p.query, page)
			continue
		}
		if *update && i == 0 {
			writeGolden(t, layoutGolden, layout)
		}
		checkGolden(t, p.name+" without its <main>, title and query", layoutGolden, layout)
		golden := filepath.Join("testdata", p.name+".main.html")
		if *update {
			writeGolden(t, golden, main)
		}
		checkGolden(t, p.name+"'s <main>", golden, main)
	}
}

// splitPage cuts page into its layout, with TITLE, QUERY and MAIN standing
// for the page's own title, search box value and <main> element, and that
// <main> element. ok is false unless each of them is there exactly once.
func splitPage(page, title, query string) (layout, main string, ok bool) {
	const endMain = "</main>\n"
	i, j := strings.Index(page, "<main"), strings.Index(page, endMain)
	titleEl, queryAttr := "<title>"+title+"</title>", `value="`+query+`"`
	if i < 0 || j < i || strings.Count(page, "<main") != 1 || strings.Count(page, endMain) != 1 ||
		strings.Count(page, titleEl) != 1 || strings.Count(page, queryAttr) != 1 {
		return "", "", false
	}
	j += len(endMain)
	layout = page[:i] + "MAIN\n" + page[j:]
	layout = strings.Replace(layout, titleEl, "<title>TITLE</title>", 1)
	layout = strings.Replace(layout, queryAttr, `value="QUERY"`, 1)
	return layout, page[i:j], true
}

func writeGolden(t *testing.T, path, got string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
		t.Fatal(err)
	}
}

func checkGolden(t *testing.T, what, path, got string) {
	t.Helper()
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (run with -update):\n%s", what, path, got)
	}
}

func TestPageContent(t *testing.T) {
	st, d := fixture()
	o := webpage.Sorted(st)
	var b bytes.Buffer
	webpage.RenderProject(&b, st, o, d)
	page := b.String()
	for _, want := range []string{
		"pip install Cheese_Shop==1.0",
		`<code class="language-python">import cheese</code>`,
		">Issue tracker</a>", ">Source</a>",
		"cheese_shop-1.0-py3-none-any.whl.metadata",
		"12 kB", "2.0 MB", "2025-03-01 12:30:00",
		`<span class="badge yanked">yanked</span> <span class="muted">broken &lt;wheel&gt;</span>`,
		`2.0b1</a> <span class="muted">2025-03-03</span> <span class="badge">pre-release</span>`,
		"Requires Python", "&gt;=3.9", "MIT", "Ann &lt;ann@example.com&gt;",
		`href="/project/cheese-shop/2.0b1/"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("project page lacks %q", want)
		}
	}
	if strings.Contains(page, "Evil") {
		t.Error("a javascript: project URL is shown")
	}
}

// A release page lists the newest releases and itself, and links the
// project page for the rest; the project page lists every release.
// The project page lists every release; a release page lists none (it is
// rewritten only when its release changes, so such a list would go stale)
// and links to the project page.
func TestReleaseHistoryOnProjectPageOnly(t *testing.T) {
	st := index.ProjectState{Project: index.Project{ID: 1, Name: "many", Normalized: "many"}}
	for i := 1; i <= 50; i++ {
		st.Releases = append(st.Releases, index.Release{ID: int64(i), Version: fmt.Sprintf("1.%d", i)})
	}
	o := webpage.Sorted(st)
	count := func(page string) int { return strings.Count(page, `<li><a href="/project/many/`) }

	var b bytes.Buffer
	webpage.RenderProject(&b, st, o, nil)
	if n := count(b.String()); n != 50 || !strings.Contains(b.String(), "Release history") {
		t.Errorf("project page lists %d releases, want 50 under its history", n)
	}
	for _, r := range []index.Release{o.Releases[0], o.Releases[len(o.Releases)-1]} {
		b.Reset()
		webpage.RenderRelease(&b, st, r, index.ReleaseDetail{})
		page := b.String()
		if n := count(page); n != 0 || strings.Contains(page, "Release history") {
			t.Errorf("release page of %s lists %d releases, want none", r.Version, n)
		}
		if !strings.Contains(page, `<a href="/project/many/">All versions of many</a>`) {
			t.Errorf("release page of %s misses the link to all versions:\n%s", r.Version, page)
		}
	}
}
