package main

// Nothing lost (issue 6): concurrency across processes, crashes, graceful
// shutdown. Every test runs the real program as separate processes on one
// database and data directory and ends with `cheeseshop check`. `make
// stress` (CHEESESHOP_STRESS=1) runs the long variants of the tests named
// Crash and Concurren.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

func stress() bool { return os.Getenv("CHEESESHOP_STRESS") != "" }

// Acceptance 1: 50 concurrent uploads of distinct files to one project,
// spread over two server processes on one database and data directory: all
// are on the final pages, HTML and JSON, of both, and check is clean.
func TestConcurrentUploadsTwoServers(t *testing.T) {
	t.Parallel()
	n := 50
	if stress() {
		n = 400
	}
	in := newInstall(t, indextest.NewDBURL(t), t.TempDir())
	servers := []*server{in.serve(), in.serve()}
	dists := make([]dist, n)
	for i := range dists {
		dists[i] = buildWheel(t, "concurrent-demo", fmt.Sprintf("1.0.%d", i), 0)
	}
	results := make([]uploadResult, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, d := range dists {
		wg.Go(func() {
			<-start
			results[i] = postDist(servers[i%2].url, d)
		})
	}
	close(start)
	wg.Wait()
	for i, r := range results {
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("upload %d (%s): %d %q %v", i, dists[i].filename, r.status, r.body, r.err)
		}
	}
	for _, s := range servers {
		wantOnPages(t, s.url, "concurrent-demo", dists, s == servers[0])
	}
	for _, s := range servers {
		if err := s.stop(30 * time.Second); err != nil {
			t.Errorf("server exit: %v", err)
		}
	}
	in.check()
}

// Acceptance 2: uploads run while the server is killed with SIGKILL at
// random moments and restarted. Every upload that got a 200 is on its page
// and downloads with its sha256; an upload whose reply was lost succeeds
// when the client retries; check is clean.
func TestCrashUploads(t *testing.T) {
	t.Parallel()
	rounds := 4
	if stress() {
		rounds = 60
	}
	dbURL := indextest.NewDBURL(t)
	in := newInstall(t, dbURL, t.TempDir())
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	committed := func(d dist) bool {
		var ok bool
		if err := conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM files WHERE filename = $1)`, d.filename).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 6))
	var (
		mu      sync.Mutex
		acked   = map[string][]dist{} // by project: uploads answered 200
		lost    []dist                // uploads that got no answer
		next    int
		lostOK  int // lost replies whose upload had committed: startup repair put them on the page
		crashes int
	)
	newDist := func() dist {
		mu.Lock()
		i := next
		next++
		mu.Unlock()
		// Three projects, so that new projects (and root rewrites) happen
		// in the first rounds; some files are large enough to be killed
		// mid-stream.
		return buildWheel(t, fmt.Sprintf("crash-p%d", i%3), fmt.Sprintf("1.0.%d", i), (i%4)*64<<10)
	}
	for round := 0; ; round++ {
		s := in.serve()
		// What got a 200 is on the pages; what got no answer but had
		// committed is there too, after start-up repair, before any retry.
		for p, ds := range acked {
			wantOnPages(t, s.url, p, ds, false)
		}
		for _, d := range lost {
			if committed(d) {
				wantOnPages(t, s.url, d.project, []dist{d}, false)
				lostOK++
			}
		}
		// The clients retry what got no answer: that must succeed.
		for _, d := range lost {
			if r := postDist(s.url, d); r.err != nil || r.status != http.StatusOK {
				t.Fatalf("retry of %s after a crash: %d %q %v", d.filename, r.status, r.body, r.err)
			}
			acked[d.project] = append(acked[d.project], d)
		}
		lost = nil
		if round == rounds {
			for p, ds := range acked {
				wantOnPages(t, s.url, p, ds, true)
			}
			if err := s.stop(30 * time.Second); err != nil {
				t.Errorf("server exit: %v", err)
			}
			break
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		untilStopped(&wg, stop, 4, func(int) {
			d := newDist()
			r := postDist(s.url, d)
			mu.Lock()
			switch {
			case r.err == nil && r.status == http.StatusOK:
				acked[d.project] = append(acked[d.project], d)
			case r.err != nil:
				lost = append(lost, d)
			default:
				t.Errorf("upload of %s: %d %q", d.filename, r.status, r.body)
			}
			mu.Unlock()
		})
		time.Sleep(time.Duration(20+rng.IntN(300)) * time.Millisecond)
		s.kill()
		crashes++
		close(stop)
		wg.Wait()
		if t.Failed() {
			return
		}
	}
	total := 0
	for _, ds := range acked {
		total += len(ds)
	}
	t.Logf("%d crashes, %d uploads acknowledged; %d uploads whose reply was lost had committed, and were on their pages after the restart before any retry", crashes, total, lostOK)
	in.check()
}

// SIGTERM: an upload in flight finishes, no new connection is accepted, and
// the process exits cleanly.
func TestGracefulShutdownFinishesUploads(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	in := newInstall(t, indextest.NewDBURL(t), dataDir)
	s := in.serve()
	d := buildWheel(t, "graceful", "1.0", 512<<10)
	ctype, body := uploadBody(d)
	u, _ := url.Parse(s.url)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second)) //nolint:errcheck
	req, _ := http.NewRequest(http.MethodPost, s.url+"/legacy/", nil)
	req.Header.Set("Content-Type", ctype)
	req.SetBasicAuth(rbUser, rbPassword)
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST /legacy/ HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", u.Host, len(body))
	req.Header.Write(&head) //nolint:errcheck
	head.WriteString("\r\n")
	half := len(body) / 2
	if _, err := conn.Write(append(head.Bytes(), body[:half]...)); err != nil {
		t.Fatal(err)
	}
	// The server is streaming the file once its temp file exists.
	waitFor(t, "the upload's temp file", func() bool {
		e, _ := os.ReadDir(filepath.Join(dataDir, "tmp"))
		return len(e) > 0
	})
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("no answer to the upload in flight: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload in flight during shutdown: %s", resp.Status)
	}
	select {
	case <-s.done:
		if s.err != nil {
			t.Fatalf("exit after SIGTERM: %v", s.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server still running 30s after SIGTERM")
	}
	s2 := in.serve()
	wantOnPages(t, s2.url, "graceful", []dist{d}, true)
	if err := s2.stop(30 * time.Second); err != nil {
		t.Errorf("server exit: %v", err)
	}
	in.check()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkOutput runs check and returns its output and whether it failed.
func (in *install) checkOutput() (string, bool) {
	out, err := in.run("", "check")
	return out, err != nil
}

// `cheeseshop check` reports each problem and exits non-zero; `cheeseshop
// regenerate` repairs the pages it can.
func TestCheckAndRegenerateCommands(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	in := newInstall(t, indextest.NewDBURL(t), dataDir)
	s := in.serve()
	d := buildWheel(t, "cmd-demo", "1.0", 0)
	if r := postDist(s.url, d); r.status != http.StatusOK {
		t.Fatalf("upload: %d %q %v", r.status, r.body, r.err)
	}
	if err := s.stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	in.check()
	page := filepath.Join(dataDir, "simple", "cmd-demo", "index.html")
	writeFile(t, page, []byte("stale\n"))
	out, failed := in.checkOutput()
	if !failed || !strings.Contains(out, "simple/cmd-demo: index.html differs") || !strings.Contains(out, ": 1 problems") {
		t.Fatalf("check of a broken page: failed=%v\n%s", failed, out)
	}
	if out, err := in.run("", "regenerate", "cmd-demo"); err != nil || !strings.Contains(out, "rewrote the pages of 1 projects") {
		t.Fatalf("regenerate: %v\n%s", err, out)
	}
	in.check()
	// The pages for people are checked and rewritten alike: a changed
	// project page, a missing release page, a page of a release the
	// project does not have.
	web := filepath.Join(dataDir, "web", "project", "cmd-demo")
	writeFile(t, filepath.Join(web, "index.html"), []byte("stale\n"))
	if err := os.Remove(filepath.Join(web, "1.0", "index.html")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(web, "9.9"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, failed = in.checkOutput()
	for _, want := range []string{"the project's page for people differs", "the page for people of 1.0 is missing",
		"a page for people of 9.9, which the project does not have"} {
		if !failed || !strings.Contains(out, want) {
			t.Errorf("check of broken pages for people: failed=%v, no %q in\n%s", failed, want, out)
		}
	}
	if out, err := in.run("", "regenerate", "cmd-demo"); err != nil {
		t.Fatalf("regenerate: %v\n%s", err, out)
	}
	in.check()
	if err := os.RemoveAll(filepath.Join(dataDir, "simple")); err != nil {
		t.Fatal(err)
	}
	if out, err := in.run("", "regenerate", "--all"); err != nil {
		t.Fatalf("regenerate --all: %v\n%s", err, out)
	}
	in.check()
	if out, err := in.run("", "regenerate"); err == nil {
		t.Fatalf("regenerate without projects or --all succeeded:\n%s", out)
	}
}

// --sweep-delay starts the background sweep that long after start: a package
// file no row refers to, once older than --orphan-grace, is moved into
// orphans/.
func TestSweepDelayFlag(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	in := newInstall(t, indextest.NewDBURL(t), dataDir)
	stray := filepath.Join(dataDir, "packages", "ab", "cd", "abcdef0123", "stray-1.0.tar.gz")
	if err := os.MkdirAll(filepath.Dir(stray), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, stray, []byte("no row names me"))
	// The sweep judges a file by its ctime, which is now: it finds the file
	// too young at first and moves it on its second look, after the grace.
	in.serve("--sweep-delay", "200ms", "--orphan-grace", "1s")
	moved := filepath.Join(dataDir, "orphans", "ab", "cd", "abcdef0123", "stray-1.0.tar.gz")
	waitFor(t, "the stray file in orphans/", func() bool {
		_, err := os.Stat(moved)
		return err == nil
	})
	if _, err := os.Stat(stray); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stray file still in packages/: %v", err)
	}
	if out, err := in.run("", "serve", "--listen", "127.0.0.1:0", "--sweep-delay", "0s"); err == nil || !strings.Contains(out, "--sweep-delay must be positive") {
		t.Errorf("serve --sweep-delay 0s: %v\n%s", err, out)
	}
}
