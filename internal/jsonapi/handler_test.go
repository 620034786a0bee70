package jsonapi

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fakeStore serves fixed projects: the golden files must not depend on a
// clock or on database ids.
type fakeStore map[index.Normalized]index.ProjectDetail

func (s fakeStore) ProjectDetail(_ context.Context, name index.Normalized) (index.ProjectDetail, error) {
	d, ok := s[name]
	if !ok {
		return index.ProjectDetail{}, fmt.Errorf("project %q: %w", name, index.ErrNotFound)
	}
	return d, nil
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC)

func hexOf(c byte, n int) string { return strings.Repeat(string(c), n) }

func file(id, release int64, name string, typ index.PackageType, pyv string, c byte, at time.Time) index.File {
	return index.File{
		ID: id, ReleaseID: release, ProjectID: 1, Filename: name, Type: typ, PythonVersion: pyv, Size: 1000 + id,
		SHA256: hexOf(c, 64), MD5: hexOf(c, 32), Blake2b256: hexOf(c+1, 64), UploadTime: at,
		Path: hexOf(c+1, 2) + "/" + hexOf(c+1, 2) + "/" + hexOf(c+1, 60) + "/" + name,
	}
}

// fixtures: foo-bar has a full history; registered has one release and no
// files (what `setup.py register` leaves); empty has no release at all.
func fixtures() fakeStore {
	full := index.Metadata{
		MetadataVersion: "2.1", Name: "Foo_Bar", Version: "1.0", Summary: "A cheese & a <shop>",
		Description: "# Foo\n\nLong text.", DescriptionContentType: "text/markdown", Keywords: "cheese, shop",
		HomePage: "https://example.com/foo", Author: "Alice", AuthorEmail: "alice@example.com",
		License: "MIT", RequiresPython: ">=3.8,<4",
		Classifiers:   []string{"License :: OSI Approved :: MIT License", "Programming Language :: Python :: 3"},
		RequiresDist:  []string{"cheese-dep>=1.0", "tomli; python_version < \"3.11\""},
		ProvidesExtra: []string{"speed"},
		ProjectURLs:   []index.ProjectURL{{Label: "Source", URL: "https://example.com/src"}, {Label: "Docs", URL: "https://example.com/docs"}},
	}
	whl := file(2, 11, "Foo_Bar-1.0-py3-none-any.whl", index.Wheel, "py3", 'b', t0.Add(time.Hour))
	whl.MetadataSHA256 = hexOf('e', 64)
	whl.RequiresPython = ">=3.8,<4"
	sdist10 := file(3, 11, "Foo_Bar-1.0.tar.gz", index.Sdist, "source", 'c', t0.Add(2*time.Hour))
	sdist10.RequiresPython = ">=3.8,<4"
	sdist10.CommentText = "built by hand"
	old := file(1, 10, "foo_bar-0.9.tar.gz", index.Sdist, "source", 'a', t0)
	old.CDNURL = "https://cdn.example.net/packages/" + old.Path
	return fakeStore{
		"foo-bar": {
			ProjectState: index.ProjectState{
				Project: index.Project{ID: 1, Name: "Foo_Bar", Normalized: "foo-bar", LastSerial: 42},
				Releases: []index.Release{
					{ID: 10, ProjectID: 1, Version: "0.9", Canonical: "0.9", Metadata: index.Metadata{Name: "foo_bar", Version: "0.9"}},
					{ID: 11, ProjectID: 1, Version: "1.0", Canonical: "1", Metadata: full},
					{ID: 12, ProjectID: 1, Version: "1.1rc1", Canonical: "1.1rc1", Metadata: index.Metadata{Name: "Foo_Bar", Version: "1.1rc1"}},
					{ID: 13, ProjectID: 1, Version: "2.0", Canonical: "2", Yanked: true, YankedReason: "broken build",
						Metadata: index.Metadata{Name: "Foo_Bar", Version: "2.0", Summary: "oops"}},
				},
				Files: []index.File{
					old, whl, sdist10,
					file(4, 12, "foo_bar-1.1rc1.tar.gz", index.Sdist, "source", 'd', t0.Add(3*time.Hour)),
					file(5, 13, "foo_bar-2.0.tar.gz", index.Sdist, "source", 'f', t0.Add(4*time.Hour)),
				},
			},
			Roles: []index.RoleAssignment{{User: "alice", Role: index.RoleOwner}, {User: "bob", Role: index.RoleMaintainer}},
		},
		"registered": {
			ProjectState: index.ProjectState{
				Project:  index.Project{ID: 2, Name: "Registered", Normalized: "registered", LastSerial: 7},
				Releases: []index.Release{{ID: 20, ProjectID: 2, Version: "1.0", Canonical: "1", Metadata: index.Metadata{Name: "Registered", Version: "1.0", Keywords: "a, b", Platforms: []string{"linux", "any"}}}},
			},
			Roles: []index.RoleAssignment{{User: "alice", Role: index.RoleOwner}},
		},
		"empty": {ProjectState: index.ProjectState{Project: index.Project{ID: 3, Name: "empty", Normalized: "empty", LastSerial: 3}}},
	}
}

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(Config{BaseURL: "https://pypi.example.com/"}, fixtures(), nil))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body) //nolint:errcheck
	return resp, b.Bytes()
}

func TestGolden(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tests := []struct {
		golden, path string
		serial       string
	}{
		{"project", "/pypi/foo-bar/json", "42"},
		{"release-yanked", "/pypi/foo-bar/2.0/json", "42"},
		{"release-wheel", "/pypi/foo-bar/1.0.0/json/", "42"},
		{"registered", "/pypi/registered/json", "7"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			resp, body := get(t, srv, tt.path)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
				resp.Header.Get("X-PyPI-Last-Serial") != tt.serial {
				t.Fatalf("GET %s: %d %v", tt.path, resp.StatusCode, resp.Header)
			}
			path := filepath.Join("testdata", "golden", tt.golden+".json")
			if *update {
				var out bytes.Buffer
				if err := json.Indent(&out, body, "", "  "); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/jsonapi -update)", err)
			}
			var got, exp any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("response is not JSON: %v\n%s", err, body)
			}
			if err := json.Unmarshal(want, &exp); err != nil {
				t.Fatalf("golden is not JSON: %v", err)
			}
			for _, d := range diff("$", exp, got) {
				t.Error(d)
			}
		})
	}
}

// diff compares decoded JSON field by field and describes each difference
// by its path, so a failure names the field rather than dumping two bodies.
func diff(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %s, want an object", path, brief(got))}
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var out []string
		for _, k := range sorted {
			wv, wok := w[k]
			gv, gok := g[k]
			switch {
			case !gok:
				out = append(out, fmt.Sprintf("%s.%s: missing, want %s", path, k, brief(wv)))
			case !wok:
				out = append(out, fmt.Sprintf("%s.%s: unexpected, got %s", path, k, brief(gv)))
			default:
				out = append(out, diff(path+"."+k, wv, gv)...)
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %s, want an array", path, brief(got))}
		}
		var out []string
		if len(g) != len(w) {
			out = append(out, fmt.Sprintf("%s: %d elements, want %d", path, len(g), len(w)))
		}
		for i := range min(len(g), len(w)) {
			out = append(out, diff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	}
	if !reflect.DeepEqual(want, got) {
		return []string{fmt.Sprintf("%s: got %s, want %s", path, brief(got), brief(want))}
	}
	return nil
}

func brief(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

func TestSelection(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	var doc struct {
		Info struct {
			Version string `json:"version"`
		} `json:"info"`
		Releases map[string]json.RawMessage `json:"releases"`
	}
	_, body := get(t, srv, "/pypi/foo-bar/json")
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	// 2.0 is yanked and 1.1rc1 a pre-release: the latest is 1.0.
	if doc.Info.Version != "1.0" || len(doc.Releases) != 4 {
		t.Fatalf("project URL describes %q with %d releases", doc.Info.Version, len(doc.Releases))
	}
	doc.Releases = nil
	_, body = get(t, srv, "/pypi/foo-bar/1.1rc1/json")
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info.Version != "1.1rc1" || doc.Releases != nil {
		t.Fatalf("version URL: %q, releases %v", doc.Info.Version, doc.Releases)
	}
}

func TestStatuses(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tests := []struct {
		path, location string
		status         int
	}{
		{"/pypi/Foo_Bar/json", "/pypi/foo-bar/json", 301},
		{"/pypi/Foo.Bar/1.0/json/", "/pypi/foo-bar/1.0/json/", 301},
		{"/pypi/nope/json", "", 404},
		{"/pypi/foo-bar/3.0/json", "", 404},
		{"/pypi/foo-bar/not-a-version/json", "", 404},
		{"/pypi/empty/json", "", 404},
		{"/pypi/foo-bar", "", 404},
		{"/pypi/foo-bar/1.0/2.0/json", "", 404},
	}
	for _, tt := range tests {
		resp, _ := get(t, srv, tt.path)
		if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
			t.Errorf("GET %s: %d %q, want %d %q", tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
		}
	}
	resp, _ := get(t, srv, "/pypi/foo-bar/json")
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Cache-Control"), "must-revalidate") {
		t.Fatalf("headers %v", resp.Header)
	}
	resp, body := get(t, srv, "/pypi/foo-bar/json", "If-None-Match", etag)
	if resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("X-PyPI-Last-Serial") != "42" {
		t.Fatalf("revalidation: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/pypi/foo-bar/json", nil)
	post, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", post.StatusCode)
	}
	// The preflight headers come with the answer to OPTIONS only.
	for _, h := range []string{"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("GET sent the preflight header %s: %q", h, v)
		}
	}
	if v := resp.Header.Get("Access-Control-Expose-Headers"); v != "X-PyPI-Last-Serial" {
		t.Errorf("GET: Access-Control-Expose-Headers %q", v)
	}
	req, _ = http.NewRequest(http.MethodOptions, srv.URL+"/pypi/foo-bar/json", nil)
	req.Header.Set("Origin", "https://example.org")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "if-none-match")
	pre, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pre.Body.Close()
	want := map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": "GET",
		"Access-Control-Allow-Headers": "Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since",
		"Access-Control-Max-Age":       "86400",
	}
	if pre.StatusCode != http.StatusNoContent {
		t.Errorf("OPTIONS: status %d, want 204", pre.StatusCode)
	}
	for k, v := range want {
		if got := pre.Header.Get(k); got != v {
			t.Errorf("OPTIONS: %s %q, want %q", k, got, v)
		}
	}
}
