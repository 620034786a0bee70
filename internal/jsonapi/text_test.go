package jsonapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// TestBadTextInPath asks the real store's JSON API for names no project
// can have, a NUL byte or invalid UTF-8 (issue 14, item 10): PostgreSQL
// would refuse them as text (SQLSTATE 22021), so they are answered 404
// before the store is asked, never 500.
func TestBadTextInPath(t *testing.T) {
	t.Parallel()
	pool, _ := indextest.NewDB(t)
	srv := httptest.NewServer(New(Config{}, index.NewStore(pool), nil))
	t.Cleanup(srv.Close)
	tests := []struct{ path, body string }{
		{"/pypi/%00/json", "no project or version has a name that contains a NUL byte"},
		{"/pypi/foo%00bar/json", "no project or version has a name that contains a NUL byte"},
		{"/pypi/Foo%00Bar/json", "no project or version has a name that contains a NUL byte"},
		{"/pypi/%ff/json", "no project or version has a name that is not valid UTF-8"},
		{"/pypi/foo%c3/json/", "no project or version has a name that is not valid UTF-8"},
		{"/pypi/foo/1.0%00/json", "no project or version has a name that contains a NUL byte"},
		{"/pypi/foo/%e9/json", "no project or version has a name that is not valid UTF-8"},
	}
	for _, tt := range tests {
		resp, body := get(t, srv, tt.path)
		if resp.StatusCode != 404 || strings.TrimSuffix(string(body), "\n") != tt.body {
			t.Errorf("GET %s: %d %q, want 404 %q", tt.path, resp.StatusCode, body, tt.body)
		}
	}
	// A name that is merely unknown still reaches the store and is a 404.
	if resp, _ := get(t, srv, "/pypi/no-such-project/json"); resp.StatusCode != 404 {
		t.Errorf("GET /pypi/no-such-project/json: %d", resp.StatusCode)
	}
}
