package static

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hashDir is the content-addressed directory of the test wheel (a made-up
// blake2b-256).
const hashDir = "ab/cd/0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"

// newFileServer returns a Server whose data directory holds a wheel, its
// .metadata, an sdist, a stray temporary file, and the pages of newServer.
func newFileServer(t *testing.T) (*Server, map[string][]byte) {
	t.Helper()
	_, dir := newServer(t)
	files := map[string][]byte{
		"foo_bar-1.0-py3-none-any.whl":          bytes.Repeat([]byte("PK\x03\x04wheel bytes "), 40),
		"foo_bar-1.0-py3-none-any.whl.metadata": []byte("Metadata-Version: 2.1\nName: foo-bar\nVersion: 1.0\n"),
		"foo_bar-1.0.tar.gz":                    []byte("\x1f\x8b\x08\x00gzip bytes"),
		".tmp-foo_bar-1.0.tar.gz12345":          []byte("half written"),
	}
	pkg := filepath.Join(dir, "packages", filepath.FromSlash(hashDir))
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(pkg, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return New(Config{DataDir: dir}, slog.New(slog.NewTextHandler(t.Output(), nil))), files
}

func TestFiles(t *testing.T) {
	t.Parallel()
	s, files := newFileServer(t)
	h := s.PackagesHandler()
	for _, tt := range []struct{ name, ctype string }{
		{"foo_bar-1.0-py3-none-any.whl", "application/zip"},
		{"foo_bar-1.0-py3-none-any.whl.metadata", "text/plain; charset=utf-8"},
		{"foo_bar-1.0.tar.gz", "application/octet-stream"},
	} {
		resp, body := get(t, h, "GET", "/packages/"+hashDir+"/"+tt.name)
		if resp.StatusCode != http.StatusOK || body != string(files[tt.name]) {
			t.Errorf("GET %s = %d %q", tt.name, resp.StatusCode, body)
		}
		wantHeader(t, resp, "Content-Type", tt.ctype)
		wantHeader(t, resp, "Content-Encoding", "")
		wantHeader(t, resp, "Cache-Control", "max-age=31536000, immutable, public")
		wantHeader(t, resp, "Accept-Ranges", "bytes")
		if etag := resp.Header.Get("ETag"); len(etag) != 34 || etag[0] != '"' {
			t.Errorf("%s: ETag = %q, want a strong ETag", tt.name, etag)
		}
	}

	// A wheel and its .metadata share a directory but not an ETag.
	w, _ := get(t, h, "HEAD", "/packages/"+hashDir+"/foo_bar-1.0-py3-none-any.whl")
	m, _ := get(t, h, "HEAD", "/packages/"+hashDir+"/foo_bar-1.0-py3-none-any.whl.metadata")
	if w.Header.Get("ETag") == m.Header.Get("ETag") {
		t.Error("wheel and .metadata have the same ETag")
	}
}

// TestFileRanges follows what uv does to read a wheel's METADATA without
// PEP 658: HEAD for the size, then ranges from the end (PROTOCOL.md 5.3).
func TestFileRanges(t *testing.T) {
	t.Parallel()
	s, files := newFileServer(t)
	h := s.PackagesHandler()
	const target = "/packages/" + hashDir + "/foo_bar-1.0-py3-none-any.whl"
	wheel := files["foo_bar-1.0-py3-none-any.whl"]

	resp, body := get(t, h, "HEAD", target)
	if resp.StatusCode != http.StatusOK || body != "" {
		t.Fatalf("HEAD = %d %q", resp.StatusCode, body)
	}
	wantHeader(t, resp, "Content-Length", fmt.Sprint(len(wheel)))
	wantHeader(t, resp, "Accept-Ranges", "bytes")
	etag := resp.Header.Get("ETag")

	resp, body = get(t, h, "GET", target, "Range", "bytes=-22")
	if resp.StatusCode != http.StatusPartialContent || body != string(wheel[len(wheel)-22:]) {
		t.Errorf("Range bytes=-22 = %d %q", resp.StatusCode, body)
	}
	wantHeader(t, resp, "Content-Range", fmt.Sprintf("bytes %d-%d/%d", len(wheel)-22, len(wheel)-1, len(wheel)))
	wantHeader(t, resp, "Content-Length", "22")

	resp, body = get(t, h, "GET", target, "Range", "bytes=0-3", "If-Range", etag)
	if resp.StatusCode != http.StatusPartialContent || body != "PK\x03\x04" {
		t.Errorf("If-Range with the current ETag = %d %q, want 206", resp.StatusCode, body)
	}
	getStatus(t, http.StatusOK, h, "GET", target, "Range", "bytes=0-3", "If-Range", `"other"`)
	resp, body = get(t, h, "GET", target, "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("If-None-Match = %d %q, want 304", resp.StatusCode, body)
	}
	getStatus(t, http.StatusRequestedRangeNotSatisfiable, h, "GET", target, "Range", fmt.Sprintf("bytes=%d-", len(wheel)+10))
}

func TestFilesRefused(t *testing.T) {
	t.Parallel()
	s, _ := newFileServer(t)
	h := s.PackagesHandler()
	for _, target := range []string{
		"/packages/../simple/index.html",
		"/packages/%2e%2e/simple/index.html",
		"/packages/%2E%2E/simple/foo-bar/index.html",
		"/packages/ab/cd/../../../simple/index.html",
		"/packages/ab/%2e%2e/%2e%2e/%2e%2e/simple/foo-bar/index.html",
		"/packages/" + hashDir + "/../../../../simple/index.html",
		"/packages/..%2fsimple%2findex.html",
		"/packages/ab/cd/ef/..%5c..%5c..%5csimple%5cindex.html",
		"/packages/" + hashDir + "/.tmp-foo_bar-1.0.tar.gz12345",
		"/packages/" + hashDir + "/",
		"/packages/" + hashDir,
		"/packages/ab/cd/",
		"/packages/ab/",
		"/packages/",
		"/packages/AB/cd/0123/foo_bar-1.0.tar.gz",
		"/packages/ab/cd/zz/foo_bar-1.0.tar.gz",
		"/packages/abc/d/0123/foo_bar-1.0.tar.gz",
		"/packages/" + hashDir + "/foo_bar-1.0.tar.gz/extra",
		"/packages/" + hashDir + "//foo_bar-1.0.tar.gz",
		"/packages/" + hashDir + "/no-such-file.whl",
		"/packages/" + hashDir + "/foo_bar-1.0.tar.gz%00",
		"/simple/index.html",
	} {
		for _, method := range []string{"GET", "HEAD"} {
			resp, body := get(t, h, method, target)
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s %s = %d, want 404 or 400", method, target, resp.StatusCode)
			}
			if strings.Contains(body, "html") || strings.Contains(body, "half written") {
				t.Errorf("%s %s leaked file contents: %q", method, target, body)
			}
		}
	}
	getStatus(t, http.StatusBadRequest, h, "GET", "/packages/../simple/index.html")
	getStatus(t, http.StatusMethodNotAllowed, h, "PUT", "/packages/"+hashDir+"/foo_bar-1.0.tar.gz")
}

func TestFilePermission(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	s, _ := newFileServer(t)
	path := filepath.Join(s.dir.Packages(), filepath.FromSlash(hashDir), "foo_bar-1.0.tar.gz")
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	getStatus(t, http.StatusForbidden, s.PackagesHandler(), "GET", "/packages/"+hashDir+"/foo_bar-1.0.tar.gz")
}

// TestOverHTTP serves through a real connection, where bodies go out by
// sendfile and the header lengths must agree with it.
func TestOverHTTP(t *testing.T) {
	t.Parallel()
	s, files := newFileServer(t)
	mux := http.NewServeMux()
	mux.Handle("/simple/", s.SimpleHandler())
	mux.Handle("/packages/", s.PackagesHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tt := range []struct{ path, accept, body, serial string }{
		{"/simple/foo-bar/", pipAccept, jsonBody("foo-bar", 7), "7"},
		{"/simple/foo-bar/", "", htmlBody("foo-bar", 7), "7"},
		{"/simple/Foo_Bar/", "", htmlBody("foo-bar", 7), "7"},
		{"/packages/" + hashDir + "/foo_bar-1.0.tar.gz", "", string(files["foo_bar-1.0.tar.gz"]), ""},
	} {
		req, err := http.NewRequest("GET", srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.accept != "" {
			req.Header.Set("Accept", tt.accept)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || string(body) != tt.body {
			t.Errorf("GET %s = %d %q", tt.path, resp.StatusCode, body)
		}
		if got := resp.Header.Get("X-PyPI-Last-Serial"); got != tt.serial {
			t.Errorf("GET %s: X-PyPI-Last-Serial = %q, want %q", tt.path, got, tt.serial)
		}
	}
}
