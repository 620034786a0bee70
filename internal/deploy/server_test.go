package deploy_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/deploy"
	"github.com/cheeseshop/cheeseshop/internal/deploy/deploytest"
	"github.com/cheeseshop/cheeseshop/internal/static"
)

// required reports whether a missing web server must fail the test rather
// than skip it (make test sets CHEESESHOP_REQUIRE).
func required() bool { return os.Getenv("CHEESESHOP_REQUIRE") != "" || os.Getenv("CI") == "true" }

// Fixture pages and files, in the layout staticgen and upload write.
const (
	fileDir  = "packages/3f/a2/9c0d1e"
	sdist    = "foo_bar-1.0.tar.gz"
	wheel    = "foo_bar-1.0-py3-none-any.whl"
	rootHTML = "<!DOCTYPE html><title>root</title><!--SERIAL 7-->\n"
	rootJSON = `{"meta":{"api-version":"1.1","_last-serial":7},"projects":[]}` + "\n"
	pageHTML = "<!DOCTYPE html><title>foo-bar</title><!--SERIAL 5-->\n"
	pageJSON = `{"meta":{"api-version":"1.1","_last-serial":5},"name":"foo-bar"}` + "\n"
)

func writeData(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"simple/index.html":               rootHTML,
		"simple/index.v1_json":            rootJSON,
		"simple/foo-bar/index.html":       pageHTML,
		"simple/foo-bar/index.v1_json":    pageJSON,
		"simple/foo-bar/.index.html12345": "half-written page",
		// A project with only an HTML page: JSON requests go to the app.
		"simple/half/index.html":                  "<!--SERIAL 1-->",
		fileDir + "/" + sdist:                     "\x1f\x8b sdist bytes",
		fileDir + "/" + wheel:                     "PK wheel bytes",
		fileDir + "/" + wheel + ".metadata":       "Metadata-Version: 2.1\nName: foo-bar\n",
		fileDir + "/.upload-123.part":             "temporary",
		"tmp/upload-1.part":                       "in progress",
		"simple/foo-bar/index.html.orig":          "stray",
		"packages/3f/a2/9c0d1e/sub/" + sdist:      "too deep",
		"packages/3f/a2/9c0d1e/" + sdist + ".asc": "sig",
		// The upstream cache (--upstream): a cached file and a cached page.
		"cache/packages/5e/f5/cd5a/up_lib-1.0.tar.gz": "cached upstream bytes",
		"cache/simple/up-lib/index.html":              "<!--SERIAL 3-->",
		"cache/simple/up-lib/index.v1_json":           `{"meta":{"api-version":"1.0","_last-serial":3}}`,
		"web/index.html":                              "home page",
		"web/404.html":                                "not found page",
		"web/static/style.css":                        "body{}",
		"web/project/foo-bar/index.html":              "project page",
		"web/project/foo-bar/1.0/index.html":          "release page",
		"web/project/foo-bar/.index.html777":          "half-written page",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := deploytest.OpenPath(dir); err != nil {
		t.Fatal(err)
	}
}

// fakeApp stands in for `cheeseshop serve`: it answers every request with
// "app" and remembers the requests it saw.
type fakeApp struct {
	mu   sync.Mutex
	seen []*http.Request
	srv  *http.Server
	addr string
}

func startApp(t *testing.T, addr string) *fakeApp {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeApp{addr: ln.Addr().String()}
	a.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		r.Header.Set("X-Body-Bytes", fmt.Sprint(n))
		a.mu.Lock()
		a.seen = append(a.seen, r)
		a.mu.Unlock()
		w.Header().Set("X-App", "1")
		fmt.Fprintf(w, "app %s %s", r.Method, r.URL.RequestURI())
	})}
	go a.srv.Serve(ln)
	t.Cleanup(a.stop)
	return a
}

func (a *fakeApp) stop() { a.srv.Close() }

func (a *fakeApp) last(t *testing.T) *http.Request {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seen) == 0 {
		t.Fatal("the app saw no request")
	}
	return a.seen[len(a.seen)-1]
}

var client = &http.Client{
	Timeout: 30 * time.Second,
	// Raw responses: no redirects followed, no transparent gzip.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{DisableCompression: true},
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, body io.Reader, header ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// acceptCases: which representation a web server sends for an Accept header,
// and whether the app (internal/static) agrees.
var acceptCases = []struct {
	accept    string
	json      bool
	sameAsApp bool
}{
	{"", false, true},
	{"*/*", false, true},
	{"text/html", false, true},
	{"text/html, application/xhtml+xml, */*;q=0.8", false, true},
	// pip 23 and 26
	{"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", true, true},
	// uv
	{"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", true, true},
	// bandersnatch 8
	{"application/vnd.pypi.simple.v1+json", true, true},
	{"application/vnd.pypi.simple.latest+json", true, true},
	{"Application/VND.PyPI.Simple.V1+JSON", true, true},
	{"application/vnd.pypi.simple.v1+json;q=0.5", true, true},
	{"application/vnd.pypi.simple.v1+json ; q=1.0", true, true},
	{"application/vnd.pypi.simple.v1+json;q=0, text/html", false, true},
	{"application/vnd.pypi.simple.v1+json; q=0.000, text/html", false, true},
	{"text/html, application/vnd.pypi.simple.v1+json;q=0", false, true},
	{"application/vnd.pypi.simple.v1+json;charset=utf-8;q=0, */*", false, true},
	{"application/vnd.pypi.simple.v1+jsonx, text/html", false, true},
	{"application/vnd.pypi.simple.v1+html", false, false}, // the app names v1+html; static mode sends text/html
	// The app weighs q against text/html; static mode sends what the client
	// said it can read.
	{"text/html, application/vnd.pypi.simple.v1+json;q=0.5", true, false},
}

func TestDeployAcceptCasesMatchApp(t *testing.T) {
	for _, c := range acceptCases {
		app, ok := static.Negotiate(c.accept)
		if !ok {
			app = "406"
		}
		web := "text/html"
		if c.json {
			web = "application/vnd.pypi.simple.v1+json"
		}
		if (app == web) != c.sameAsApp {
			t.Errorf("Accept %q: the app sends %s, the web server %s; the table says sameAsApp=%v", c.accept, app, web, c.sameAsApp)
		}
	}
}

// TestDeployServers runs real nginx and Apache with the rendered
// configurations over a fixture data directory, in front of a fake app.
func TestDeployServers(t *testing.T) {
	eachWebServer(t, testServer)
}

// eachWebServer runs fn as a parallel subtest for nginx and for Apache; a
// server that is not installed is skipped, or fails the test when
// required.
func eachWebServer(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, kind := range []string{deploytest.Nginx, deploytest.Apache} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			if err := deploytest.Missing(kind); err != nil {
				if required() {
					t.Fatal(err)
				}
				t.Skip(err)
			}
			fn(t, kind)
		})
	}
}

// serveDeployed runs nginx or Apache (kind) with the configuration
// cheeseshop deploy prints for cfg, on a free port, and returns its URL. The
// server stops when the test ends, and shows its logs if the test failed.
func serveDeployed(t *testing.T, kind string, cfg deploy.Config) string {
	t.Helper()
	srv := deploytest.StartT(t, kind, filepath.Join(t.TempDir(), kind), func(listen string) ([]byte, error) {
		var buf bytes.Buffer
		c := cfg
		c.Listen = listen
		if kind == deploytest.Nginx {
			err := deploy.Nginx(&buf, c)
			return buf.Bytes(), err
		}
		err := deploy.Apache(&buf, c)
		return buf.Bytes(), err
	})
	return srv.URL
}

func testServer(t *testing.T, kind string) {
	data := filepath.Join(t.TempDir(), "data")
	writeData(t, data)
	app := startApp(t, "127.0.0.1:0")
	// A small file limit keeps the body-limit check cheap: the web server
	// allows 1 MiB + 20 MiB.
	cfg := deploy.Config{Upstream: app.addr, DataDir: data, ServerName: "localhost", MaxFileSize: 1 << 20}
	u := serveDeployed(t, kind, cfg)

	checkPage := func(t *testing.T, r response, json bool, want string) {
		t.Helper()
		ct := "text/html; charset=utf-8"
		if json {
			ct = "application/vnd.pypi.simple.v1+json"
		}
		checkVary(t, r)
		checkHeaders(t, r, map[string]string{
			"Content-Type":                ct,
			"Cache-Control":               "max-age=0, must-revalidate, public",
			"Access-Control-Allow-Origin": "*",
			// Only the app sends (and so exposes) X-PyPI-Last-Serial.
			"Access-Control-Expose-Headers": "",
			"X-App":                         "",
		})
		if r.status != http.StatusOK || r.body != want {
			t.Errorf("status %d, body %q; want 200, %q", r.status, r.body, want)
		}
		if r.header.Get("Etag") == "" {
			t.Error("no ETag")
		}
		for _, h := range []string{"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} {
			if v := r.header.Get(h); v != "" {
				t.Errorf("a GET answered with the preflight header %s: %q", h, v)
			}
		}
	}

	t.Run("negotiation", func(t *testing.T) {
		for _, c := range acceptCases {
			var h []string
			if c.accept != "" {
				h = []string{"Accept", c.accept}
			}
			r := do(t, "GET", u+"/simple/foo-bar/", nil, h...)
			want := pageHTML
			if c.json {
				want = pageJSON
			}
			t.Run(c.accept, func(t *testing.T) { checkPage(t, r, c.json, want) })
		}
		checkPage(t, do(t, "GET", u+"/simple/", nil), false, rootHTML)
		checkPage(t, do(t, "GET", u+"/simple/", nil, "Accept", "application/vnd.pypi.simple.v1+json"), true, rootJSON)
		r := do(t, "HEAD", u+"/simple/foo-bar/", nil, "Accept", "application/vnd.pypi.simple.v1+json")
		checkHeaders(t, r, map[string]string{"Content-Type": "application/vnd.pypi.simple.v1+json", "Content-Length": fmt.Sprint(len(pageJSON))})
	})

	t.Run("people", func(t *testing.T) {
		// The pages for people come from disk, with the app's security
		// headers, so they are read while the app is down.
		for _, tc := range []struct{ path, body, ct string }{
			{"/", "home page", "text/html; charset=utf-8"},
			{"/static/style.css", "body{}", "text/css; charset=utf-8"},
			{"/project/foo-bar/", "project page", "text/html; charset=utf-8"},
			{"/project/foo-bar/1.0/", "release page", "text/html; charset=utf-8"},
		} {
			r := do(t, "GET", u+tc.path, nil)
			if r.status != http.StatusOK || r.body != tc.body {
				t.Errorf("GET %s: status %d, body %q; want 200, %q", tc.path, r.status, r.body, tc.body)
			}
			checkHeaders(t, r, map[string]string{
				"Content-Type":            tc.ct,
				"Content-Security-Policy": deploy.WebCSP,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         deploy.WebReferrer,
				"X-Frame-Options":         deploy.WebFrame,
				"X-App":                   "",
			})
		}
		// Names and versions to normalise, unknown projects and search go
		// to the app.
		for _, p := range []string{"/project/Foo_Bar/", "/project/nope/", "/project/foo-bar/2.0/",
			"/project/foo-bar/.index.html777", "/project/foo-bar/index.html", "/search/?q=x"} {
			if r := do(t, "GET", u+p, nil); r.header.Get("X-App") == "" {
				t.Errorf("GET %s: status %d, not from the app", p, r.status)
			}
		}
	})

	t.Run("gzip", func(t *testing.T) {
		// The fixture turns gzip on, as Debian's nginx.conf does: nginx then
		// compresses both pages. Whatever a server sends, it unpacks to the
		// page.
		for _, c := range []struct {
			accept, want string
		}{{"", pageHTML}, {"application/vnd.pypi.simple.v1+json", pageJSON}} {
			r := do(t, "GET", u+"/simple/foo-bar/", nil, "Accept", c.accept, "Accept-Encoding", "gzip")
			enc := r.header.Get("Content-Encoding")
			if kind == deploytest.Nginx && enc != "gzip" {
				t.Errorf("Accept %q: Content-Encoding %q, want gzip", c.accept, enc)
			}
			body := r.body
			if enc == "gzip" {
				zr, err := gzip.NewReader(strings.NewReader(r.body))
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
				body = string(b)
			}
			if r.status != http.StatusOK || body != c.want {
				t.Errorf("Accept %q, gzip: status %d, body %q", c.accept, r.status, body)
			}
		}
	})

	t.Run("preflight", func(t *testing.T) {
		// A script on another site that revalidates a page (If-None-Match)
		// asks first; the web server answers from its configuration, for
		// pages on disk and names it leaves to the app alike.
		for _, p := range []string{"/simple/foo-bar/", "/simple/"} {
			r := do(t, "OPTIONS", u+p, nil, "Origin", "https://example.org",
				"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "if-none-match")
			if r.status < 200 || r.status > 299 {
				t.Errorf("OPTIONS %s: status %d, want 2xx", p, r.status)
			}
			checkHeaders(t, r, map[string]string{
				"Access-Control-Allow-Origin":  "*",
				"Access-Control-Allow-Methods": "GET",
				"Access-Control-Allow-Headers": "Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since",
				"Access-Control-Max-Age":       "86400",
				"X-App":                        "",
			})
		}
		// Only the preflight: any other method on a page on disk is still
		// refused, by the web server, and changes nothing.
		for _, m := range []string{"PUT", "DELETE", "PATCH"} {
			r := do(t, m, u+"/simple/foo-bar/", strings.NewReader("x"))
			if r.status != http.StatusMethodNotAllowed {
				t.Errorf("%s /simple/foo-bar/: status %d, want 405", m, r.status)
			}
			checkHeaders(t, r, map[string]string{"Access-Control-Allow-Methods": "", "X-App": ""})
		}
		if r := do(t, "GET", u+"/simple/foo-bar/", nil); r.status != http.StatusOK || r.body != pageHTML {
			t.Errorf("GET after other methods: status %d, body %q", r.status, r.body)
		}
	})

	t.Run("revalidation", func(t *testing.T) {
		for _, accept := range []string{"text/html", "application/vnd.pypi.simple.v1+json"} {
			r := do(t, "GET", u+"/simple/foo-bar/", nil, "Accept", accept)
			r = do(t, "GET", u+"/simple/foo-bar/", nil, "Accept", accept, "If-None-Match", r.header.Get("Etag"))
			if r.status != http.StatusNotModified {
				t.Errorf("Accept %s, If-None-Match: status %d, want 304", accept, r.status)
			}
			checkVary(t, r)
			checkHeaders(t, r, map[string]string{"Cache-Control": "max-age=0, must-revalidate, public"})
		}
	})

	t.Run("files", func(t *testing.T) {
		for _, f := range []struct{ name, ct string }{
			{sdist, "application/octet-stream"},
			{wheel, "application/zip"},
			{wheel + ".metadata", "text/plain; charset=utf-8"},
		} {
			r := do(t, "GET", u+"/"+fileDir+"/"+f.name, nil, "Accept-Encoding", "gzip")
			want, _ := os.ReadFile(filepath.Join(data, fileDir, f.name))
			if r.status != http.StatusOK || r.body != string(want) {
				t.Errorf("%s: status %d, body %q", f.name, r.status, r.body)
			}
			checkHeaders(t, r, map[string]string{
				"Content-Type":                f.ct,
				"Content-Encoding":            "",
				"Cache-Control":               "max-age=31536000, immutable, public",
				"X-Content-Type-Options":      "nosniff",
				"Access-Control-Allow-Origin": "*",
				"X-App":                       "",
			})
		}
		// uv reads a wheel's METADATA with Range requests.
		r := do(t, "GET", u+"/"+fileDir+"/"+wheel, nil, "Range", "bytes=0-1")
		if r.status != http.StatusPartialContent || r.body != "PK" {
			t.Errorf("range: status %d, body %q; want 206, PK", r.status, r.body)
		}
	})

	t.Run("not served from disk", func(t *testing.T) {
		// Missing files, temporary files, odd paths under /packages: 404
		// from the web server, never a listing and never the app.
		for _, p := range []string{
			"/" + fileDir + "/.upload-123.part",
			"/" + fileDir + "/",
			"/packages/3f/a2/",
			"/packages/",
			"/packages/3f/a2/9c0d1e/sub/" + sdist,
			"/packages/3F/a2/9c0d1e/" + sdist,
		} {
			r := do(t, "GET", u+p, nil)
			if r.status != http.StatusNotFound || r.header.Get("X-App") != "" {
				t.Errorf("GET %s: status %d, X-App %q; want 404 from the web server", p, r.status, r.header.Get("X-App"))
			}
		}
		// Everything else goes to the app: names to normalize (it
		// redirects), unknown projects (it answers 404), the data
		// directory's other files, and a JSON request for a project whose
		// JSON page is missing.
		for _, tc := range []struct{ path, accept string }{
			{"/simple/Foo_Bar/", ""},
			{"/simple/foo-bar", ""},
			{"/simple", ""},
			{"/simple/nope/", ""},
			{"/simple/foo-bar/index.html", ""},
			{"/simple/foo-bar/.index.html12345", ""},
			{"/simple/-x/", ""},
			{"/simple/half/", "application/vnd.pypi.simple.v1+json"},
			{"/tmp/upload-1.part", ""},
			{"/healthz", ""},
			{"/legacy/?a=1&b=%2F", ""},
			// A file on neither tree: the app fetches it from the
			// upstream (--upstream) or answers 404.
			{"/" + fileDir + "/missing-1.0.tar.gz", ""},
			// A cached upstream page: the app revalidates it.
			{"/simple/up-lib/", ""},
		} {
			r := do(t, "GET", u+tc.path, nil, "Accept", tc.accept)
			if r.status != http.StatusOK || r.body != "app GET "+tc.path {
				t.Errorf("GET %s: status %d, body %q; want the app's answer", tc.path, r.status, r.body)
			}
		}
		// A cached upstream file comes from disk, like a local one.
		if r := do(t, "GET", u+"/packages/5e/f5/cd5a/up_lib-1.0.tar.gz", nil); r.status != http.StatusOK ||
			r.body != "cached upstream bytes" || r.header.Get("X-App") != "" {
			t.Errorf("cached upstream file: status %d, X-App %q, body %q", r.status, r.header.Get("X-App"), r.body)
		}
		// Static mode ignores ?format= (PROTOCOL.md 4.1 allows it): the page
		// comes from disk as Accept says.
		r := do(t, "GET", u+"/simple/foo-bar/?format=application/vnd.pypi.simple.v1%2Bjson", nil, "Accept", "text/html")
		checkPage(t, r, false, pageHTML)
	})

	t.Run("upload", func(t *testing.T) {
		body := strings.Repeat("x", 2<<20)
		r := do(t, "POST", u+"/legacy/", strings.NewReader(body), "Content-Type", "multipart/form-data; boundary=x", "X-Forwarded-For", "203.0.113.9")
		if r.status != http.StatusOK || r.body != "app POST /legacy/" {
			t.Fatalf("POST /legacy/: status %d, body %q", r.status, r.body)
		}
		seen := app.last(t)
		host := strings.TrimPrefix(u, "http://")
		for k, want := range map[string]string{
			"X-Body-Bytes":      fmt.Sprint(len(body)),
			"X-Forwarded-For":   "203.0.113.9, 127.0.0.1",
			"X-Forwarded-Proto": "http",
			"X-Forwarded-Host":  host,
		} {
			if got := seen.Header.Get(k); got != want {
				t.Errorf("the app saw %s: %q, want %q", k, got, want)
			}
		}
		if seen.Host != host && seen.Host != "127.0.0.1" {
			t.Errorf("the app saw Host %q, want the client's %q", seen.Host, host)
		}
		// Above the limit: refused by the web server, before the app.
		n := len(app.seen)
		r = do(t, "POST", u+"/legacy/", bytes.NewReader(make([]byte, 22<<20)), "Content-Type", "multipart/form-data; boundary=x")
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("22 MiB upload with a 21 MiB limit: status %d, want 413", r.status)
		}
		if len(app.seen) != n {
			t.Error("the oversized upload reached the app")
		}
	})

	t.Run("app down", func(t *testing.T) {
		app.stop()
		// Installs go on: pages and files come from disk.
		checkPage(t, do(t, "GET", u+"/simple/foo-bar/", nil, "Accept", acceptCases[4].accept), true, pageJSON)
		checkPage(t, do(t, "GET", u+"/simple/foo-bar/", nil), false, pageHTML)
		if r := do(t, "GET", u+"/"+fileDir+"/"+wheel, nil); r.status != http.StatusOK {
			t.Errorf("file with the app down: status %d", r.status)
		}
		if r := do(t, "GET", u+"/packages/5e/f5/cd5a/up_lib-1.0.tar.gz", nil); r.status != http.StatusOK {
			t.Errorf("cached upstream file with the app down: status %d", r.status)
		}
		// A cached upstream page is served as it stands (stale-if-error).
		{
			r := do(t, "GET", u+"/simple/up-lib/", nil)
			if r.status != http.StatusOK || r.body != "<!--SERIAL 3-->" || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("cached upstream page with the app down: status %d, %q, %q", r.status, r.header.Get("Content-Type"), r.body)
			}
			r = do(t, "GET", u+"/simple/up-lib/", nil, "Accept", "application/vnd.pypi.simple.v1+json")
			if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/vnd.pypi.simple.v1+json" {
				t.Errorf("cached upstream JSON page with the app down: status %d, %q", r.status, r.header.Get("Content-Type"))
			}
		}
		// Uploads and pages not on disk fail fast with a gateway error.
		for _, p := range []string{"/legacy/", "/simple/nope/"} {
			start := time.Now()
			method := "GET"
			if p == "/legacy/" {
				method = "POST"
			}
			r := do(t, method, u+p, strings.NewReader("x"))
			if r.status != http.StatusBadGateway && r.status != http.StatusServiceUnavailable {
				t.Errorf("%s %s with the app down: status %d, want 502 or 503", method, p, r.status)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("%s %s with the app down took %s", method, p, d)
			}
		}
		// The app comes back on its address: the very next request reaches
		// it (Apache must not keep the backend marked as failed).
		back := startApp(t, app.addr)
		r := do(t, "POST", u+"/legacy/", strings.NewReader("x"))
		if r.status != http.StatusOK || r.body != "app POST /legacy/" {
			t.Errorf("POST /legacy/ after the app came back: status %d, body %q", r.status, r.body)
		}
		back.last(t)
	})
}

func checkHeaders(t *testing.T, r response, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := strings.Join(r.header.Values(k), ", "); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

// checkVary checks that a page varies on Accept, and on nothing else but
// Accept-Encoding (nginx adds it where gzip is on, as Debian's nginx.conf has
// it).
func checkVary(t *testing.T, r response) {
	t.Helper()
	var tokens []string
	for _, v := range r.header.Values("Vary") {
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "Accept-Encoding" {
				tokens = append(tokens, tok)
			}
		}
	}
	if strings.Join(tokens, ", ") != "Accept" {
		t.Errorf("Vary: %q, want Accept (and Accept-Encoding if gzip is on)", r.header.Values("Vary"))
	}
}
