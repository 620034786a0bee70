package staticgen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Fixed inputs for the golden tests. Files and releases are deliberately out
// of order so the golden output shows the sorting.

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)

func hex64(c byte) string { return strings.Repeat(string(c), 64) }

// blakePath is the content-addressed packages/ path of a file (PyPI layout).
func blakePath(seed byte, filename string) string {
	h := hex64(seed)
	return h[:2] + "/" + h[2:4] + "/" + h[4:] + "/" + filename
}

type projectCase struct {
	name string
	st   index.ProjectState
	like *variant // nil: the HTML page has a golden file of its own
}

// variant says exactly how a case's HTML page differs from the page of the
// case it renders like, which has a golden file: so the status variants
// and the empty pages are checked byte for byte without a whole-page golden
// each, and a change to the shared parts of the pages touches one golden.
type variant struct {
	like  string   // the case with the golden
	edits []string // old, new pairs, each old found in that case's page
	// noLinks: the page lists none of the links (one "    <a " line each)
	// of that case's page.
	noLinks bool
}

// statusMeta is the PEP 792 head of a project page, reason as escaped there.
func statusMeta(status, reason string) string {
	m := `    <meta name="pypi:project-status" content="` + status + `">` + "\n"
	if reason != "" {
		m += `    <meta name="pypi:project-status-reason" content="` + reason + `">` + "\n"
	}
	return m
}

func projectCases() []projectCase {
	active := statusMeta("active", "")
	return []projectCase{
		{"project-full", fullProject(), nil},
		{"project-escaping", escapingProject(), nil},
		{"project-bare", index.ProjectState{
			Project: index.Project{ID: 4, Name: "bare", Normalized: "bare", LastSerial: 1},
		}, nil},
		// A release without files lists no link.
		{"project-registered", index.ProjectState{
			Project:  index.Project{ID: 3, Name: "Only.Registered", Normalized: "only-registered", LastSerial: 5},
			Releases: []index.Release{{ID: 30, ProjectID: 3, Version: "1.0", Canonical: "1"}},
		}, &variant{like: "project-bare", edits: []string{
			"<title>Links for bare</title>", "<title>Links for Only.Registered</title>",
			"<h1>Links for bare</h1>", "<h1>Links for Only.Registered</h1>",
			"<!--SERIAL 1-->", "<!--SERIAL 5-->",
		}}},
		// PEP 792: every status with a reason that needs escaping; the
		// quarantined page keeps its versions and lists no file.
		{"project-archived", withStatus(fullProject(), index.StatusArchived, `Moved to "foo-baz" <for good> & more`),
			&variant{like: "project-full", edits: []string{active, statusMeta("archived", "Moved to &#34;foo-baz&#34; &lt;for good&gt; &amp; more")}}},
		{"project-deprecated", withStatus(fullProject(), index.StatusDeprecated, ""),
			&variant{like: "project-full", edits: []string{active, statusMeta("deprecated", "")}}},
		{"project-quarantined", withStatus(fullProject(), index.StatusQuarantined, "malware, see INC-7"),
			&variant{like: "project-full", edits: []string{active, statusMeta("quarantined", "malware, see INC-7")}, noLinks: true}},
	}
}

// withStatus returns st with its project's PEP 792 status and reason set.
func withStatus(st index.ProjectState, s index.Status, reason string) index.ProjectState {
	st.Project.Status, st.Project.StatusReason = s, reason
	return st
}

// fullProject covers PEP 440 ordering (1.9 < 1.10, rc before final), a
// release yanked with a reason and one without, requires-python with '<', a
// wheel with PEP 658 metadata and sdists without, a CDN file and a release
// with no files.
func fullProject() index.ProjectState {
	p := index.Project{ID: 1, Name: "Foo_Bar", Normalized: "foo-bar", LastSerial: 40}
	rel := func(id int64, v string, yanked bool, reason string) index.Release {
		return index.Release{ID: id, ProjectID: 1, Version: v, Canonical: v, Yanked: yanked, YankedReason: reason,
			Metadata: index.Metadata{Name: "Foo_Bar", Version: v, Summary: "Café au lait"}}
	}
	file := func(id, rel int64, seed byte, filename string, size int64) index.File {
		f := index.File{ID: id, ReleaseID: rel, ProjectID: 1, Filename: filename, Size: size,
			SHA256: hex64(seed), Blake2b256: hex64(seed + 1), UploadTime: t0.Add(time.Duration(id) * time.Hour),
			Path: blakePath(seed+1, filename), Type: index.Sdist, PythonVersion: "source"}
		if strings.HasSuffix(filename, ".whl") {
			f.Type, f.PythonVersion = index.Wheel, "py3"
			f.MetadataSHA256 = hex64(seed + 2)
		}
		return f
	}
	st := index.ProjectState{
		Project: p,
		Releases: []index.Release{
			rel(13, "1.10", false, ""),
			rel(11, "1.0", false, ""),
			rel(10, "0.9", true, "broken build"),
			rel(15, "2.0rc1", false, ""), // registered, no files
			rel(12, "1.1", true, ""),
			rel(14, "1.9", false, ""),
		},
	}
	whl := file(2, 11, 'a', "foo_bar-1.0-py3-none-any.whl", 1221)
	whl.RequiresPython = ">=3.8,<4"
	sdist := file(1, 11, 'c', "foo_bar-1.0.tar.gz", 985)
	sdist.RequiresPython = ">=3.8,<4"
	old := file(3, 10, 'e', "foo_bar-0.9.tar.gz", 800)
	old.CDNURL = "https://cdn.example.net/packages/" + old.Path
	old.UploadTime = time.Date(2024, 12, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600)) // rendered in UTC
	yanked := file(4, 12, '1', "foo_bar-1.1-py3-none-any.whl", 1300)
	st.Files = []index.File{
		file(6, 13, '5', "foo_bar-1.10.tar.gz", 1000),
		sdist,
		yanked,
		old,
		file(5, 14, '3', "foo_bar-1.9.tar.gz", 990),
		whl,
	}
	return st
}

// escapingProject puts HTML and JSON metacharacters, control characters,
// invalid UTF-8 and U+2028 everywhere free text can reach a page.
func escapingProject() index.ProjectState {
	p := index.Project{ID: 2, Name: `Esc<&>"'`, Normalized: "esc", LastSerial: 9}
	st := index.ProjectState{
		Project: p,
		Releases: []index.Release{
			{ID: 21, ProjectID: 2, Version: "1!0.1", Yanked: true, YankedReason: "<script>alert(\"x\") & 'y'</script>\n\ttab\x01\b\f\\"},
			{ID: 20, ProjectID: 2, Version: "3.0", Yanked: true, YankedReason: "bad \xff byte, line\u2028sep, Café ☕"},
		},
		Files: []index.File{
			{ID: 7, ReleaseID: 21, ProjectID: 2, Filename: "esc-1!0.1.tar.gz", Size: 10, SHA256: hex64('7'),
				UploadTime: t0, RequiresPython: `>=3.8,!=3.9.*,<4 ; "quoted"`, Path: blakePath('8', "esc-1!0.1.tar.gz")},
			{ID: 8, ReleaseID: 20, ProjectID: 2, Filename: "esc-3.0-py3-none-any.whl", Size: 20, SHA256: hex64('9'),
				UploadTime: t0, MetadataSHA256: hex64('b'), Path: blakePath('a', "esc-3.0-py3-none-any.whl"),
				CDNURL: "https://cdn.example.net/p/esc-3.0-py3-none-any.whl?sig=a&exp=1"},
			{ID: 9, ReleaseID: 20, ProjectID: 2, Filename: "esc-3.0.tar.gz", Size: 30, SHA256: hex64('c'),
				UploadTime: t0, Path: "odd path/with#hash?and%/esc-3.0.tar.gz"},
		},
	}
	return st
}

type rootCase struct {
	name string
	st   index.RootState
	like *variant // nil: the HTML page has a golden file of its own
}

func rootCases() []rootCase {
	return []rootCase{
		{"root", index.RootState{Serial: 42, Projects: []index.Project{
			{Name: "spam", Normalized: "spam", LastSerial: 7},
			{Name: "Foo_Bar", Normalized: "foo-bar", LastSerial: 40},
			{Name: "Café", Normalized: index.Normalize("Café"), LastSerial: 41},
			{Name: "zope.interface", Normalized: "zope-interface", LastSerial: 12},
			{Name: "A<b>&c", Normalized: "a-b-c", LastSerial: 3},
			{Name: "0ad", Normalized: "0ad", LastSerial: 1},
		}}, nil},
		{"root-empty", index.RootState{}, &variant{like: "root", edits: []string{"<!--SERIAL 42-->", "<!--SERIAL 0-->"}, noLinks: true}},
	}
}

// bigProject returns a project with n files spread over n/4 releases, the
// shape of a project with wheels for several platforms per release.
func bigProject(n int) index.ProjectState {
	st := index.ProjectState{Project: index.Project{ID: 1, Name: "Big_Project", Normalized: "big-project", LastSerial: int64(n)}}
	nrel := max(n/4, 1)
	for i := range nrel {
		// Each release carries the serial of its last change, all at or
		// below the project's, as the store reads them.
		st.Releases = append(st.Releases, index.Release{ID: int64(i + 1), Version: fmt.Sprintf("%d.%d.%d", i/100, i/10%10, i%10),
			Yanked: i%50 == 7, YankedReason: "broken", Serial: int64(i + 1)})
	}
	tags := []string{"cp312-cp312-manylinux_2_17_x86_64.whl", "cp312-cp312-win_amd64.whl", "py3-none-any.whl"}
	for i := range n {
		r := &st.Releases[(i*7919)%nrel] // scattered, as rows come back by id
		// The build number keeps filenames unique, as they are in the index.
		name := fmt.Sprintf("big_project-%s-%d.tar.gz", r.Version, i)
		meta := ""
		if i%4 != 0 {
			name = fmt.Sprintf("big_project-%s-%d-%s", r.Version, i, tags[i%3])
			meta = hex64('d')
		}
		cdn := ""
		if i%2 == 0 {
			cdn = "https://cdn.example.net/packages/" + blakePath('f', name)
		}
		st.Files = append(st.Files, index.File{ID: int64(i + 1), ReleaseID: r.ID, Filename: name, Size: 123456,
			SHA256: hex64('e'), UploadTime: t0.Add(time.Duration(i) * time.Minute), RequiresPython: ">=3.9,<4",
			Path: blakePath('f', name), MetadataSHA256: meta, CDNURL: cdn})
	}
	return st
}

// bigRoot returns n projects in normalized (byte) order, as the store
// reads them, with PyPI-like names: common prefixes, mixed lengths.
func bigRoot(n int) index.RootState {
	prefixes := []string{"", "", "", "py", "django-", "pytest-", "types-", "flask-", "azure-mgmt-",
		"sphinxcontrib-", "odoo-addon-", "mypy-", "apache-airflow-providers-"}
	const letters = "abcdefghijklmnopqrstuvwxyz"
	rng := rand.New(rand.NewPCG(7, 11))
	st := index.RootState{Serial: int64(n) * 10}
	for i := range n {
		var b strings.Builder
		b.WriteString(prefixes[rng.IntN(len(prefixes))])
		for range 3 + rng.IntN(10) {
			b.WriteByte(letters[rng.IntN(len(letters))])
		}
		if rng.IntN(3) == 0 {
			b.WriteString("_Ext")
		}
		fmt.Fprintf(&b, "-%d", i) // unique
		name := b.String()
		st.Projects = append(st.Projects, index.Project{Name: name, Normalized: index.Normalize(name), LastSerial: int64(i) * 10})
	}
	slices.SortFunc(st.Projects, func(a, b index.Project) int { return strings.Compare(string(a.Normalized), string(b.Normalized)) })
	relayout(st.Projects)
	return st
}

// relayout copies the names in slice order, so they lie in memory as the
// store's row scanning allocates them; scattered strings would make the
// benchmarks measure cache misses the real input does not have.
func relayout(ps []index.Project) {
	for i := range ps {
		ps[i].Name = strings.Clone(ps[i].Name)
		ps[i].Normalized = index.Normalized(strings.Clone(string(ps[i].Normalized)))
	}
}
