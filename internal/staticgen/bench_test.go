package staticgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/webpage"
)

// Run: go test -run='^$' -bench=. -benchmem ./internal/staticgen
// Budgets: a 1,000-file project page renders and is written in <= 5 ms;
// the root of 700,000 projects in <= 500 ms.

func BenchmarkRenderProject(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		st := bigProject(n)
		b.Run(fmt.Sprintf("files=%d/html", n), func(b *testing.B) { benchRender(b, st, noErr(RenderProjectHTML)) })
		b.Run(fmt.Sprintf("files=%d/json", n), func(b *testing.B) { benchRender(b, st, noErr(RenderProjectJSON)) })
	}
}

// benchRender measures render of st into one reused buffer, with the
// page's size as the bytes of an operation.
func benchRender[S any](b *testing.B, st S, render func(*bytes.Buffer, S) error) {
	b.ReportAllocs()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := render(&buf, st); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

// noErr is a renderer that cannot fail as one that may.
func noErr[S any](render func(*bytes.Buffer, S)) func(*bytes.Buffer, S) error {
	return func(buf *bytes.Buffer, st S) error {
		render(buf, st)
		return nil
	}
}

// BenchmarkRenderProjectStdlib renders the same pages with html/template
// and encoding/json, the alternative to the hand-written writers; it exists
// to keep that choice measured.
func BenchmarkRenderProjectStdlib(b *testing.B) {
	st := bigProject(1000)
	b.Run("files=1000/html-template", func(b *testing.B) { benchRender(b, st, stdlibHTML) })
	b.Run("files=1000/encoding-json", func(b *testing.B) { benchRender(b, st, stdlibJSON) })
}

var stdlibTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <meta name="pypi:repository-version" content="1.1">
    <title>Links for {{.Name}}</title>
  </head>
  <body>
    <h1>Links for {{.Name}}</h1>
{{range .Files}}    <a href="{{.URL}}#sha256={{.SHA256}}"{{if .RequiresPython}} data-requires-python="{{.RequiresPython}}"{{end}}{{if .Yanked}} data-yanked="{{.Reason}}"{{end}}{{if .Meta}} data-core-metadata="sha256={{.Meta}}"{{end}}>{{.Filename}}</a><br />
{{end}}  </body>
</html>
<!--SERIAL {{.Serial}}-->
`))

type stdlibLink struct {
	URL                                            template.URL
	SHA256, RequiresPython, Reason, Meta, Filename string
	Yanked                                         bool
}

func stdlibHTML(buf *bytes.Buffer, st index.ProjectState) error {
	p := newProjectPage(st)
	defer p.release()
	data := struct {
		Name   string
		Serial int64
		Files  []stdlibLink
	}{Name: st.Project.Name, Serial: st.Project.LastSerial}
	for _, e := range p.files {
		f, r := e.f, p.fileRelease(e)
		u := f.CDNURL
		if u == "" {
			u = packagesPrefix + f.Path
		}
		data.Files = append(data.Files, stdlibLink{URL: template.URL(u), SHA256: f.SHA256, RequiresPython: f.RequiresPython,
			Yanked: r.Yanked, Reason: r.YankedReason, Meta: f.MetadataSHA256, Filename: f.Filename})
	}
	return stdlibTemplate.Execute(buf, data)
}

func stdlibJSON(buf *bytes.Buffer, st index.ProjectState) error {
	p := newProjectPage(st)
	defer p.release()
	page := pep691Project{Meta: pep691Meta{APIVersion: apiVersion, LastSerial: st.Project.LastSerial},
		Name: string(st.Project.Normalized), Versions: []string{}, Files: []pep691File{}}
	for _, e := range p.releases {
		page.Versions = append(page.Versions, e.r.Version)
	}
	for _, e := range p.files {
		f, r := e.f, p.fileRelease(e)
		u := f.CDNURL
		if u == "" {
			u = packagesPrefix + f.Path
		}
		pf := pep691File{Filename: f.Filename, URL: u, Hashes: map[string]string{"sha256": f.SHA256},
			Size: f.Size, UploadTime: f.UploadTime.UTC().Format(uploadTimeLayout), Yanked: false, CoreMetadata: false}
		if f.RequiresPython != "" {
			pf.RequiresPython = &f.RequiresPython
		}
		if r.Yanked {
			pf.Yanked = r.YankedReason
		}
		if f.MetadataSHA256 != "" {
			pf.CoreMetadata = map[string]string{"sha256": f.MetadataSHA256}
		}
		page.Files = append(page.Files, pf)
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return enc.Encode(page)
}

func BenchmarkRenderRoot(b *testing.B) {
	const n = 700000
	sorted := bigRoot(n)
	// PostgreSQL's ORDER BY under a non-C collation is not byte order
	// ('-' is ignored), so the renderer may have to sort; shuffled is the
	// worst case.
	shuffled := index.RootState{Serial: sorted.Serial, Projects: append([]index.Project(nil), sorted.Projects...)}
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) {
		shuffled.Projects[i], shuffled.Projects[j] = shuffled.Projects[j], shuffled.Projects[i]
	})
	relayout(shuffled.Projects)
	// en_US collation ignores '-' at the first level: mostly sorted input.
	collated := index.RootState{Serial: sorted.Serial, Projects: append([]index.Project(nil), sorted.Projects...)}
	slices.SortStableFunc(collated.Projects, func(a, b index.Project) int {
		return strings.Compare(strings.ReplaceAll(string(a.Normalized), "-", ""), strings.ReplaceAll(string(b.Normalized), "-", ""))
	})
	relayout(collated.Projects)
	for _, in := range []struct {
		name string
		st   index.RootState
	}{{"sorted", sorted}, {"collated", collated}, {"shuffled", shuffled}} {
		b.Run(fmt.Sprintf("projects=%d/%s/html", n, in.name), func(b *testing.B) { benchRender(b, in.st, noErr(RenderRootHTML)) })
		b.Run(fmt.Sprintf("projects=%d/%s/json", n, in.name), func(b *testing.B) { benchRender(b, in.st, noErr(RenderRootJSON)) })
	}
}

// BenchmarkRegenerateProject1000 is the whole upload-path cost for a
// project of 1,000 files in 250 releases: render both /simple pages and the
// pages for people, and write them durably (fsynced files and directories).
// "upload" is what one upload rewrites: one release changed since the pages
// were last written, so the two /simple pages, that release's page and the
// project page. "all" rewrites every release page too, as the first write
// and `regenerate` do.
func BenchmarkRegenerateProject1000(b *testing.B) {
	b.Run("upload", func(b *testing.B) {
		st := bigProject(1000)
		store := &fakeStore{projects: map[index.Normalized]index.ProjectState{st.Project.Normalized: st}}
		g, _ := newTestGenerator(b, store)
		ctx := b.Context()
		if err := g.RegenerateProject(ctx, st.Project.Normalized); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		var took []time.Duration
		for b.Loop() {
			b.StopTimer()
			// The upload: a file added to one release bumps its serial
			// and the project's.
			st.Project.LastSerial++
			st.Releases[i%len(st.Releases)].Serial = st.Project.LastSerial
			store.mu.Lock()
			store.projects[st.Project.Normalized] = st
			store.mu.Unlock()
			i++
			b.StartTimer()
			t0 := time.Now()
			if err := g.RegenerateProject(ctx, st.Project.Normalized); err != nil {
				b.Fatal(err)
			}
			took = append(took, time.Since(t0))
		}
		slices.Sort(took)
		b.ReportMetric(float64(took[len(took)/2])/1e6, "p50-ms")
		b.ReportMetric(float64(took[len(took)*99/100])/1e6, "p99-ms")
	})
	b.Run("all", func(b *testing.B) {
		st := bigProject(1000)
		store := &fakeStore{projects: map[index.Normalized]index.ProjectState{st.Project.Normalized: st}}
		g, _ := newTestGenerator(b, store)
		g.allReleases = true
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if err := g.RegenerateProject(ctx, st.Project.Normalized); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRegenerateRoot700000(b *testing.B) {
	store := &fakeStore{root: bigRoot(700000)}
	g, _ := newTestGenerator(b, store)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := g.RegenerateRoot(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderPeople renders the pages for people of a 1,000-file
// project of 250 releases: the releases' sort by version, the project page
// (every release in its history) and one release page.
func BenchmarkRenderPeople(b *testing.B) {
	st := bigProject(1000)
	o := webpage.Sorted(st)
	var buf bytes.Buffer
	b.Run("sort", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			webpage.Sorted(st)
		}
	})
	b.Run("project", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			webpage.RenderProject(&buf, st, o, nil)
		}
		b.SetBytes(int64(buf.Len()))
	})
	b.Run("release", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			webpage.RenderRelease(&buf, st, o.Releases[3], index.ReleaseDetail{})
		}
		b.SetBytes(int64(buf.Len()))
	})
}
