package readme_test

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/cheeseshop/cheeseshop/internal/readme"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func requireDocutils(t *testing.T) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import docutils").Run(); err != nil {
		if os.Getenv("CHEESESHOP_REQUIRE") != "" {
			t.Fatalf("docutils is required: %v", err)
		}
		t.Skip("python3-docutils is not installed")
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	r := readme.New(readme.Config{})
	for _, tc := range []struct {
		in, contentType string
		rst             bool
	}{
		{"markdown.md", "text/markdown; charset=UTF-8; variant=GFM", false},
		{"rst.rst", "text/x-rst", true},
		{"plain.txt", "text/plain", false},
		{"hostile.md", "text/markdown", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if tc.rst {
				requireDocutils(t)
			}
			src, err := os.ReadFile(filepath.Join("testdata", tc.in))
			if err != nil {
				t.Fatal(err)
			}
			res := r.Render(context.Background(), string(src), tc.contentType)
			if res.Version != readme.Version {
				t.Errorf("version %d, want %d", res.Version, readme.Version)
			}
			golden := filepath.Join("testdata", tc.in+".html")
			if *update {
				if err := os.WriteFile(golden, []byte(res.HTML), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if res.HTML != string(want) {
				t.Errorf("%s differs from %s (run with -update):\n%s", tc.in, golden, res.HTML)
			}
		})
	}
}

// TestSafe checks properties of the output rather than bytes: nothing
// that runs script, loads other documents or styles the page survives.
func TestSafe(t *testing.T) {
	t.Parallel()
	requireDocutils(t)
	r := readme.New(readme.Config{})
	src, err := os.ReadFile(filepath.Join("testdata", "hostile.md"))
	if err != nil {
		t.Fatal(err)
	}
	rst := ".. raw:: html\n\n   <script>alert(1)</script>\n\n`x <javascript:alert(1)>`_\n\n.. image:: javascript:alert(2)\n\n" + string(src)
	for _, tc := range []struct{ name, in, typ string }{
		{"markdown", string(src), "text/markdown"},
		{"plain", string(src), "text/plain"},
		{"rst", rst, "text/x-rst"},
	} {
		out := r.Render(context.Background(), tc.in, tc.typ).HTML
		nodes, err := html.ParseFragment(strings.NewReader(out), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
		if err != nil {
			t.Fatal(err)
		}
		var walk func(*html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode {
				switch n.Data {
				case "script", "iframe", "svg", "style", "form", "input", "object", "embed", "math", "link", "meta", "base":
					t.Errorf("%s: <%s> survived:\n%s", tc.name, n.Data, out)
				}
				for _, a := range n.Attr {
					v := strings.ToLower(strings.TrimSpace(a.Val))
					switch {
					case strings.HasPrefix(a.Key, "on"), a.Key == "style", a.Key == "srcdoc", a.Key == "formaction":
						t.Errorf("%s: attribute %s survived", tc.name, a.Key)
					case (a.Key == "href" || a.Key == "src") && (strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:") || strings.HasPrefix(v, "vbscript:")):
						t.Errorf("%s: %s=%q survived", tc.name, a.Key, a.Val)
					}
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		for _, n := range nodes {
			walk(n)
		}
		if tc.name == "markdown" && !strings.Contains(out, "</i></b></p>") {
			t.Errorf("unclosed tags not closed inside the README:\n%s", out)
		}
	}
}

func TestExternalLinks(t *testing.T) {
	t.Parallel()
	r := readme.New(readme.Config{})
	out := r.Render(context.Background(), `[a](https://example.com/) [b](/local) [c](#frag) <a href="https://x.example/" rel="opener">d</a>`, "text/markdown").HTML
	if got := strings.Count(out, `rel="nofollow noopener ugc"`); got != 2 {
		t.Errorf("%d external rels, want 2:\n%s", got, out)
	}
	if strings.Contains(out, "opener\"") && !strings.Contains(out, "noopener") {
		t.Errorf("rel not replaced:\n%s", out)
	}
	if !strings.Contains(out, `<a href="/local">b</a>`) || !strings.Contains(out, `<a href="#`+readme.UserContentPrefix+`frag">c</a>`) {
		t.Errorf("local links changed:\n%s", out)
	}
}

// TestUserContentIDs: a README's ids, and its links to them, are its own,
// never the page's.
func TestUserContentIDs(t *testing.T) {
	t.Parallel()
	r := readme.New(readme.Config{})
	for _, src := range []string{
		"# Content\n\n[top](#content) [page](#) [away](https://example.com/#content)\n",
		"# Content\n\n<p id=\"title\">raw</p>\n\n[top](#content) [page](#) [away](https://example.com/#content)\n",
	} {
		out := r.Render(context.Background(), src, "text/markdown").HTML
		for _, want := range []string{`<h1 id="user-content-content">`, `<a href="#user-content-content">top</a>`, `href="https://example.com/#content"`} {
			if !strings.Contains(out, want) {
				t.Errorf("no %s in:\n%s", want, out)
			}
		}
		if strings.Contains(src, "raw") && !strings.Contains(out, `<p id="user-content-title">`) {
			t.Errorf("raw HTML's id not moved:\n%s", out)
		}
	}
}

func TestContentTypes(t *testing.T) {
	t.Parallel()
	r := readme.New(readme.Config{})
	ctx := context.Background()
	if out := r.Render(ctx, "# T", "text/markdown").HTML; !strings.Contains(out, "<h1") {
		t.Errorf("markdown: %s", out)
	}
	if out := r.Render(ctx, "# T", "text/plain").HTML; !strings.Contains(out, "<pre") {
		t.Errorf("plain: %s", out)
	}
	if out := r.Render(ctx, "# T", "application/x-unknown").HTML; !strings.Contains(out, "<pre") {
		t.Errorf("unknown type: %s", out)
	}
	if res := r.Render(ctx, "  \n", "text/markdown"); res.HTML != "" || res.Version != readme.Version {
		t.Errorf("empty: %+v", res)
	}
}

// TestRSTFallback: without docutils (a missing interpreter here) reST is
// shown preformatted and marked for rendering again.
func TestRSTFallback(t *testing.T) {
	t.Parallel()
	r := readme.New(readme.Config{Python: "/nonexistent/python3"})
	res := r.Render(context.Background(), "Title\n=====\n\n<b>x</b>", "text/x-rst")
	if res.Version != readme.Unrendered || !strings.Contains(res.HTML, "<pre") || !strings.Contains(res.HTML, "&lt;b&gt;") {
		t.Errorf("fallback: %+v", res)
	}
}

// TestRSTBroken: reST docutils refuses is shown preformatted, and a
// runaway rendering is stopped by the time limit.
func TestRSTBroken(t *testing.T) {
	t.Parallel()
	requireDocutils(t)
	r := readme.New(readme.Config{})
	res := r.Render(context.Background(), "Title\n=====\n\n.. unknown-directive:: x\n\n`unterminated", "text/x-rst")
	if !strings.Contains(res.HTML, "<pre") || res.Version != readme.Version {
		t.Errorf("broken reST: %+v", res)
	}
}

func TestRSTLimits(t *testing.T) {
	t.Parallel()
	requireDocutils(t)
	r := readme.New(readme.Config{RSTMemory: 64 << 20})
	// A big document under a small address space fails cleanly.
	big := strings.Repeat("* item with *emphasis* and ``code``\n", 200000)
	res := r.Render(context.Background(), big, "text/x-rst")
	if !strings.HasPrefix(res.HTML, "<pre") {
		t.Errorf("rendered despite the memory limit (%d bytes)", len(res.HTML))
	}
}

func TestLongLine(t *testing.T) {
	t.Parallel()
	r := readme.New(readme.Config{})
	line := strings.Repeat("x", 1<<20)
	out := r.Render(context.Background(), "# Long\n\n"+line+"\n", "text/markdown").HTML
	if !strings.Contains(out, line) {
		t.Errorf("the long line was lost (%d bytes)", len(out))
	}
}
