package main

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// leaks are texts of the database driver that must never reach a person.
var leaks = []string{"no rows in result set", "SQLSTATE", "duplicate key", "violates"}

func noLeak(t *testing.T, what, text string) {
	t.Helper()
	for _, l := range leaks {
		if strings.Contains(text, l) {
			t.Errorf("%s shows driver text %q:\n%s", what, l, text)
		}
	}
}

// Every command-line failure is a sentence, never the driver's text
// (issue 15): the real program, run as a person would run it.
func TestCLIRefusalsAreSentences(t *testing.T) {
	t.Parallel()
	in := newInstall(t, indextest.NewDBURL(t), t.TempDir()) // adds alice
	tests := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"token", "revoke", "99"}, "cheeseshop: no token with id 99\n"},
		{"another-secret\n", []string{"user", "add", "alice", "--password-stdin"}, "cheeseshop: user alice already exists\n"},
		{"", []string{"token", "list", "bob"}, "cheeseshop: no user \"bob\"\n"},
		{"", []string{"token", "create", "bob"}, "cheeseshop: no user \"bob\"\n"},
		{"pw\n", []string{"user", "add", "bob", "--password-stdin", "--update"}, "cheeseshop: no user \"bob\"\n"},
		{"", []string{"yank", "nope", "1.0"}, "cheeseshop: no project \"nope\"\n"},
	}
	for _, tt := range tests {
		out, err := in.run(tt.stdin, tt.args...)
		cmd := "cheeseshop " + strings.Join(tt.args, " ")
		if err == nil {
			t.Errorf("%s succeeded:\n%s", cmd, out)
		}
		if out != tt.want {
			t.Errorf("%s printed %q, want %q", cmd, out, tt.want)
		}
		noLeak(t, cmd, out)
	}
}

// request is one HTTP request of TestRefusalsOverHTTP and what it must get.
type request struct {
	method, path string
	status       int
	body         string // the whole body
	allow        string // the Allow header of a 405
}

// Refusals over HTTP come from httperr's one table: their text is the
// public message (no driver text in the 404 of an unknown project), every
// handler family's 405 has the table's body, reason phrase and Allow
// header, and every log line about a request carries its request_id.
func TestRefusalsOverHTTP(t *testing.T) {
	t.Parallel()
	in := newInstall(t, indextest.NewDBURL(t), t.TempDir())
	s := in.serve()

	// An upload that succeeds, and one that is refused (same filename,
	// other bytes).
	if r := postDist(s.url, buildWheel(t, "demo", "1.0", 0)); r.err != nil || r.status != http.StatusOK {
		t.Fatalf("upload: %d %q %v", r.status, r.body, r.err)
	}
	if r := postDist(s.url, buildWheel(t, "demo", "1.0", 64)); r.err != nil || r.status != http.StatusBadRequest ||
		!strings.HasPrefix(r.body, "File already exists ('demo-1.0-py3-none-any.whl'") {
		t.Fatalf("second upload: %d %q %v", r.status, r.body, r.err)
	}

	refused := []request{
		{"GET", "/pypi/nope/json", 404, "Not Found\n", ""},
		{"GET", "/pypi/demo/9.9/json", 404, "project \"demo\" has no release \"9.9\"\n", ""},
		// One 405 from each handler family, and one from the router.
		{"PUT", "/legacy/", 405, "Method Not Allowed. Use GET or POST.\n", "GET, POST"},
		{"POST", "/pypi/demo/json", 405, "Method Not Allowed. Use GET, HEAD or OPTIONS.\n", "GET, HEAD, OPTIONS"},
		{"GET", "/manage/demo/1.0/yank", 405, "Method Not Allowed. Use POST.\n", "POST"},
		{"POST", "/simple/demo/", 405, "Method Not Allowed. Use GET, HEAD or OPTIONS.\n", "GET, HEAD, OPTIONS"},
		{"DELETE", "/packages/aa/bb/cc/demo-1.0-py3-none-any.whl", 405, "Method Not Allowed. Use GET or HEAD.\n", "GET, HEAD"},
		{"POST", "/healthz", 405, "Method Not Allowed. Use GET.\n", "GET"},
	}
	for _, tt := range refused {
		req, err := http.NewRequest(tt.method, s.url+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := rbClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body) //nolint:errcheck // compared below
		resp.Body.Close()
		what := tt.method + " " + tt.path
		// The reason phrase repeats the message: only httperr writes that.
		wantStatus := strconv.Itoa(tt.status) + " " + strings.TrimSuffix(tt.body, "\n")
		if resp.StatusCode != tt.status || body.String() != tt.body || resp.Status != wantStatus {
			t.Errorf("%s: %q %q, want %d %q", what, resp.Status, body.String(), tt.status, tt.body)
		}
		if got := resp.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s: Allow %q, want %q", what, got, tt.allow)
		}
		noLeak(t, what, body.String())
	}

	if err := s.stop(30 * time.Second); err != nil {
		t.Fatalf("server exit: %v", err)
	}
	checkRequestLog(t, readFile(t, s.log), len(refused)+2)
}

// checkRequestLog fails unless every line the server logged while it
// served (between "serving" and "shutting down") has a request_id, apart
// from the background workers' (repair, mirror, readme), and the ids name exactly
// the requests made.
func checkRequestLog(t *testing.T, log string, requests int) {
	t.Helper()
	idRE := regexp.MustCompile(`\brequest_id=(\S+)`)
	background := regexp.MustCompile(`\bcomponent=(repair|mirror|readme)\b`)
	ids := map[string]bool{}
	serving := false
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		switch {
		case strings.Contains(line, " msg=serving "):
			serving = true
			continue
		case strings.Contains(line, ` msg="shutting down"`):
			serving = false
		}
		if !serving || background.MatchString(line) {
			continue
		}
		id := idRE.FindStringSubmatch(line)
		if id == nil {
			t.Errorf("no request_id: %s", line)
			continue
		}
		ids[id[1]] = true
	}
	if len(ids) != requests {
		t.Errorf("%d request ids in the log, want %d:\n%s", len(ids), requests, log)
	}
}
