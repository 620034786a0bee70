package static

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
)

// newServer returns a Server on a fresh data directory holding the root page
// (serial 42) and the project page foo-bar (serial 7).
func newServer(t testing.TB) (*Server, string) {
	t.Helper()
	dir := t.TempDir()
	writePage(t, dir, "", htmlBody("", 42), jsonBody("", 42), time.Time{})
	writePage(t, dir, "foo-bar", htmlBody("foo-bar", 7), jsonBody("foo-bar", 7), time.Time{})
	return New(Config{DataDir: dir}, slog.New(slog.NewTextHandler(t.Output(), nil))), dir
}

func htmlBody(project string, serial int) string {
	if project == "" {
		return fmt.Sprintf("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n"+
			"    <title>Simple index</title>\n  </head>\n  <body>\n    <a href=\"/simple/foo-bar/\">Foo_Bar</a><br>\n"+
			"  </body>\n</html>\n<!--SERIAL %d-->\n", serial)
	}
	return fmt.Sprintf("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n"+
		"    <title>Links for %[1]s</title>\n  </head>\n  <body>\n    <h1>Links for %[1]s</h1>\n"+
		"    <a href=\"../../packages/ab/cd/ef/%[1]s-1.0.tar.gz#sha256=00\">%[1]s-1.0.tar.gz</a><br>\n"+
		"  </body>\n</html>\n<!--SERIAL %[2]d-->\n", project, serial)
}

func jsonBody(project string, serial int) string {
	if project == "" {
		return fmt.Sprintf(`{"meta":{"api-version":"1.1","_last-serial":%d},"projects":[{"name":"Foo_Bar","_last-serial":7}]}`+"\n", serial)
	}
	return fmt.Sprintf(`{"meta":{"api-version":"1.1","_last-serial":%d},"name":%q,"versions":["1.0"],"files":[]}`+"\n", serial, project)
}

// writePage writes a project's two pages (the root's when project is "") the
// way staticgen does: a temporary file renamed over the old page. A non-zero
// mtime is set on the new file before the rename.
func writePage(t testing.TB, dataDir, project, html, json string, mtime time.Time) {
	t.Helper()
	dir := filepath.Join(dataDir, "simple", project)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{datadir.HTMLName: html, datadir.JSONName: json} {
		f, err := os.CreateTemp(dir, ".tmp-*")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(body); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if !mtime.IsZero() {
			if err := os.Chtimes(f.Name(), mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// get serves one request and returns the response with its body read.
func get(t testing.TB, h http.Handler, method, target string, header ...string) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	resp := w.Result()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// getStatus is get that reports a status other than want.
func getStatus(t testing.TB, want int, h http.Handler, method, target string, header ...string) *http.Response {
	t.Helper()
	resp, _ := get(t, h, method, target, header...)
	if resp.StatusCode != want {
		t.Errorf("%s %s %q = %d, want %d", method, target, header, resp.StatusCode, want)
	}
	return resp
}

const pipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"

func wantHeader(t *testing.T, resp *http.Response, key, want string) {
	t.Helper()
	if got := resp.Header.Get(key); got != want {
		t.Errorf("%s: %s = %q, want %q", resp.Request.URL, key, got, want)
	}
}

func TestSimpleRoot(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t)
	resp, body := get(t, s.SimpleHandler(), "GET", "/simple/")
	if resp.StatusCode != http.StatusOK || body != htmlBody("", 42) {
		t.Fatalf("GET /simple/ = %d %q", resp.StatusCode, body)
	}
	for k, v := range map[string]string{
		"Content-Type":                  "text/html; charset=utf-8",
		"Vary":                          "Accept",
		"Cache-Control":                 "max-age=0, must-revalidate, public",
		"X-PyPI-Last-Serial":            "42",
		"Access-Control-Allow-Origin":   "*",
		"Access-Control-Expose-Headers": "X-PyPI-Last-Serial",
		"Content-Length":                fmt.Sprint(len(body)),
		"Accept-Ranges":                 "bytes",
	} {
		wantHeader(t, resp, k, v)
	}
	sum := sha256.Sum256([]byte(body))
	wantHeader(t, resp, "ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	if resp.Header.Get("Last-Modified") == "" {
		t.Error("no Last-Modified")
	}

	resp, body = get(t, s.SimpleHandler(), "GET", "/simple/", "Accept", pipAccept)
	if body != jsonBody("", 42) {
		t.Errorf("root JSON body = %q", body)
	}
	wantHeader(t, resp, "Content-Type", typeV1JSON)
	wantHeader(t, resp, "X-PyPI-Last-Serial", "42")
}

func TestSimpleNegotiation(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t)
	html, json := htmlBody("foo-bar", 7), jsonBody("foo-bar", 7)
	tests := []struct {
		target, accept string
		status         int
		ctype, body    string
	}{
		{"/simple/foo-bar/", "", 200, "text/html; charset=utf-8", html},
		{"/simple/foo-bar/", pipAccept, 200, typeV1JSON, json},
		{"/simple/foo-bar/", "application/vnd.pypi.simple.v1+html", 200, typeV1HTML, html},
		{"/simple/foo-bar/", "text/html", 200, "text/html; charset=utf-8", html},
		{"/simple/foo-bar/", "application/vnd.pypi.simple.latest+json", 200, typeV1JSON, json},
		{"/simple/foo-bar/", "application/vnd.pypi.simple.v1+json;q=0, text/html", 200, "text/html; charset=utf-8", html},
		{"/simple/foo-bar/", "*/*", 200, "text/html; charset=utf-8", html},
		{"/simple/foo-bar/", "application/json", 406, "text/plain; charset=utf-8", notAcceptable},
		{"/simple/foo-bar/?format=application/vnd.pypi.simple.v1+json", "", 200, typeV1JSON, json},
		{"/simple/foo-bar/?format=application%2Fvnd.pypi.simple.v1%2Bjson", "text/html", 200, typeV1JSON, json},
		{"/simple/foo-bar/?format=text/html", pipAccept, 200, "text/html; charset=utf-8", html},
		{"/simple/foo-bar/?format=application/json", "", 406, "text/plain; charset=utf-8", notAcceptable},
		{"/simple/foo-bar/?format=", pipAccept, 200, typeV1JSON, json},
		{"/simple/no-such-project/", "application/json", 406, "text/plain; charset=utf-8", notAcceptable},
	}
	for _, tt := range tests {
		resp, body := get(t, s.SimpleHandler(), "GET", tt.target, "Accept", tt.accept)
		if resp.StatusCode != tt.status || body != tt.body {
			t.Errorf("GET %s (Accept %q) = %d %q, want %d %q", tt.target, tt.accept, resp.StatusCode, body, tt.status, tt.body)
		}
		wantHeader(t, resp, "Content-Type", tt.ctype)
		wantHeader(t, resp, "Vary", "Accept")
		if tt.status == 200 {
			wantHeader(t, resp, "X-PyPI-Last-Serial", "7")
		}
	}

	// Several Accept field lines count as one comma-joined line.
	resp, _ := get(t, s.SimpleHandler(), "GET", "/simple/foo-bar/", "Accept", "text/html;q=0.1", "Accept", typeV1JSON)
	wantHeader(t, resp, "Content-Type", typeV1JSON)
}

func TestSimpleRedirects(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t)
	tests := []struct{ target, location string }{
		{"/simple/Foo_Bar/", "/simple/foo-bar/"},
		{"/simple/foo-bar", "/simple/foo-bar/"},
		{"/simple/Foo_Bar", "/simple/foo-bar/"},
		{"/simple/FOO..bar/", "/simple/foo-bar/"},
		{"/simple/Foo_Bar/?format=text/html", "/simple/foo-bar/?format=text/html"},
		{"/simple/no_such_project/", "/simple/no-such-project/"},
		{"/simple", "/simple/"},
	}
	for _, tt := range tests {
		for _, method := range []string{"GET", "HEAD"} {
			resp := getStatus(t, http.StatusMovedPermanently, s.SimpleHandler(), method, tt.target, "Accept", pipAccept)
			wantHeader(t, resp, "Location", tt.location)
		}
	}
}

func TestSimpleNotFound(t *testing.T) {
	t.Parallel()
	s, dir := newServer(t)
	// A project directory without pages, and one whose "page" is a directory.
	if err := os.MkdirAll(filepath.Join(dir, "simple", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "simple", "odd", datadir.HTMLName), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{
		"/simple/no-such-project/",
		"/simple/empty/",
		"/simple/odd/",
		"/simple/foo-bar/index.html",
		"/simple/foo-bar/extra/",
		"/simple//",
		"/simple/-foo/",
		"/simple/foo-/",
		"/simple/foo%20bar/",
		"/simple/..%2f..%2f/",
		"/simple/%2e%2e/",
		// Names no project can have (a NUL byte, invalid UTF-8; issue 14
		// item 10): 404, never a server error.
		"/simple/%00/",
		"/simple/foo%00bar/",
		"/simple/%ff/",
		"/simple/foo%c3/",
		"/simplex/",
		"/",
	} {
		resp, body := get(t, s.SimpleHandler(), "GET", target)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "<html>") {
			t.Errorf("GET %s = %d %q, want 404", target, resp.StatusCode, body)
		}
		wantHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")
		wantHeader(t, resp, "Cache-Control", pageCacheControl)
	}
}

func TestSimpleConditional(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t)
	h := s.SimpleHandler()
	resp, _ := get(t, h, "GET", "/simple/foo-bar/")
	etag := resp.Header.Get("ETag")
	if len(etag) != 34 || etag[0] != '"' || strings.HasPrefix(etag, "W/") {
		t.Fatalf("ETag = %q, want a strong 32-hex ETag", etag)
	}
	jresp, _ := get(t, h, "GET", "/simple/foo-bar/", "Accept", pipAccept)
	if jetag := jresp.Header.Get("ETag"); jetag == etag || jetag == "" {
		t.Errorf("JSON ETag %q, HTML ETag %q: want two different ETags", jetag, etag)
	}

	resp, body := get(t, h, "GET", "/simple/foo-bar/", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("revalidation = %d %q, want 304", resp.StatusCode, body)
	}
	wantHeader(t, resp, "ETag", etag)
	wantHeader(t, resp, "Vary", "Accept")
	wantHeader(t, resp, "X-PyPI-Last-Serial", "7")

	// The HTML ETag does not validate the JSON representation.
	resp = getStatus(t, http.StatusOK, h, "GET", "/simple/foo-bar/", "If-None-Match", etag, "Accept", pipAccept)

	lastMod := resp.Header.Get("Last-Modified")
	if _, err := http.ParseTime(lastMod); err != nil {
		t.Errorf("Last-Modified %q: %v", lastMod, err)
	}
	getStatus(t, http.StatusNotModified, h, "GET", "/simple/foo-bar/", "If-Modified-Since", lastMod)
	resp, body = get(t, h, "GET", "/simple/foo-bar/", "Range", "bytes=0-14")
	if resp.StatusCode != http.StatusPartialContent || body != "<!DOCTYPE html>" {
		t.Errorf("Range on a page = %d %q, want 206", resp.StatusCode, body)
	}
	wantHeader(t, resp, "X-PyPI-Last-Serial", "7")

	resp, body = get(t, h, "HEAD", "/simple/foo-bar/")
	if resp.StatusCode != http.StatusOK || body != "" {
		t.Errorf("HEAD = %d %q", resp.StatusCode, body)
	}
	wantHeader(t, resp, "Content-Length", fmt.Sprint(len(htmlBody("foo-bar", 7))))
	wantHeader(t, resp, "ETag", etag)
}

// TestSimpleReplacedPage replaces pages with ones of the same size and mtime,
// which a cache keyed on size and mtime alone (nginx's ETag) would miss.
func TestSimpleReplacedPage(t *testing.T) {
	t.Parallel()
	s, dir := newServer(t)
	h := s.SimpleHandler()
	mtime := time.Now().Truncate(time.Second)
	writePage(t, dir, "foo-bar", htmlBody("foo-bar", 7), jsonBody("foo-bar", 7), mtime)

	check := func(accept string, serial int, oldETag string) string {
		t.Helper()
		resp, body := get(t, h, "GET", "/simple/foo-bar/", "Accept", accept, "If-None-Match", oldETag)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d after replacing the page, want 200", resp.StatusCode)
		}
		if !strings.Contains(body, fmt.Sprint(serial)) {
			t.Errorf("body %q lacks serial %d", body, serial)
		}
		wantHeader(t, resp, "X-PyPI-Last-Serial", fmt.Sprint(serial))
		etag := resp.Header.Get("ETag")
		if etag == oldETag {
			t.Errorf("ETag %s unchanged after replacing the page", etag)
		}
		return etag
	}
	html := check("text/html", 7, "")
	json := check(pipAccept, 7, "")

	// Renamed into place: new inode, same size, same mtime.
	writePage(t, dir, "foo-bar", htmlBody("foo-bar", 8), jsonBody("foo-bar", 8), mtime)
	html = check("text/html", 8, html)
	json = check(pipAccept, 8, json)

	// Rewritten in place: same inode, size and mtime, as when a freed inode is
	// reused within one clock tick. Only the serial tells the pages apart.
	for name, body := range map[string]string{datadir.HTMLName: htmlBody("foo-bar", 9), datadir.JSONName: jsonBody("foo-bar", 9)} {
		path := filepath.Join(dir, "simple", "foo-bar", name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	check("text/html", 9, html)
	check(pipAccept, 9, json)
}

// TestSimpleConcurrentReplace checks, under -race, that while pages are being
// replaced every response's ETag and serial describe the body it came with.
func TestSimpleConcurrentReplace(t *testing.T) {
	t.Parallel()
	s, dir := newServer(t)
	h := s.SimpleHandler()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				accept := "text/html"
				if i%2 == 0 {
					accept = pipAccept
				}
				resp, body := get(t, h, "GET", "/simple/foo-bar/", "Accept", accept)
				sum := sha256.Sum256([]byte(body))
				if etag := `"` + hex.EncodeToString(sum[:16]) + `"`; resp.Header.Get("ETag") != etag {
					t.Errorf("ETag %s does not match the body (%s)", resp.Header.Get("ETag"), etag)
				}
				serial := resp.Header.Get("X-PyPI-Last-Serial")
				if !strings.Contains(body, "SERIAL "+serial+"-->") && !strings.Contains(body, `"_last-serial":`+serial+"}") {
					t.Errorf("serial header %s does not match body %q", serial, body)
				}
			}
		})
	}
	for serial := 100; serial < 300; serial++ {
		writePage(t, dir, "foo-bar", htmlBody("foo-bar", serial), jsonBody("foo-bar", serial), time.Time{})
	}
	close(done)
	wg.Wait()
}

func TestSimpleMethods(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t)
	resp := getStatus(t, http.StatusMethodNotAllowed, s.SimpleHandler(), "POST", "/simple/foo-bar/")
	wantHeader(t, resp, "Allow", "GET, HEAD, OPTIONS")
	resp = getStatus(t, http.StatusNoContent, s.SimpleHandler(), "OPTIONS", "/simple/foo-bar/")
	wantHeader(t, resp, "Access-Control-Allow-Origin", "*")
	wantHeader(t, resp, "Access-Control-Allow-Methods", "GET")
	wantHeader(t, resp, "Access-Control-Allow-Headers", "Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since")
	wantHeader(t, resp, "Access-Control-Max-Age", "86400")
	// An actual response carries only what a browser checks on it.
	resp, _ = get(t, s.SimpleHandler(), "GET", "/simple/foo-bar/")
	wantHeader(t, resp, "Access-Control-Allow-Origin", "*")
	wantHeader(t, resp, "Access-Control-Expose-Headers", "X-PyPI-Last-Serial")
	for _, h := range []string{"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} {
		wantHeader(t, resp, h, "")
	}
}

// TestFail checks the status mapping of file errors, which tests cannot
// provoke on disk when they run as root (permissions) or at all (I/O errors).
func TestFail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err    error
		status int
	}{
		{fmt.Errorf("open /data/x: %w", fs.ErrNotExist), http.StatusNotFound},
		{&fs.PathError{Op: "open", Path: "/data/x", Err: syscall.ENOTDIR}, http.StatusNotFound},
		{&fs.PathError{Op: "open", Path: "/data/x", Err: syscall.EACCES}, http.StatusForbidden},
		{fmt.Errorf("read /secret/path: %w", io.ErrUnexpectedEOF), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		var logs strings.Builder
		s := New(Config{DataDir: t.TempDir()}, slog.New(slog.NewTextHandler(&logs, nil)))
		w := httptest.NewRecorder()
		s.fail(w, httptest.NewRequest("GET", "/simple/x/", nil), tt.err)
		if w.Code != tt.status || strings.Contains(w.Body.String(), "/") {
			t.Errorf("fail(%v) = %d %q, want %d and no error text", tt.err, w.Code, w.Body.String(), tt.status)
		}
		wantLogs := 0
		if tt.status == http.StatusInternalServerError {
			wantLogs = 1 // logged once, here, and only the unexpected
		}
		if n := strings.Count(logs.String(), "/secret/path"); n != wantLogs {
			t.Errorf("fail(%v) logged the error %d times, want %d:\n%s", tt.err, n, wantLogs, logs.String())
		}
	}
}
