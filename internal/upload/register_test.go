package upload

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// regFixture is the harness's server (users alice and bob), posted to as
// distutils' register command does.
type regFixture struct {
	store   *index.Store
	dataDir string
	url     string
}

func newRegFixture(t *testing.T) *regFixture {
	t.Helper()
	h := newHarness(t, 0)
	return &regFixture{store: h.store, dataDir: h.dataDir, url: h.srv.URL + "/legacy/"}
}

// distutilsForm builds the body distutils' register sends (CPython 3.11
// register.post_to_server): a fixed boundary and LF-only line ends.
func distutilsForm(fields [][2]string) (body, contentType string) {
	const boundary = "--------------GHSKFJDLGDS7543FJKLFHRE75642756743254"
	var b strings.Builder
	for _, f := range fields {
		b.WriteString("\n--" + boundary)
		b.WriteString("\nContent-Disposition: form-data; name=\"" + f[0] + "\"")
		b.WriteString("\n\n")
		b.WriteString(f[1])
	}
	b.WriteString("\n--" + boundary + "--\n")
	return b.String(), "multipart/form-data; boundary=" + boundary + "; charset=utf-8"
}

func registerFields(action, name, version string) [][2]string {
	return [][2]string{
		{":action", action}, {"metadata_version", "1.0"}, {"name", name}, {"version", version},
		{"summary", "A cheese"}, {"home_page", "UNKNOWN"}, {"author", "UNKNOWN"}, {"author_email", "UNKNOWN"},
		{"license", "UNKNOWN"}, {"description", "UNKNOWN"}, {"keywords", "cheese"}, {"keywords", "dairy"},
		{"platform", "UNKNOWN"}, {"classifiers", "Programming Language :: Python :: 3"}, {"download_url", "UNKNOWN"},
	}
}

func (fx *regFixture) post(t *testing.T, user string, fields [][2]string) (int, http.Header, string) {
	t.Helper()
	body, ct := distutilsForm(fields)
	req, err := http.NewRequest(http.MethodPost, fx.url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	if user != "" {
		req.SetBasicAuth(user, map[string]string{alice: alicePassword, bob: bobPassword}[user])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestRegister(t *testing.T) {
	t.Parallel()
	fx := newRegFixture(t)
	fields := registerFields("submit", "Foo_Bar", "1.0")

	// distutils' first POST has no credentials: it needs the challenge.
	status, hdr, _ := fx.post(t, "", fields)
	if status != 401 || hdr.Get("WWW-Authenticate") != `Basic realm="pypi"` {
		t.Fatalf("anonymous submit: %d %v", status, hdr)
	}
	if _, err := fx.store.Project(context.Background(), "foo-bar"); err == nil {
		t.Fatal("anonymous submit created the project")
	}
	status, _, body := fx.post(t, "alice", fields)
	if status != 200 {
		t.Fatalf("submit: %d %s", status, body)
	}
	page, err := os.ReadFile(filepath.Join(fx.dataDir, "simple", "foo-bar", "index.v1_json"))
	if err != nil || !strings.Contains(string(page), `"versions":["1.0"]`) || !strings.Contains(string(page), `"files":[]`) {
		t.Fatalf("page after register: %s %v", page, err)
	}
	root, err := os.ReadFile(filepath.Join(fx.dataDir, "simple", "index.html"))
	if err != nil || !strings.Contains(string(root), `href="foo-bar/"`) {
		t.Fatalf("root after register: %s %v", root, err)
	}
	d, err := fx.store.ProjectDetail(context.Background(), "foo-bar")
	if err != nil || len(d.Releases) != 1 || d.Releases[0].Metadata.Keywords != "cheese, dairy" ||
		d.Releases[0].Metadata.Author != "" || len(d.Roles) != 1 || d.Roles[0].User != "alice" {
		t.Fatalf("detail %+v, %v", d, err)
	}
	// Registering again is harmless; a stranger is refused with PyPI's words.
	if status, _, body := fx.post(t, "alice", fields); status != 200 {
		t.Fatalf("submit again: %d %s", status, body)
	}
	status, _, body = fx.post(t, "bob", fields)
	if status != 403 || !strings.Contains(body, "The user 'bob' isn't allowed to upload to project 'Foo_Bar'") {
		t.Fatalf("stranger submit: %d %s", status, body)
	}
	status, _, body = fx.post(t, "alice", registerFields("submit_pkg_info", "foo-bar", "abc"))
	if status != 400 || !strings.Contains(body, "'abc' is invalid for 'version'") {
		t.Fatalf("bad version: %d %s", status, body)
	}
	status, _, body = fx.post(t, "alice", registerFields("submit", "json", "1.0"))
	if status != 400 || !strings.Contains(body, "conflict with Python Standard Library module name") {
		t.Fatalf("stdlib name: %d %s", status, body)
	}
}

func TestVerifyWithoutCredentials(t *testing.T) {
	t.Parallel()
	fx := newRegFixture(t)
	if status, _, body := fx.post(t, "", registerFields("verify", "spam", "1.0")); status != 200 {
		t.Fatalf("verify: %d %s", status, body)
	}
	status, _, body := fx.post(t, "", registerFields("verify", "spam", "1.0+"))
	if status != 400 || !strings.Contains(body, "'1.0+' is invalid for 'version'.") {
		t.Fatalf("verify bad: %d %s", status, body)
	}
	if _, err := fx.store.Project(context.Background(), "spam"); err == nil {
		t.Fatal("verify wrote a project")
	}
	// A file upload without credentials is refused before it is read.
	fields := append(registerFields("file_upload", "spam", "1.0"), [2]string{"filetype", "sdist"})
	if status, _, _ := fx.post(t, "", fields); status != 401 {
		t.Fatalf("anonymous file_upload: %d", status)
	}
}

func TestListClassifiers(t *testing.T) {
	t.Parallel()
	fx := newRegFixture(t)
	resp, err := http.Get(fx.url + "?:action=list_classifiers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "\nProgramming Language :: Python :: 3\n") {
		t.Fatalf("%d %.200s", resp.StatusCode, b)
	}
}
