package readme

import (
	"bytes"
	"context"
	"crypto/sha256"
	"html"
	"mime"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
)

// Version is the version of the rendering rules: raise it whenever a change
// here changes the HTML of some README, and `regenerate` renders every
// stored README again. 2: ids under UserContentPrefix.
const Version = 2

// Unrendered is the version of a stored README that must be rendered again
// whatever Version is: none was rendered, or reST was shown preformatted
// only because docutils was missing.
const Unrendered = 0

// Result is one rendered README.
type Result struct {
	HTML    string // sanitised HTML fragment; "" for an empty description
	Version int    // Version, or Unrendered when the result is a stand-in
}

// Renderer renders READMEs. The zero value is not usable; use New.
type Renderer struct {
	rst   rstRunner
	cache cache
}

// Config configures a Renderer; zero values take the defaults.
type Config struct {
	// Python is the interpreter that runs docutils; "" is /usr/bin/python3.
	Python string
	// RSTTimeout bounds one reST rendering (wall clock and CPU);
	// 0 is DefaultRSTTimeout.
	RSTTimeout time.Duration
	// RSTMemory bounds the address space of the docutils process in bytes;
	// 0 is DefaultRSTMemory.
	RSTMemory int64
}

// New returns a Renderer.
func New(cfg Config) *Renderer {
	return &Renderer{rst: newRSTRunner(cfg)}
}

var (
	markdown = goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
		// Raw HTML in Markdown is kept here and sanitised below, as
		// GitHub and PyPI do, so <details> or <img> keep working.
		goldmark.WithRendererOptions(gmhtml.WithUnsafe()),
	)
	policy = newPolicy()
)

func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	// Fenced code keeps its language, for readers (and a stylesheet).
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[A-Za-z0-9_+.#-]{1,40}$`)).OnElements("code")
	p.AllowAttrs("id").Matching(regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)).OnElements("h1", "h2", "h3", "h4", "h5", "h6")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	return p
}

// Render renders description according to its content type. It never
// fails: a description no renderer accepts is shown as preformatted text.
func (r *Renderer) Render(ctx context.Context, description, contentType string) Result {
	if strings.TrimSpace(description) == "" {
		return Result{Version: Version}
	}
	key := sha256.Sum256([]byte(contentType + "\x00" + description))
	if res, ok := r.cache.get(key); ok {
		return res
	}
	res := r.render(ctx, description, contentType)
	r.cache.put(key, res)
	return res
}

func (r *Renderer) render(ctx context.Context, description, contentType string) Result {
	switch kind(contentType) {
	case "markdown":
		src := []byte(description)
		doc := markdown.Parser().Parse(text.NewReader(src))
		var b bytes.Buffer
		b.Grow(len(src) + len(src)/4)
		if err := markdown.Renderer().Render(&b, src, doc); err != nil {
			return Result{HTML: pre(description), Version: Version}
		}
		if hasRawHTML(doc) {
			return Result{HTML: sanitize(b.Bytes()), Version: Version}
		}
		return Result{HTML: sanitizeGenerated(b.Bytes()), Version: Version}
	case "rst":
		out, err := r.rst.render(ctx, description)
		switch {
		case err == errNoDocutils:
			return Result{HTML: pre(description), Version: Unrendered}
		case err != nil:
			return Result{HTML: pre(description), Version: Version}
		}
		return Result{HTML: sanitize(out), Version: Version}
	default:
		return Result{HTML: pre(description), Version: Version}
	}
}

// kind maps a Description-Content-Type to a renderer, as PyPI does: no
// type at all is reST (core metadata's historical default), an unknown
// type is plain text.
func kind(contentType string) string {
	if strings.TrimSpace(contentType) == "" {
		return "rst"
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "plain"
	}
	switch mt {
	case "text/markdown":
		return "markdown"
	case "text/x-rst":
		return "rst"
	}
	return "plain"
}

// pre shows text as it is.
func pre(text string) string {
	return `<pre class="readme-text">` + html.EscapeString(text) + "</pre>\n"
}

func sanitize(b []byte) string {
	return balance(policy.SanitizeBytes(b))
}

// sanitizeGenerated is sanitize for markup that goldmark generated from
// Markdown without raw HTML: its elements are those of the document tree,
// each closed where it ends and none an HTML parser would close or move
// (no <li> directly in <li>, no <div>, no block in <p>, no link in a
// link), and its text and attribute values are escaped. bluemonday only
// removes attributes, and elements together with their end tags, so its
// output stays balanced, and the parse that balance does for any other
// markup (most of the cost of rendering a large README) would give the
// same tree back. relink does the rest of balance's work on the bytes;
// TestGeneratedAsBalanced checks the two give the same HTML.
func sanitizeGenerated(b []byte) string {
	return relink(policy.SanitizeBytes(b))
}

// hasRawHTML reports whether a Markdown document holds HTML of its own
// (an HTML block or inline HTML), which goldmark passes through as it is.
func hasRawHTML(doc ast.Node) bool {
	raw := false
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if k := n.Kind(); k == ast.KindHTMLBlock || k == ast.KindRawHTML {
			raw = true
			return ast.WalkStop, nil
		}
		return ast.WalkContinue, nil
	})
	return raw
}

// cache remembers the last few results: a release's sdist and wheels are
// uploaded one after the other with the same description, and only the
// first needs it rendered.
type cache struct {
	mu   sync.Mutex
	keys [cacheSize][sha256.Size]byte
	vals [cacheSize]Result
	used [cacheSize]bool
	next int
}

const cacheSize = 16

func (c *cache) get(k [sha256.Size]byte) (Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.keys {
		if c.used[i] && c.keys[i] == k {
			return c.vals[i], true
		}
	}
	return Result{}, false
}

func (c *cache) put(k [sha256.Size]byte, v Result) {
	if v.Version == Unrendered {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys[c.next], c.vals[c.next], c.used[c.next] = k, v, true
	c.next = (c.next + 1) % cacheSize
}
