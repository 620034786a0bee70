package main

// Script commands for the nginx and Apache end-to-end scripts
// (testdata/script/nginx.txtar, apache.txtar): start a real web server with
// the configuration `cheeseshop deploy` prints, and compare what it serves
// from disk with what the app serves.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cheeseshop/cheeseshop/internal/deploy/deploytest"
)

// cmdStartWeb starts nginx or Apache on a free loopback port in front of the
// app at $URL, serving $CHEESESHOP_DATA_DIR, with the configuration that
// `cheeseshop deploy KIND` prints for them. It sets $WEB to the web server's
// URL and $UPSTREAM to the app's address, so that the script can restart the
// app where the web server expects it. The server is stopped when the script
// ends. Scripts skip themselves when the server is not installed
// ([!exec:/usr/sbin/nginx] skip); TestDeployWebServersInstalled makes that a
// failure under `make test`.
//
//	startweb nginx|apache
func cmdStartWeb(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: startweb nginx|apache")
	}
	kind := args[0]
	if err := deploytest.Missing(kind); err != nil {
		ts.Fatalf("%v", err)
	}
	app, err := url.Parse(ts.Getenv("URL"))
	if err != nil || app.Host == "" {
		ts.Fatalf("startweb: $URL (%q) is not the app's URL; run waitready first", ts.Getenv("URL"))
	}
	dataDir := ts.Getenv("CHEESESHOP_DATA_DIR")
	srv, err := deploytest.Start(kind, ts.MkAbs(kind), func(listen string) ([]byte, error) {
		var stdout, stderr bytes.Buffer
		noenv := func(string) string { return "" }
		err := run(context.Background(), []string{"deploy", kind, "--listen", listen, "--upstream", app.Host,
			"--data-dir", dataDir, "--server-name", "localhost"}, noenv, strings.NewReader(""), &stdout, &stderr)
		if err != nil {
			return nil, fmt.Errorf("cheeseshop deploy %s: %w\n%s", kind, err, stderr.String())
		}
		return stdout.Bytes(), nil
	})
	ts.Check(err)
	ts.Defer(func() {
		if err := srv.Stop(); err != nil {
			ts.Logf("%v", err)
		}
		ts.Logf("%s", srv.Logs())
	})
	ts.Setenv("WEB", srv.URL)
	ts.Setenv("UPSTREAM", app.Host)
	ts.Logf("%s on %s in front of %s", kind, srv.URL, app.Host)
}

// TestDeployWebServersInstalled fails under `make test` (CHEESESHOP_REQUIRE)
// when nginx or Apache is missing, since the scripts that need them then
// skip themselves.
func TestDeployWebServersInstalled(t *testing.T) {
	for _, kind := range []string{deploytest.Nginx, deploytest.Apache} {
		if err := deploytest.Missing(kind); err != nil {
			if required() {
				t.Error(err)
			} else {
				t.Log(err)
			}
		}
	}
}

// Accept headers the pages are compared under: none (browsers, curl), pip's
// and uv's, and bandersnatch's.
var webAccepts = []string{
	"",
	"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01",
	"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01",
	"application/vnd.pypi.simple.v1+json",
}

// Headers the web server must send as the app does (PROTOCOL.md 4.1, 6 and
// conformance case 71). X-PyPI-Last-Serial is the app's alone, and so is the
// Access-Control-Expose-Headers that names it: a static server cannot read
// the serial out of the page.
var (
	pageHeaders = []string{"Content-Type", "Vary", "Cache-Control", "Access-Control-Allow-Origin",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"}
	fileHeaders = []string{"Content-Type", "Content-Length", "Content-Encoding", "Cache-Control",
		"X-Content-Type-Options", "Access-Control-Allow-Origin", "Accept-Ranges"}
)

// cmdWebMatch checks that the web server at $WEB serves each page path from
// disk (no X-PyPI-Last-Serial, which only the app sends) with the same status,
// body and headers as the app at $URL, under each of webAccepts.
//
//	webmatch PATH...
func cmdWebMatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: webmatch PATH...")
	}
	for _, p := range args {
		for _, accept := range webAccepts {
			app := webFetch(ts, ts.Getenv("URL")+p, accept)
			web := webFetch(ts, ts.Getenv("WEB")+p, accept)
			what := fmt.Sprintf("GET %s (Accept: %q)", p, accept)
			if web.Header.Get("X-Pypi-Last-Serial") != "" {
				ts.Fatalf("%s: the web server proxied the page to the app instead of serving it from disk", what)
			}
			compareResponses(ts, what, app, web, pageHeaders)
		}
	}
}

// cmdWebFiles checks every file a project page links to, through the web
// server at $WEB: each is served with the bytes the #sha256= fragment names,
// as are the .metadata files of data-core-metadata links. With -match each
// response must also equal the app's at $URL, headers included.
//
//	webfiles [-match] PAGEPATH
func cmdWebFiles(ts *testscript.TestScript, neg bool, args []string) {
	match := len(args) > 0 && args[0] == "-match"
	if match {
		args = args[1:]
	}
	if neg || len(args) != 1 {
		ts.Fatalf("usage: webfiles [-match] PAGEPATH")
	}
	pageURL := ts.Getenv("WEB") + args[0]
	page := webFetch(ts, pageURL, "text/html")
	if page.StatusCode != http.StatusOK {
		ts.Fatalf("GET %s: status %d", pageURL, page.StatusCode)
	}
	base, err := url.Parse(pageURL)
	ts.Check(err)
	links := linkRE.FindAllStringSubmatch(string(page.body), -1)
	if len(links) == 0 {
		ts.Fatalf("%s links to no files:\n%s", pageURL, page.body)
	}
	for _, l := range links {
		type file struct{ href, sha256 string }
		files := []file{{l[1], l[2]}}
		if meta := metadataRE.FindStringSubmatch(l[0]); meta != nil {
			files = append(files, file{l[1] + ".metadata", meta[1]})
		}
		for _, f := range files {
			ref, err := url.Parse(f.href)
			ts.Check(err)
			u := base.ResolveReference(ref)
			web := webFetch(ts, u.String(), "")
			if web.StatusCode != http.StatusOK {
				ts.Fatalf("GET %s: status %d", u, web.StatusCode)
			}
			sum := sha256.Sum256(web.body)
			if got := hex.EncodeToString(sum[:]); got != f.sha256 {
				ts.Fatalf("GET %s: sha256 %s, the page says %s", u, got, f.sha256)
			}
			if cc := web.Header.Get("Cache-Control"); cc != "max-age=31536000, immutable, public" {
				ts.Fatalf("GET %s: Cache-Control %q", u, cc)
			}
			if match {
				app := webFetch(ts, ts.Getenv("URL")+u.Path, "")
				compareResponses(ts, "GET "+u.Path, app, web, fileHeaders)
			}
			fmt.Fprintf(ts.Stdout(), "%s %s %s\n", path.Base(u.Path), web.Header.Get("Content-Type"), f.sha256)
		}
	}
}

var (
	// linkRE finds a file link on a project page and its sha256 fragment.
	linkRE = regexp.MustCompile(`<a href="([^"#]+)#sha256=([0-9a-f]{64})"[^>]*>`)
	// metadataRE finds the PEP 714 attribute in a link.
	metadataRE = regexp.MustCompile(`data-core-metadata="sha256=([0-9a-f]{64})"`)
)

type webResponse struct {
	*http.Response
	body []byte
}

// webFetch GETs u and keeps the answer as it came over the wire: no
// redirect followed, no compression undone.
func webFetch(ts *testscript.TestScript, u, accept string) webResponse {
	client := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		// Compare what goes over the wire, not what Go would decode.
		Transport: &http.Transport{DisableCompression: true},
	}
	return scriptGet(ts, client, u, accept)
}

// scriptGet GETs u with client (Accept: accept unless "") within 30 s.
func scriptGet(ts *testscript.TestScript, client *http.Client, u, accept string) webResponse {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	ts.Check(err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	return webResponse{resp, body}
}

func compareResponses(ts *testscript.TestScript, what string, app, web webResponse, headers []string) {
	if app.StatusCode != web.StatusCode {
		ts.Fatalf("%s: the app answers %d, the web server %d", what, app.StatusCode, web.StatusCode)
	}
	if !bytes.Equal(app.body, web.body) {
		ts.Fatalf("%s: bodies differ\napp:\n%s\nweb server:\n%s", what, app.body, web.body)
	}
	for _, h := range headers {
		a, w := strings.Join(app.Header.Values(h), ", "), strings.Join(web.Header.Values(h), ", ")
		if h == "Vary" {
			// nginx with gzip on (as Debian configures it) also varies on
			// Accept-Encoding; the app never compresses.
			w = strings.Join(slices.DeleteFunc(strings.Split(w, ", "), func(s string) bool { return s == "Accept-Encoding" }), ", ")
		}
		if a != w {
			ts.Fatalf("%s: %s is %q from the app, %q from the web server", what, h, a, w)
		}
	}
}

// cmdStaticWeb starts plain nginx serving DIR as a static tree on a free
// loopback port (a bandersnatch-style mirror: simple/<name>/index.html and
// the files its links name) and sets $STATICWEB to its URL. It is stopped
// when the script ends.
//
//	staticweb DIR
func cmdStaticWeb(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: staticweb DIR")
	}
	if err := deploytest.Missing(deploytest.Nginx); err != nil {
		ts.Fatalf("%v", err)
	}
	root := ts.MkAbs(args[0])
	ts.Check(deploytest.OpenPath(root))
	srv, err := deploytest.Start(deploytest.Nginx, ts.MkAbs("staticweb"), func(listen string) ([]byte, error) {
		return fmt.Appendf(nil, `server {
    listen %s;
    root %s;
    index index.html;
    types { text/html html; }
    default_type application/octet-stream;
}
`, listen, root), nil
	})
	ts.Check(err)
	ts.Defer(func() {
		if err := srv.Stop(); err != nil {
			ts.Logf("%v", err)
		}
	})
	ts.Setenv("STATICWEB", srv.URL)
}
