package manage_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
