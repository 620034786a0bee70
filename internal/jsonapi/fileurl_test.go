package jsonapi

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"path"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// File URLs are percent-encoded (issue 14, item 5): a '#' must not cut the
// URL, nor '?', '%' or a space change it. Such names are refused at upload
// now; rows an older server accepted must still download.
func TestFileURLsEscaped(t *testing.T) {
	t.Parallel()
	names := []string{
		"odd-1.0-py3-none-a#b.whl", "odd-1.0-py3-none-a?b.whl", "odd-1.0-py3-none-a%00.whl",
		"odd-1.0-py3-none-%2e%2e.whl", "odd-1.0-py3-none-a b.whl", "odd-1.0-py3-none-a\u202eb.whl",
		"odd-1.0-py3-none-a&b'c.whl",
	}
	var files []index.File
	for i, n := range names {
		files = append(files, file(int64(i+1), 1, n, index.Wheel, "py3", byte('a'+i), t0))
	}
	store := fakeStore{"odd": {ProjectState: index.ProjectState{
		Project:  index.Project{ID: 1, Name: "odd", Normalized: "odd", LastSerial: 7},
		Releases: []index.Release{{ID: 1, ProjectID: 1, Version: "1.0", Canonical: "1", Metadata: index.Metadata{Name: "odd", Version: "1.0"}}},
		Files:    files,
	}}}
	srv := newTestServer(t, store)
	resp, body := get(t, srv, "/pypi/odd/json")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var doc struct {
		URLs []struct {
			Filename string `json:"filename"`
			URL      string `json:"url"`
		} `json:"urls"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.URLs) != len(names) {
		t.Fatalf("%d urls, want %d", len(doc.URLs), len(names))
	}
	for _, f := range doc.URLs {
		u, err := url.Parse(f.URL)
		if err != nil {
			t.Errorf("%q: %v", f.URL, err)
			continue
		}
		if u.Fragment != "" || u.RawQuery != "" || path.Base(u.Path) != f.Filename || path.Dir(u.Path) == "/" {
			t.Errorf("url %q does not lead to %q (path %q, query %q, fragment %q)", f.URL, f.Filename, u.Path, u.RawQuery, u.Fragment)
		}
	}
}

func newTestServer(t *testing.T, store Store) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(Config{BaseURL: "https://pypi.example.com/"}, store, nil))
	t.Cleanup(srv.Close)
	return srv
}
