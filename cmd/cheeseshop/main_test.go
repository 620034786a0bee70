package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// TestMain lets scripts run "cheeseshop": testscript re-executes this test
// binary as the real program, with its real main.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cheeseshop": main,
	})
}

// required reports whether missing tools must fail the tests (make test sets it).
func required() bool { return os.Getenv("CHEESESHOP_REQUIRE") != "" || os.Getenv("CI") == "true" }

// TestScript runs the end-to-end scripts in testdata/script: the real program
// on a fresh PostgreSQL database, driven by the real Python clients.
func TestScript(t *testing.T) {
	runScripts(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"startweb":  cmdStartWeb,
			"webmatch":  cmdWebMatch,
			"webfiles":  cmdWebFiles,
			"staticweb": cmdStaticWeb,
			// newdb VAR: VAR is the URL of another fresh database, for a
			// second server in the same script (an upstream index).
			"newdb": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: newdb VAR")
				}
				ts.Setenv(args[0], indextest.NewDBURL(t))
			},
		},
	})
}

// runScripts runs the scripts of p.Dir with the real program on a fresh
// database (scriptEnv, then p.Setup if any) and, besides p.Cmds, the
// commands every script may use.
func runScripts(t *testing.T, p testscript.Params) {
	t.Helper()
	needScriptTools(t)
	p.RequireExplicitExec = true
	setup := p.Setup
	p.Setup = func(e *testscript.Env) error {
		scriptEnv(t, e)
		if setup != nil {
			return setup(e)
		}
		return nil
	}
	p.Cmds["waitready"] = cmdWaitReady
	p.Cmds["httpget"] = cmdHTTPGet
	testscript.Run(t, p)
}

// needScriptTools skips the test, or fails it when the tools are required,
// unless Debian's Python clients and a test database are there. It runs in
// the test itself, not inside a script goroutine.
func needScriptTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"/usr/bin/twine", "/usr/bin/python3"} {
		if _, err := os.Stat(tool); err != nil {
			if required() {
				t.Fatalf("%s is missing: run `make test`, which installs it", tool)
			}
			t.Skipf("%s is missing: run `make test`", tool)
		}
	}
	indextest.URL(t) // skip or fail here, not inside a script goroutine
}

// scriptEnv gives a script a fresh database, its own data directory and
// HOME, and Debian's Python on PATH.
func scriptEnv(t *testing.T, e *testscript.Env) {
	e.Setenv("CHEESESHOP_DATABASE_URL", indextest.NewDBURL(t))
	e.Setenv("CHEESESHOP_DATA_DIR", filepath.Join(e.WorkDir, "data"))
	e.Setenv("CHEESESHOP_LOG_FORMAT", "text")
	e.Setenv("HOME", e.WorkDir)
	e.Setenv("PATH", debianPath(e.Getenv("PATH")))
	e.Setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
	e.Setenv("PYTHONDONTWRITEBYTECODE", "1")
}

// debianPath drops pyenv and similar shims from PATH: the scripts drive
// Debian's python3 and the clients installed for it.
func debianPath(path string) string {
	var keep []string
	for _, d := range filepath.SplitList(path) {
		if !strings.Contains(d, "pyenv") {
			keep = append(keep, d)
		}
	}
	return strings.Join(keep, string(filepath.ListSeparator))
}

// cmdWaitReady waits for the server's ready file and sets $URL from it.
//
//	waitready FILE
func cmdWaitReady(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitready FILE")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(bytes.TrimSpace(b)) > 0 {
			ts.Setenv("URL", strings.TrimSpace(string(b)))
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("server not ready after 30s: %s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdHTTPGet fetches a URL and checks the status and that the body contains
// each given string; the body goes to stdout for later stdout/cmp checks.
//
//	httpget [-H 'Name: value']... [-status N] URL [substring...]
func cmdHTTPGet(ts *testscript.TestScript, neg bool, args []string) {
	want := 200
	var headers [][2]string
	var wait time.Duration
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-wait":
			// -wait D: ask again every 100 ms until the answer passes, for
			// up to D (what a background worker writes, such as READMEs).
			d, err := time.ParseDuration(args[1])
			ts.Check(err)
			wait = d
		case "-H":
			k, v, _ := strings.Cut(args[1], ":")
			headers = append(headers, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		case "-status":
			fmt.Sscan(args[1], &want)
		default:
			ts.Fatalf("httpget: unknown flag %s", args[0])
		}
		args = args[2:]
	}
	if len(args) < 1 {
		ts.Fatalf("usage: httpget [-wait D] [-H header] [-status N] URL [substring...]")
	}
	get := func() (status int, hdr string, body []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
		ts.Check(err)
		for _, h := range headers {
			req.Header.Set(h[0], h[1])
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		ts.Check(err)
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		ts.Check(err)
		var hb strings.Builder
		// The clock's header would make two answers differ when a second
		// ticks between them (scripts compare saved answers with cmp).
		resp.Header.Del("Date")
		resp.Header.Write(&hb)
		return resp.StatusCode, hb.String(), body
	}
	missing := func(hdr string, body []byte) (out []string) {
		for _, s := range args[1:] {
			if !bytes.Contains(body, []byte(s)) && !strings.Contains(hdr, s) {
				out = append(out, s)
			}
		}
		return out
	}
	status, hdr, body := get()
	for deadline := time.Now().Add(wait); !neg && (status != want || len(missing(hdr, body)) > 0) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		status, hdr, body = get()
	}
	ts.Stdout().Write([]byte(hdr + "\n"))
	ts.Stdout().Write(body)
	failed := status != want
	for _, s := range missing(hdr, body) {
		failed = true
		ts.Logf("missing %q", s)
	}
	if failed != neg {
		ts.Fatalf("GET %s: status %d (want %d), headers:\n%s\nbody:\n%s", args[0], status, want, hdr, body)
	}
}
