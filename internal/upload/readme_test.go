package upload

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/readme"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// readmeForm is the upload of demo's wheel for version with a Markdown
// description.
func readmeForm(t testing.TB, version, description string) form {
	t.Helper()
	whl := wheelSpec{dist: "demo", version: version}.build(t)
	return twineForm("demo", version, "bdist_wheel", "py3", "demo-"+version+"-py3-none-any.whl", whl).
		with("description", description).with("description_content_type", "text/markdown")
}

// TestReadmeLeftPending: with QueueReadme, a new release is stored with
// its README pending, and the project is queued once its pages are
// written; a second file of the release leaves the release as it was.
func TestReadmeLeftPending(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var queued []index.Normalized
	var h *harness
	h = newHarnessWith(t, Config{QueueReadme: func(name index.Normalized) {
		mu.Lock()
		defer mu.Unlock()
		queued = append(queued, name)
		if _, err := os.Stat(datadir.New(h.dataDir).WebProjectPage(name)); err != nil {
			t.Errorf("queued before the project's page was written: %v", err)
		}
	}})
	h.mustUpload(uploadRequest{form: readmeForm(t, "1.0", "# Demo\n\ntext")})
	if got := h.query(`SELECT description_html_version || ':' || description_html FROM releases`); got != fmt.Sprint(index.ReadmePending)+":" {
		t.Errorf("README stored as %q, want pending", got)
	}
	// The worker stored it; then the sdist comes.
	h.exec(`UPDATE releases SET description_html = 'x', description_html_version = 1`)
	sdist := sdistSpec{top: "demo-1.0"}.build(t)
	h.mustUpload(uploadRequest{form: twineForm("demo", "1.0", "sdist", "source", "demo-1.0.tar.gz", sdist).
		with("description", "# Demo\n\ntext").with("description_content_type", "text/markdown")})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(queued, []index.Normalized{"demo", "demo"}) {
		t.Errorf("queued %v", queued)
	}
	if got := h.query(`SELECT description_html_version || ':' || description_html FROM releases`); got != "1:x" {
		t.Errorf("a file added to the release changed its README: %q", got)
	}
}

// TestReadmeInline: with RenderReadme alone, the README is rendered before
// the transaction.
func TestReadmeInline(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, Config{
		RenderReadme: func(_ context.Context, description, contentType string) index.Readme {
			return index.Readme{HTML: "<p>" + contentType + "</p>", Version: 7}
		},
	})
	h.mustUpload(uploadRequest{form: readmeForm(t, "1.0", "# Demo")})
	if got := h.query(`SELECT description_html_version || ':' || description_html FROM releases`); got != "7:<p>text/markdown</p>" {
		t.Errorf("README stored as %q", got)
	}
}

// BenchmarkUploadReadme100KB is the latency of uploads that each create a
// release with its own 100 KB Markdown README: not rendered at all (none,
// the baseline), rendered in the upload (inline, as before serve's README
// worker), and left to a background renderer that stores it and rewrites
// the pages as serve's worker does (queued). The uploads come one after
// the other (gap=0: the background work of one overlaps the next upload),
// or with a pause between them in which it can end (gap=300ms, the usual
// case: a release's files arrive seconds apart at most, and an index's
// uploads are rare). It reports the median and the 90th percentile.
func BenchmarkUploadReadme100KB(b *testing.B) {
	for _, bench := range []struct {
		mode string
		gap  time.Duration
	}{{"none", 0}, {"inline", 0}, {"queued", 0}, {"none", 300 * time.Millisecond}, {"inline", 300 * time.Millisecond}, {"queued", 300 * time.Millisecond}} {
		mode := bench.mode
		b.Run(fmt.Sprintf("%s/gap=%v", mode, bench.gap), func(b *testing.B) {
			render := readme.New(readme.Config{})
			renderIndex := func(ctx context.Context, description, contentType string) index.Readme {
				res := render.Render(ctx, description, contentType)
				return index.Readme{HTML: res.HTML, Version: res.Version}
			}
			var cfg Config
			var bg sync.WaitGroup
			queue := make(chan index.Normalized, 1024)
			switch mode {
			case "inline":
				cfg.RenderReadme = renderIndex
			case "queued":
				cfg.QueueReadme = func(name index.Normalized) { queue <- name }
			}
			h, pages := deferredHarness(b, cfg)
			if mode == "queued" {
				bg.Go(func() {
					ctx := context.Background()
					for name := range queue {
						srcs, err := h.store.StaleReadmes(ctx, name, 0, 0, 100)
						if err != nil {
							b.Error(err)
							continue
						}
						var versions []string
						rds := make([]index.Readme, len(srcs))
						for i, src := range srcs {
							rds[i] = renderIndex(ctx, src.Description, src.ContentType)
							if _, err := h.store.SetReadme(ctx, src, index.Readme{HTML: rds[i].HTML, Version: index.ReadmePending}); err != nil {
								b.Error(err)
							}
							versions = append(versions, src.Version)
						}
						if err := pages.RegenerateReleases(ctx, name, versions); err != nil {
							b.Error(err)
						}
						for i, src := range srcs { // as serve's worker does, after the pages
							if _, err := h.store.SetReadme(ctx, src, rds[i]); err != nil {
								b.Error(err)
							}
						}
					}
				})
			}
			forms := make([]form, b.N+1)
			for i := range forms {
				var sb strings.Builder
				fmt.Fprintf(&sb, "# demo 1.0.%d\n\n", i)
				for j := 0; sb.Len() < 100<<10; j++ {
					fmt.Fprintf(&sb, "## Section %d\n\nSome *prose* with a [link](https://example.com/%d) and `code`, ~~old~~ text.\n\n", j, j)
					sb.WriteString("```python\nimport demo\nprint(demo.hello('<x>'))\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n")
				}
				forms[i] = readmeForm(b, fmt.Sprintf("1.0.%d", i), sb.String())
			}
			h.mustUpload(uploadRequest{form: forms[0]}) // creates the project
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				if bench.gap > 0 {
					b.StopTimer()
					time.Sleep(bench.gap)
					b.StartTimer()
				}
				start := time.Now()
				h.mustUpload(uploadRequest{form: forms[i]})
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			close(queue)
			bg.Wait()
			pages.Close()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
		})
	}
}

// deferredHarness is startHarness with the page writes serve makes: their
// fsyncs deferred to a background round (staticgen's DeferSync), and no log.
func deferredHarness(t testing.TB, cfg Config) (*harness, *staticgen.Generator) {
	t.Helper()
	h, _, pages := startHarness(t, cfg, harnessOptions{deferSync: true, log: slog.New(slog.DiscardHandler)})
	return h, pages
}

// TestReadmeBlankNotQueued: with QueueReadme and RenderReadme, a release
// whose description is blank is rendered at once (nothing to render) and
// not queued; one with a description is still left pending and queued.
func TestReadmeBlankNotQueued(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var queued []index.Normalized
	h := newHarnessWith(t, Config{RenderReadme: func(_ context.Context, description, _ string) index.Readme {
		if strings.TrimSpace(description) != "" {
			t.Errorf("rendered %q before the reply", description)
		}
		return index.Readme{Version: 5}
	}, QueueReadme: func(name index.Normalized) {
		mu.Lock()
		defer mu.Unlock()
		queued = append(queued, name)
	}})
	h.mustUpload(uploadRequest{form: readmeForm(t, "1.0", " \n\t")})
	if got := h.query(`SELECT description_html_version || ':' || description_html FROM releases`); got != "5:" {
		t.Errorf("blank README stored as %q, want 5:", got)
	}
	h.mustUpload(uploadRequest{form: readmeForm(t, "2.0", "# Demo")})
	if got := h.query(`SELECT description_html_version || ':' || description_html FROM releases WHERE version = '2.0'`); got != fmt.Sprint(index.ReadmePending)+":" {
		t.Errorf("README stored as %q, want pending", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(queued, []index.Normalized{"demo"}) {
		t.Errorf("queued %v, want only the upload with a description", queued)
	}
}
