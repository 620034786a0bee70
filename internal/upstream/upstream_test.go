package upstream_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
	"github.com/cheeseshop/cheeseshop/internal/static"
	"github.com/cheeseshop/cheeseshop/internal/upstream"
)

// fakeUpstream is a simple index on loopback: JSON or HTML pages for the
// projects it holds, files by path, request counts, and switches for
// trouble.
type fakeUpstream struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	pages   map[string]string // normalized name -> JSON page ("" none)
	html    bool              // answer pages in HTML only
	files   map[string][]byte // URL path -> bytes
	etag    string
	down    atomic.Bool
	slow    atomic.Bool
	gate    chan struct{} // when set, file responses wait for it
	counts  sync.Map      // path -> *atomic.Int64
	auth    string
	authSaw atomic.Bool
}

func newFakeUpstream(t testing.TB) *fakeUpstream {
	u := &fakeUpstream{t: t, pages: map[string]string{}, files: map[string][]byte{}, etag: `"v1"`}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *fakeUpstream) count(path string) int64 {
	v, _ := u.counts.LoadOrStore(path, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func (u *fakeUpstream) serve(w http.ResponseWriter, r *http.Request) {
	v, _ := u.counts.LoadOrStore(r.URL.Path, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	if u.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if u.slow.Load() {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
		return
	}
	if u.auth != "" {
		if _, pw, ok := r.BasicAuth(); ok && pw == u.auth {
			u.authSaw.Store(true)
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if name, ok := strings.CutPrefix(r.URL.Path, "/simple/"); ok {
		name = strings.TrimSuffix(name, "/")
		js, found := u.pages[name]
		if !found {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("If-None-Match") == u.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", u.etag)
		w.Header().Set("X-PyPI-Last-Serial", "42")
		if u.html {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, js)
			return
		}
		if !strings.Contains(r.Header.Get("Accept"), "application/vnd.pypi.simple.v1+json") {
			u.t.Errorf("page request without JSON in Accept: %q", r.Header.Get("Accept"))
		}
		w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
		io.WriteString(w, js)
		return
	}
	b, ok := u.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	gate := u.gate
	u.mu.Unlock()
	if gate != nil {
		<-gate
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.Write(b)
	u.mu.Lock()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fixture is a proxy: a store on a fresh database, a data directory, the
// cache and the static server in front of it.
type fixture struct {
	up    *fakeUpstream
	store *index.Store
	dir   string
	cache *upstream.Cache
	srv   *httptest.Server
}

func newFixture(t testing.TB, up *fakeUpstream, cfg upstream.Config) *fixture {
	t.Helper()
	pool, _ := indextest.NewDB(t)
	return newFixtureOn(t, up, index.NewStore(pool), t.TempDir(), cfg)
}

func newFixtureOn(t testing.TB, up *fakeUpstream, store *index.Store, dir string, cfg upstream.Config) *fixture {
	t.Helper()
	cfg.URL = up.srv.URL + "/simple/"
	cfg.DataDir = dir
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	c, err := upstream.New(cfg, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := static.New(static.Config{DataDir: dir, Cache: c, CacheTTL: c.TTL()}, nil)
	mux := http.NewServeMux()
	mux.Handle("/simple/", st.SimpleHandler())
	mux.Handle("/packages/", st.PackagesHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{up: up, store: store, dir: dir, cache: c, srv: srv}
}

func (f *fixture) get(t *testing.T, path, accept string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return -1, string(b), resp.Header
	}
	return resp.StatusCode, string(b), resp.Header
}

const acceptJSON = "application/vnd.pypi.simple.v1+json"

var (
	wheel    = []byte("PK fake wheel bytes of up-lib 1.0")
	metadata = []byte("Metadata-Version: 2.1\nName: up-lib\nVersion: 1.0\n")
)

func jsonPage(name string, files ...string) string {
	return fmt.Sprintf(`{"meta":{"api-version":"1.1","_last-serial":7},"name":%q,"versions":["1.0"],"files":[%s]}`, name, strings.Join(files, ","))
}

func jsonFile(filename, url string, body []byte, extra string) string {
	return fmt.Sprintf(`{"filename":%q,"url":%q,"hashes":{"sha256":%q},"size":%d,"upload-time":"2024-01-02T03:04:05.000000Z"%s}`,
		filename, url, sha(body), len(body), extra)
}

func TestPageAndFileFromJSONUpstream(t *testing.T) {
	up := newFakeUpstream(t)
	up.files["/files/up_lib-1.0-py3-none-any.whl"] = wheel
	up.files["/files/up_lib-1.0-py3-none-any.whl.metadata"] = metadata
	up.pages["up-lib"] = jsonPage("Up_Lib",
		jsonFile("up_lib-1.0-py3-none-any.whl", "/files/up_lib-1.0-py3-none-any.whl", wheel,
			fmt.Sprintf(`,"requires-python":">=3.8","yanked":"broken","core-metadata":{"sha256":%q}`, sha(metadata))),
		`{"filename":"nohash-1.0.tar.gz","url":"/files/nohash-1.0.tar.gz","hashes":{}}`)
	f := newFixture(t, up, upstream.Config{})

	status, body, h := f.get(t, "/simple/up-lib/", acceptJSON)
	if status != 200 || h.Get("Content-Type") != acceptJSON {
		t.Fatalf("JSON page: %d %s %s", status, h.Get("Content-Type"), body)
	}
	rel := datadir.PackagePath(sha(wheel), "up_lib-1.0-py3-none-any.whl")
	for _, want := range []string{`"name":"Up_Lib"`, `"url":"../../packages/` + rel + `"`, `"requires-python":">=3.8"`,
		`"yanked":"broken"`, `"core-metadata":{"sha256":"` + sha(metadata) + `"}`, `"upload-time":"2024-01-02T03:04:05.000000Z"`,
		`"size":` + fmt.Sprint(len(wheel)), `"versions":["1.0"]`, `"_last-serial":42`} {
		if !strings.Contains(body, want) {
			t.Errorf("JSON page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "nohash") {
		t.Errorf("a file without sha256 is listed:\n%s", body)
	}
	status, body, _ = f.get(t, "/simple/up-lib/", "")
	for _, want := range []string{`href="../../packages/` + rel + `#sha256=` + sha(wheel) + `"`, `data-requires-python="&gt;=3.8"`,
		`data-yanked="broken"`, `data-core-metadata="sha256=` + sha(metadata) + `"`} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("HTML page (%d) lacks %s:\n%s", status, want, body)
		}
	}
	if n := up.count("/simple/up-lib/"); n != 1 {
		t.Errorf("upstream page fetched %d times, want 1 (the second request is a cache hit)", n)
	}

	// The file: streamed on the first request, from disk afterwards.
	for i := 0; i < 3; i++ {
		status, body, h = f.get(t, "/packages/"+rel, "")
		if status != 200 || body != string(wheel) || h.Get("Content-Type") != "application/zip" {
			t.Fatalf("download %d: %d %q %s", i, status, body, h.Get("Content-Type"))
		}
	}
	status, body, _ = f.get(t, "/packages/"+rel+".metadata", "")
	if status != 200 || body != string(metadata) {
		t.Fatalf("metadata: %d %q", status, body)
	}
	if n := up.count("/files/up_lib-1.0-py3-none-any.whl"); n != 1 {
		t.Errorf("file fetched %d times from the upstream, want 1", n)
	}
	if b, err := os.ReadFile(datadir.New(f.dir).CachePackage(rel)); err != nil || string(b) != string(wheel) {
		t.Errorf("cached file: %q, %v", b, err)
	}
	if status, _, _ := f.get(t, "/packages/"+datadir.PackagePath(sha([]byte("x")), "other-1.0.tar.gz"), ""); status != 404 {
		t.Errorf("a file no page lists: %d, want 404", status)
	}
	f.cache.FlushStats(context.Background())
	st, err := f.store.UpstreamStatus(context.Background())
	if err != nil || st.Projects != 1 || st.CachedFiles != 1 || st.Bytes != int64(len(wheel)+len(metadata)) || st.Hits == 0 || st.Misses == 0 {
		t.Errorf("status: %+v, %v", st, err)
	}

	// Purge: gone from disk and database; the next request fetches again.
	if _, n, err := upstream.Purge(context.Background(), f.store, f.dir, []index.Normalized{"up-lib"}); err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if _, err := os.Stat(datadir.New(f.dir).CachePackage(rel)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("purged file still on disk: %v", err)
	}
	f.get(t, "/simple/up-lib/", "")
	if n := up.count("/simple/up-lib/"); n != 2 {
		t.Errorf("after purge, page fetched %d times, want 2", n)
	}
}

func TestHTMLUpstream(t *testing.T) {
	up := newFakeUpstream(t)
	up.html = true
	up.files["/packages/ab/up_app-2.0.tar.gz"] = wheel
	up.pages["up-app"] = `<!DOCTYPE html><html><head><title>Links for up.app</title></head><body>
<a href="../../packages/ab/up_app-2.0.tar.gz#sha256=` + sha(wheel) + `" data-requires-python="&gt;=3.9" data-dist-info-metadata="true">up_app-2.0.tar.gz</a><br>
<a href="../../packages/ab/up_app-1.0.tar.gz#md5=00">up_app-1.0.tar.gz</a>
</body></html>`
	f := newFixture(t, up, upstream.Config{})
	status, body, _ := f.get(t, "/simple/up-app/", acceptJSON)
	rel := datadir.PackagePath(sha(wheel), "up_app-2.0.tar.gz")
	for _, want := range []string{`"api-version":"1.0"`, `"name":"up.app"`, `"requires-python":">=3.9"`, `"core-metadata":true`, rel} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("page (%d) lacks %s:\n%s", status, want, body)
		}
	}
	if strings.Contains(body, "up_app-1.0") {
		t.Errorf("a file without sha256 is listed")
	}
	if status, body, _ := f.get(t, "/packages/"+rel, ""); status != 200 || body != string(wheel) {
		t.Errorf("download: %d %q", status, body)
	}
}

func TestLocalWins(t *testing.T) {
	up := newFakeUpstream(t)
	up.pages["shadowed"] = jsonPage("shadowed")
	up.pages["only-deleted"] = jsonPage("only-deleted")
	f := newFixture(t, up, upstream.Config{})
	ctx := context.Background()
	u, err := f.store.CreateUser(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := index.ParseVersion("1.0")
	// A registration only (no page written here, as after a crash): the
	// name is local, the upstream is never asked.
	for _, name := range []string{"Shadowed", "Only.Deleted"} {
		if _, err := f.store.RegisterRelease(ctx, index.NewRelease{Project: name, Version: v, Registrant: u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{"/simple/shadowed/", "/simple/only-deleted/"} {
		if status, _, _ := f.get(t, path, ""); status != 404 {
			t.Errorf("%s: %d, want 404 from the local side", path, status)
		}
		if n := up.count(path); n != 0 {
			t.Errorf("%s: upstream asked %d times about a local name", path, n)
		}
	}
	// A claimed name is local too, before any upload.
	if _, err := upstream.Claim(ctx, f.store, f.dir, "claimed"); err != nil {
		t.Fatal(err)
	}
	up.pages["claimed"] = jsonPage("claimed")
	if status, _, _ := f.get(t, "/simple/claimed/", ""); status != 404 || up.count("/simple/claimed/") != 0 {
		t.Errorf("claimed name looked up upstream (%d)", status)
	}
}

func TestUploadOfCachedNameNeedsClaim(t *testing.T) {
	up := newFakeUpstream(t)
	up.pages["public-pkg"] = jsonPage("public-pkg")
	f := newFixture(t, up, upstream.Config{})
	ctx := context.Background()
	if status, _, _ := f.get(t, "/simple/public-pkg/", ""); status != 200 {
		t.Fatalf("page: %d", status)
	}
	u, _ := f.store.CreateUser(ctx, "bob", "x")
	v, _ := index.ParseVersion("1.0")
	_, err := f.store.RegisterRelease(ctx, index.NewRelease{Project: "Public_Pkg", Version: v, Registrant: u.ID})
	if !errors.Is(err, index.ErrForbidden) || !strings.Contains(publicMessage(err), "cheeseshop project claim public-pkg") {
		t.Fatalf("register of a cached name: %v", err)
	}
	if _, err := upstream.Claim(ctx, f.store, f.dir, "public-pkg"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(datadir.New(f.dir).CacheProjectPages("public-pkg")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("claimed name's cached pages stay: %v", err)
	}
	if _, err := f.store.RegisterRelease(ctx, index.NewRelease{Project: "Public_Pkg", Version: v, Registrant: u.ID}); err != nil {
		t.Fatalf("register after claim: %v", err)
	}
}

func TestRevalidateNotFoundAndFailures(t *testing.T) {
	up := newFakeUpstream(t)
	up.pages["lib"] = jsonPage("lib")
	f := newFixture(t, up, upstream.Config{TTL: time.Millisecond, NegativeTTL: time.Hour, Timeout: 300 * time.Millisecond})

	if status, _, _ := f.get(t, "/simple/lib/", ""); status != 200 {
		t.Fatal(status)
	}
	time.Sleep(5 * time.Millisecond)
	// After the TTL: a conditional request, answered 304.
	if status, _, _ := f.get(t, "/simple/lib/", ""); status != 200 || up.count("/simple/lib/") != 2 {
		t.Fatalf("revalidation: %d, %d upstream requests", status, up.count("/simple/lib/"))
	}
	// A 404 is remembered.
	for i := 0; i < 2; i++ {
		if status, _, _ := f.get(t, "/simple/nope/", ""); status != 404 {
			t.Errorf("unknown: %d", status)
		}
	}
	if n := up.count("/simple/nope/"); n != 1 {
		t.Errorf("a cached 404 asked the upstream %d times, want 1", n)
	}
	// Down: the stale page is served; a never-cached project is a 502.
	up.down.Store(true)
	time.Sleep(5 * time.Millisecond)
	if status, body, _ := f.get(t, "/simple/lib/", ""); status != 200 || !strings.Contains(body, "Links for lib") {
		t.Errorf("stale-if-error: %d %s", status, body)
	}
	if status, body, _ := f.get(t, "/simple/never/", ""); status != 502 || !strings.Contains(body, "upstream index") {
		t.Errorf("never cached, upstream down: %d %q", status, body)
	}
	// Slow: a 504 within the timeout.
	up.down.Store(false)
	up.slow.Store(true)
	start := time.Now()
	if status, body, _ := f.get(t, "/simple/never2/", ""); status != 504 || !strings.Contains(body, "did not answer within") {
		t.Errorf("never cached, upstream slow: %d %q", status, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("504 took %s", d)
	}
}

func TestShaMismatchNeverServedWholeNorKept(t *testing.T) {
	up := newFakeUpstream(t)
	good := []byte(strings.Repeat("the real bytes ", 20000)) // > holdBack
	bad := []byte(strings.Repeat("evil bytes here", 20000))
	up.files["/files/evil-1.0.tar.gz"] = bad
	up.pages["evil"] = jsonPage("evil", jsonFile("evil-1.0.tar.gz", "/files/evil-1.0.tar.gz", good, ""))
	f := newFixture(t, up, upstream.Config{})
	if status, _, _ := f.get(t, "/simple/evil/", ""); status != 200 {
		t.Fatal(status)
	}
	rel := datadir.PackagePath(sha(good), "evil-1.0.tar.gz")
	for i := 0; i < 2; i++ {
		resp, err := http.Get(f.srv.URL + "/packages/" + rel)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil || len(b) >= len(bad) {
			t.Errorf("download %d: read %d of %d bytes, err %v: the client must see a broken download", i, len(b), len(bad), err)
		}
	}
	if _, err := os.Stat(datadir.New(f.dir).CachePackage(rel)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mismatched file kept: %v", err)
	}
	entries, _ := os.ReadDir(datadir.New(f.dir).CachePackage(rel) + "/..")
	if len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestConcurrentFirstDownloadsFetchOnce(t *testing.T) {
	up := newFakeUpstream(t)
	big := []byte(strings.Repeat("0123456789", 100000))
	up.files["/files/big-1.0.tar.gz"] = big
	up.pages["big"] = jsonPage("big", jsonFile("big-1.0.tar.gz", "/files/big-1.0.tar.gz", big, ""))
	pool, _ := indextest.NewDB(t)
	dir := t.TempDir()
	// Two caches on one database and data directory: two processes as far
	// as the lock files are concerned (flock locks belong to open files).
	a := newFixtureOn(t, up, index.NewStore(pool), dir, upstream.Config{})
	b := newFixtureOn(t, up, index.NewStore(pool), dir, upstream.Config{})
	if status, _, _ := a.get(t, "/simple/big/", ""); status != 200 {
		t.Fatal(status)
	}
	rel := datadir.PackagePath(sha(big), "big-1.0.tar.gz")
	gate := make(chan struct{})
	up.mu.Lock()
	up.gate = gate
	up.mu.Unlock()
	var wg sync.WaitGroup
	results := make([]string, 6)
	for i := range results {
		fx := a
		if i%2 == 1 {
			fx = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, body, _ := fx.get(t, "/packages/"+rel, "")
			results[i] = body
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(gate)
	wg.Wait()
	for i, r := range results {
		if r != string(big) {
			t.Errorf("client %d got %d bytes", i, len(r))
		}
	}
	if n := up.count("/files/big-1.0.tar.gz"); n != 1 {
		t.Errorf("fetched %d times from the upstream, want 1", n)
	}
	if locks, _ := filepath.Glob(filepath.Join(dir, datadir.CacheDir, datadir.TmpDir, "*.lock")); len(locks) > 0 {
		t.Errorf("lock files left: %q", locks)
	}
}

func TestCredentials(t *testing.T) {
	up := newFakeUpstream(t)
	up.auth = "s3cret"
	up.pages["p"] = jsonPage("p")
	f := newFixture(t, up, upstream.Config{Username: "u", Password: "s3cret"})
	if status, _, _ := f.get(t, "/simple/p/", ""); status != 200 || !up.authSaw.Load() {
		t.Errorf("credentials not sent (%d)", status)
	}
}

func publicMessage(err error) string {
	m, _ := index.PublicMessage(err)
	return m
}

// A first request that is not a plain GET (a Range, as uv reads a wheel's
// METADATA, or a HEAD) fetches the whole file into the cache and is then
// answered from disk: the right part, the right headers.
func TestFirstDownloadRangeAndHead(t *testing.T) {
	up := newFakeUpstream(t)
	up.files["/files/up_lib-1.0-py3-none-any.whl"] = wheel
	up.files["/files/up_lib-2.0-py3-none-any.whl"] = metadata // any other bytes
	up.pages["up-lib"] = jsonPage("up-lib",
		jsonFile("up_lib-1.0-py3-none-any.whl", "/files/up_lib-1.0-py3-none-any.whl", wheel, ""),
		jsonFile("up_lib-2.0-py3-none-any.whl", "/files/up_lib-2.0-py3-none-any.whl", metadata, ""))
	f := newFixture(t, up, upstream.Config{})
	f.get(t, "/simple/up-lib/", "")

	rel := datadir.PackagePath(sha(wheel), "up_lib-1.0-py3-none-any.whl")
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/packages/"+rel, nil)
	req.Header.Set("Range", "bytes=2-5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(body) != string(wheel[2:6]) {
		t.Errorf("first download with a Range: %d %q, want 206 %q", resp.StatusCode, body, wheel[2:6])
	}

	rel = datadir.PackagePath(sha(metadata), "up_lib-2.0-py3-none-any.whl")
	resp, err = http.Head(f.srv.URL + "/packages/" + rel)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(metadata)) {
		t.Errorf("first HEAD: %d, length %d, want 200, %d", resp.StatusCode, resp.ContentLength, len(metadata))
	}
	for _, c := range []struct {
		body []byte
		name string
	}{{wheel, "up_lib-1.0-py3-none-any.whl"}, {metadata, "up_lib-2.0-py3-none-any.whl"}} {
		if _, err := os.Stat(datadir.New(f.dir).CachePackage(datadir.PackagePath(sha(c.body), c.name))); err != nil {
			t.Errorf("%s not cached after the first request: %v", c.name, err)
		}
	}
}
