package static

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
)

// benchPages writes a project page with the given number of files, about the
// size of a popular project's page, and returns the data directory.
func benchPages(b *testing.B, files int) string {
	dir := b.TempDir()
	var html, json strings.Builder
	html.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n" +
		"    <title>Links for foo-bar</title>\n  </head>\n  <body>\n    <h1>Links for foo-bar</h1>\n")
	json.WriteString(`{"meta":{"api-version":"1.1","_last-serial":123456},"name":"foo-bar","versions":["1.0"],"files":[`)
	for i := range files {
		name := fmt.Sprintf("foo_bar-1.%d-py3-none-any.whl", i)
		url := "../../packages/ab/cd/0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab/" + name
		sha := strings.Repeat("0123456789abcdef", 4)
		fmt.Fprintf(&html, "    <a href=\"%s#sha256=%s\" data-requires-python=\"&gt;=3.8\">%s</a><br>\n", url, sha, name)
		if i > 0 {
			json.WriteByte(',')
		}
		fmt.Fprintf(&json, `{"core-metadata":false,"filename":%q,"hashes":{"sha256":%q},"requires-python":">=3.8","size":1221,"upload-time":"2025-01-02T03:04:05.123456Z","url":%q,"yanked":false}`, name, sha, url)
	}
	html.WriteString("  </body>\n</html>\n<!--SERIAL 123456-->\n")
	json.WriteString("]}\n")
	writePage(b, dir, "foo-bar", html.String(), json.String(), time.Time{})
	return dir
}

// discardWriter is a ResponseWriter that counts the body instead of keeping
// it, so the benchmarks measure the handlers rather than buffer growth in
// httptest.ResponseRecorder.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

func benchServe(b *testing.B, h http.Handler, target, accept string) {
	r := httptest.NewRequest("GET", target, nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := &discardWriter{h: make(http.Header)}
	h.ServeHTTP(w, r) // fills the page cache
	if w.code != http.StatusOK {
		b.Fatalf("GET %s = %d", target, w.code)
	}
	size := w.n
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: make(http.Header)}
		h.ServeHTTP(w, r)
		if w.code != http.StatusOK || w.n != size {
			b.Fatalf("GET %s = %d, %d bytes", target, w.code, w.n)
		}
	}
}

var benchSizes = []int{10, 1000}

// BenchmarkServePage and BenchmarkFileServer serve the same files, so their
// ns/op compare the page handler with net/http's FileServer.
func BenchmarkServePage(b *testing.B) {
	for _, n := range benchSizes {
		dir := benchPages(b, n)
		h := New(Config{DataDir: dir}, slog.New(slog.DiscardHandler)).SimpleHandler()
		b.Run(fmt.Sprintf("files=%d/html", n), func(b *testing.B) {
			benchServe(b, h, "/simple/foo-bar/", "")
		})
		b.Run(fmt.Sprintf("files=%d/json", n), func(b *testing.B) {
			benchServe(b, h, "/simple/foo-bar/", pipAccept)
		})
	}
}

// BenchmarkFileServer serves the HTML page the way a static server does, as
// the index of its directory (FileServer redirects /index.html to ./), and the
// JSON twin by its name.
func BenchmarkFileServer(b *testing.B) {
	for _, n := range benchSizes {
		dir := benchPages(b, n)
		h := http.FileServer(http.Dir(filepath.Join(dir, "simple")))
		b.Run(fmt.Sprintf("files=%d/html", n), func(b *testing.B) {
			benchServe(b, h, "/foo-bar/", "")
		})
		b.Run(fmt.Sprintf("files=%d/json", n), func(b *testing.B) {
			benchServe(b, h, "/foo-bar/"+datadir.JSONName, "")
		})
	}
}

func BenchmarkNegotiate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if mt, ok := Negotiate(pipAccept); !ok || mt != typeV1JSON {
			b.Fatal(mt, ok)
		}
	}
}
