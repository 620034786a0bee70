package manage_test

import (
	"net/url"
	"os"
	"strings"
	"testing"
)

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
