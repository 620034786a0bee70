package manage_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
	"github.com/cheeseshop/cheeseshop/internal/manage"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// fixture: project demo owned by alice, with maintainer bob; carol has no
// role. Everyone's password is "pw". Files exist on disk as uploads leave them.
type fixture struct {
	store   *index.Store
	dataDir string
	srv     *httptest.Server
	token   string // alice's API token
	paths   map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	pool, _ := indextest.NewDB(t)
	fx := &fixture{store: index.NewStore(pool), dataDir: t.TempDir(), paths: map[string]string{}}
	hash, err := auth.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, u := range []string{"alice", "bob", "carol"} {
		user, err := fx.store.CreateUser(ctx, u, hash)
		if err != nil {
			t.Fatal(err)
		}
		ids[u] = user.ID
	}
	for _, f := range []struct{ v, name string }{{"1.0", "demo-1.0.tar.gz"}, {"2.0", "demo-2.0.tar.gz"}, {"2.0", "demo-2.0-py3-none-any.whl"}} {
		v, _ := index.ParseVersion(f.v)
		h := fmt.Sprintf("%x", sha256.Sum256([]byte(f.name)))
		typ, pyv := index.Sdist, "source"
		if strings.HasSuffix(f.name, ".whl") {
			typ, pyv = index.Wheel, "py3"
		}
		file := index.File{Filename: f.name, Type: typ, PythonVersion: pyv, Size: 3, SHA256: h, MD5: h[:32], Blake2b256: h,
			Path: datadir.PackagePath(h, f.name)}
		if _, err := fx.store.AddFile(ctx, index.NewFile{Project: "demo", Version: v, Uploader: ids["alice"], File: file}); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(fx.dataDir, "packages", file.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{p, p + ".metadata"} {
			if err := os.WriteFile(name, []byte("abc"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		fx.paths[f.name] = p
	}
	if _, err := fx.store.AddRole(ctx, "demo", "bob", index.RoleMaintainer); err != nil {
		t.Fatal(err)
	}
	secret, sum, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.CreateToken(ctx, "alice", sum, nil); err != nil {
		t.Fatal(err)
	}
	fx.token = secret

	log := slog.New(slog.DiscardHandler)
	pages := staticgen.New(staticgen.Config{DataDir: fx.dataDir}, fx.store, log)
	svc, err := manage.New(manage.Config{DataDir: fx.dataDir}, fx.store, pages, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := pages.RegenerateProject(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/manage/", manage.NewHandler(svc, auth.New(fx.store, fx.store), log))
	fx.srv = httptest.NewServer(mux)
	t.Cleanup(fx.srv.Close)
	return fx
}

func (fx *fixture) post(t *testing.T, user, path string, form url.Values, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, fx.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	switch user {
	case "":
	case "token":
		req.SetBasicAuth("__token__", fx.token)
	default:
		req.SetBasicAuth(user, "pw")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (fx *fixture) page(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fx.dataDir, "simple", "demo", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandlerRefuses(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	tests := []struct {
		name, user, path string
		hdr              []string
		status           int
		body             string
	}{
		{"no credentials", "", "/manage/demo/2.0/yank", nil, 401, ""},
		{"wrong password", "nobody", "/manage/demo/2.0/yank", nil, 403, "Invalid or non-existent authentication information"},
		{"maintainer", "bob", "/manage/demo/2.0/yank", nil, 403, "The user 'bob' isn't allowed to manage project 'demo'"},
		{"stranger", "carol", "/manage/demo/2.0/delete", nil, 403, "The user 'carol' isn't allowed"},
		{"token", "token", "/manage/demo/2.0/yank", nil, 403, "API tokens can only upload"},
		{"cross-site", "alice", "/manage/demo/2.0/yank", []string{"Sec-Fetch-Site", "cross-site"}, 403, ""},
		{"unknown project", "alice", "/manage/nope/2.0/yank", nil, 404, ""},
		{"unknown release", "alice", "/manage/demo/9.0/yank", nil, 404, ""},
		{"unknown action", "alice", "/manage/demo/2.0/burn", nil, 404, ""},
		{"unknown file", "alice", "/manage/demo/2.0/delete?filename=demo-1.0.tar.gz", nil, 404, ""},
	}
	for _, tt := range tests {
		status, body := fx.post(t, tt.user, tt.path, nil, tt.hdr...)
		if status != tt.status || !strings.Contains(body, tt.body) {
			t.Errorf("%s: %d %q, want %d %q", tt.name, status, body, tt.status, tt.body)
		}
	}
	if strings.Contains(fx.page(t, "index.html"), "data-yanked") {
		t.Fatal("a refused request changed the page")
	}
	resp, err := http.Get(fx.srv.URL + "/manage/demo/2.0/yank")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

// TestHandlerRefusesBadText: a NUL byte or invalid UTF-8 in the user name,
// the path or a form field is a 400 saying so, decided before the store is
// asked (PostgreSQL would answer SQLSTATE 22021, a 500), and changes
// nothing.
func TestHandlerRefusesBadText(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	page := fx.page(t, "index.html")
	tests := []struct {
		name, user, path string
		form             url.Values
		body             string
	}{
		{"NUL in the user name", "al\x00ice", "/manage/demo/2.0/yank", nil,
			"The user name in the credentials contains a NUL byte."},
		{"invalid UTF-8 in the user name", "alice\xff", "/manage/demo/2.0/yank", nil,
			"The user name in the credentials is not valid UTF-8."},
		{"NUL in the project", "alice", "/manage/de%00mo/2.0/yank", nil,
			"The project name in the path contains a NUL byte."},
		{"invalid UTF-8 in the project", "alice", "/manage/demo%ff/2.0/yank", nil,
			"The project name in the path is not valid UTF-8."},
		{"NUL in the version", "alice", "/manage/demo/2.0%00/unyank", nil,
			"The version in the path contains a NUL byte."},
		{"invalid UTF-8 in the version", "alice", "/manage/demo/%c3/delete", nil,
			"The version in the path is not valid UTF-8."},
		{"NUL in the reason", "alice", "/manage/demo/2.0/yank", url.Values{"reason": {"bro\x00ken"}},
			"The value of form field 'reason' contains a NUL byte."},
		{"invalid UTF-8 in the reason", "alice", "/manage/demo/2.0/yank", url.Values{"reason": {"caf\xe9"}},
			"The value of form field 'reason' is not valid UTF-8."},
		{"invalid UTF-8 in the filename", "alice", "/manage/demo/2.0/delete?filename=demo-2.0%ff.tar.gz", nil,
			"The value of form field 'filename' is not valid UTF-8."},
		{"NUL in the filename", "alice", "/manage/demo/2.0/delete", url.Values{"filename": {"demo-2.0.tar.gz\x00"}},
			"The value of form field 'filename' contains a NUL byte."},
	}
	for _, tt := range tests {
		status, body := fx.post(t, tt.user, tt.path, tt.form)
		if status != 400 || strings.TrimSuffix(body, "\n") != tt.body {
			t.Errorf("%s: %d %q, want 400 %q", tt.name, status, body, tt.body)
		}
	}
	if fx.page(t, "index.html") != page {
		t.Error("a refused request changed the page")
	}
	// The page lists every release and file and marks yanks: unchanged
	// means no row changed either.
	for name, p := range fx.paths {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestHandlerYankAndDelete(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	status, body := fx.post(t, "alice", "/manage/Demo/2.0/yank", url.Values{"reason": {"broken <build>"}})
	if status != 200 || body != "demo 2.0: yanked\n" {
		t.Fatalf("yank: %d %q", status, body)
	}
	if html := fx.page(t, "index.html"); strings.Count(html, `data-yanked="broken &lt;build&gt;"`) != 2 {
		t.Fatalf("page after yank:\n%s", html)
	}
	if js := fx.page(t, "index.v1_json"); strings.Count(js, `"yanked":"broken <build>"`) != 2 {
		t.Fatalf("JSON page after yank:\n%s", js)
	}
	if status, body := fx.post(t, "alice", "/manage/demo/2.0/unyank", nil); status != 200 || strings.Contains(fx.page(t, "index.html"), "data-yanked") {
		t.Fatalf("unyank: %d %q", status, body)
	}

	status, body = fx.post(t, "alice", "/manage/demo/2.0/delete", url.Values{"filename": {"demo-2.0.tar.gz"}})
	if status != 200 || !strings.Contains(body, "deleted (1 files)") {
		t.Fatalf("delete file: %d %q", status, body)
	}
	if html := fx.page(t, "index.html"); strings.Contains(html, "demo-2.0.tar.gz") || !strings.Contains(html, "demo-2.0-py3-none-any.whl") {
		t.Fatalf("page after deleting a file:\n%s", html)
	}
	for _, p := range []string{fx.paths["demo-2.0.tar.gz"], fx.paths["demo-2.0.tar.gz"] + ".metadata"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s still on disk: %v", p, err)
		}
	}
	if _, err := os.Stat(fx.paths["demo-2.0-py3-none-any.whl"]); err != nil {
		t.Fatalf("the other file went too: %v", err)
	}

	status, body = fx.post(t, "alice", "/manage/demo/2.0/delete", nil)
	if status != 200 || !strings.Contains(body, "deleted (1 files)") {
		t.Fatalf("delete release: %d %q", status, body)
	}
	js := fx.page(t, "index.v1_json")
	if strings.Contains(js, "demo-2.0") || !strings.Contains(js, `"versions":["1.0"]`) {
		t.Fatalf("JSON page after deleting the release:\n%s", js)
	}
	if _, err := os.Stat(fx.paths["demo-2.0-py3-none-any.whl"]); !os.IsNotExist(err) {
		t.Fatalf("wheel still on disk: %v", err)
	}
}

// TestHandlerStatus: POST /manage/<project>/status sets the PEP 792 status
// for owners only; quarantine takes the files (and sidecars) out of
// packages/ after the pages stop linking them, and leaving it brings them
// back before the pages link them again.
func TestHandlerStatus(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	whl := fx.paths["demo-2.0-py3-none-any.whl"]
	quarantined := filepath.Join(fx.dataDir, "quarantine", strings.TrimPrefix(whl, filepath.Join(fx.dataDir, "packages")))

	refusals := []struct {
		user   string
		form   url.Values
		status int
		body   string
	}{
		{"bob", url.Values{"status": {"archived"}}, 403, "isn't allowed to manage project 'demo'"},
		{"token", url.Values{"status": {"archived"}}, 403, "API tokens can only upload"},
		{"alice", url.Values{"status": {"gone"}}, 400, `unknown project status "gone"`},
		{"alice", url.Values{"status": {"archived"}, "reason": {"a\x00b"}}, 400, ""},
	}
	for _, tt := range refusals {
		if status, body := fx.post(t, tt.user, "/manage/demo/status", tt.form); status != tt.status || !strings.Contains(body, tt.body) {
			t.Errorf("%s %v: %d %q, want %d %q", tt.user, tt.form, status, body, tt.status, tt.body)
		}
	}

	steps := []struct {
		status, reason string
		meta           string
		links, onDisk  bool
	}{
		{"archived", "see demo2", `<meta name="pypi:project-status-reason" content="see demo2">`, true, true},
		{"quarantined", "", `<meta name="pypi:project-status" content="quarantined">`, false, false},
		{"quarantined", "", `<meta name="pypi:project-status" content="quarantined">`, false, false},
		{"deprecated", "", `<meta name="pypi:project-status" content="deprecated">`, true, true},
		{"active", "", `<meta name="pypi:project-status" content="active">`, true, true},
	}
	for _, st := range steps {
		status, body := fx.post(t, "alice", "/manage/demo/status", url.Values{"status": {st.status}, "reason": {st.reason}})
		if status != 200 || !strings.Contains(body, "status "+st.status) && !strings.Contains(body, "unchanged") {
			t.Fatalf("%s: %d %q", st.status, status, body)
		}
		page := fx.page(t, "index.html")
		if !strings.Contains(page, st.meta) {
			t.Errorf("%s: page lacks %s:\n%s", st.status, st.meta, page)
		}
		if got := strings.Contains(page, "demo-2.0-py3-none-any.whl"); got != st.links {
			t.Errorf("%s: page links the wheel = %v, want %v", st.status, got, st.links)
		}
		if got := exists(whl) && exists(whl+".metadata"); got != st.onDisk {
			t.Errorf("%s: wheel and sidecar in packages/ = %v, want %v", st.status, got, st.onDisk)
		}
		if got := exists(quarantined) && exists(quarantined+".metadata"); got == st.onDisk {
			t.Errorf("%s: wheel and sidecar in quarantine/ = %v, want %v", st.status, got, !st.onDisk)
		}
		if json := fx.page(t, "index.v1_json"); !strings.Contains(json, `"project-status":{"status":"`+st.status) {
			t.Errorf("%s: JSON page: %s", st.status, json)
		}
	}
}
