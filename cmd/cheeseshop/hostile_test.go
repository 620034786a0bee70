package main

// Hostile clients against the real server (issue 14 items 7, 9 and 11):
// cross-site browser uploads, slow bodies, idle and oversized connections,
// password floods.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// Item 9: a browser form on another site cannot upload with the Basic
// credentials the browser remembers; packaging clients (no Origin, no
// Sec-Fetch-*) and same-origin requests can.
func TestCrossSiteUploadRefused(t *testing.T) {
	t.Parallel()
	in := newInstall(t, indextest.NewDBURL(t), t.TempDir())
	s := in.serve()
	d := buildWheel(t, "xsite-demo", "1.0", 0)
	for _, h := range []map[string]string{
		{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "http://evil.example"}, // a browser without Sec-Fetch-*
		{"Origin": "null"},                // a sandboxed iframe or a file: page
	} {
		r := postAs(s.url, d, rbUser, rbPassword, h)
		if r.err != nil || r.status != http.StatusForbidden || !strings.Contains(r.body, "Cross-site request refused") {
			t.Errorf("POST with %v: %d %q %v, want 403 Cross-site request refused", h, r.status, r.body, r.err)
		}
	}
	if files := packageFiles(t, in.dataDir); len(files) > 0 {
		t.Fatalf("refused uploads left files: %v", files)
	}
	if st, _ := get(t, s.url+"/simple/xsite-demo/", ""); st != http.StatusNotFound {
		t.Fatalf("project page after refused uploads: %d, want 404", st)
	}
	u, _ := url.Parse(s.url)
	for i, h := range []map[string]string{
		nil, // twine, distutils, setuptools, flit, poetry, pdm, uv
		{"Sec-Fetch-Site": "same-origin", "Origin": s.url},
		{"Origin": "http://" + u.Host},
	} {
		d := buildWheel(t, "xsite-demo", fmt.Sprintf("1.%d", i+1), 0)
		if r := postAs(s.url, d, rbUser, rbPassword, h); r.err != nil || r.status != http.StatusOK {
			t.Errorf("POST with %v: %d %q %v, want 200", h, r.status, r.body, r.err)
		}
	}
	if err := s.stop(30 * time.Second); err != nil {
		t.Errorf("server exit: %v", err)
	}
	in.check()
}

// slowPost sends headers for a body of n bytes at once, then the body a
// byte every interval, and returns how long until the server answered or
// closed the connection, and the answer's status line.
func slowPost(t *testing.T, baseURL, auth string, n int, interval time.Duration) (time.Duration, string) {
	t.Helper()
	u, _ := url.Parse(baseURL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /legacy/ HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=xx\r\nContent-Length: %d\r\n%s\r\n", u.Host, n, auth)
	go func() {
		for range n {
			if _, err := conn.Write([]byte("-")); err != nil {
				return
			}
			time.Sleep(interval)
		}
	}()
	conn.SetReadDeadline(time.Now().Add(60 * time.Second)) //nolint:errcheck
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if line != "" {
		io.Copy(io.Discard, conn) //nolint:errcheck // until the server closes
	}
	return time.Since(start), strings.TrimSpace(line)
}

// Item 11: clients sending a body a byte every 200 ms, without credentials
// or with a wrong password, are cut off once the body falls below
// --min-body-rate after --body-timeout (was: held as long as they sent); a
// keep-alive connection is closed after --idle-timeout (was: never); a
// request whose headers exceed --max-header-bytes gets 431.
func TestSlowAndIdleClientsCutOff(t *testing.T) {
	t.Parallel()
	in := newInstall(t, indextest.NewDBURL(t), t.TempDir())
	s := in.serve("--body-timeout", "2s", "--min-body-rate", "1000", "--idle-timeout", "1s", "--max-header-bytes", "8192")
	wrong := "Authorization: Basic " + b64std(rbUser+":wrong") + "\r\n"
	var wg sync.WaitGroup
	for i := range 10 {
		auth := ""
		if i%2 == 1 {
			auth = wrong
		}
		wg.Go(func() {
			took, status := slowPost(t, s.url, auth, 100000, 200*time.Millisecond)
			t.Logf("slow client %d (auth %v): %q after %v", i, auth != "", status, took.Round(time.Millisecond))
			// Cut at ~2 s; the bound leaves room for a loaded machine.
			if took > 10*time.Second {
				t.Errorf("slow client %d held for %v", i, took)
			}
		})
	}
	wg.Wait()

	u, _ := url.Parse(s.url)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", u.Host)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck
	if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("idle keep-alive connection: read %d, %v; want EOF", n, err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("idle connection closed after %v, want ~1 s", took)
	}

	req, _ := http.NewRequest(http.MethodGet, s.url+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
	resp, err = rbClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("16 KiB header: %d, want 431", resp.StatusCode)
	}
}

func b64std(s string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	user, pass, _ := strings.Cut(s, ":")
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// Item 7: 60 clients sending wrong passwords as fast as they are answered
// get 429s with a Retry-After once the checks are busy or the address has
// failed too often, and uploads with an API token complete quickly
// meanwhile.
func TestPasswordFloodHTTP(t *testing.T) {
	t.Parallel()
	in := newInstall(t, indextest.NewDBURL(t), t.TempDir())
	out, err := in.run("", "token", "create", rbUser)
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	token := regexp.MustCompile(`pypi-[A-Za-z0-9_-]{43}`).FindString(out)
	if token == "" {
		t.Fatalf("no token in %q", out)
	}
	s := in.serve("--password-checks", "1", "--password-queue", "2")
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		noRetry  int
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	junk := buildWheel(t, "flood-demo", "0.1", 0)
	untilStopped(&wg, stop, 60, func(i int) {
		r := postAs(s.url, junk, fmt.Sprintf("%s%d", rbUser, i%3), "wrong", nil)
		if r.err != nil {
			return
		}
		mu.Lock()
		statuses[r.status]++
		if r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") == "" {
			noRetry++
		}
		mu.Unlock()
	})
	time.Sleep(500 * time.Millisecond)
	var slowest time.Duration
	for i := range 5 {
		d := buildWheel(t, "flood-demo", fmt.Sprintf("1.%d", i), 0)
		r := postAs(s.url, d, "__token__", token, nil)
		if r.err != nil || r.status != http.StatusOK {
			t.Errorf("token upload %d during the flood: %d %q %v", i, r.status, r.body, r.err)
		}
		slowest = max(slowest, r.elapsed)
	}
	close(stop)
	wg.Wait()
	t.Logf("flood answers %v; slowest token upload %v", statuses, slowest)
	if statuses[http.StatusTooManyRequests] == 0 || noRetry > 0 {
		t.Errorf("flood got %d 429s, %d of them without Retry-After; want 429s with Retry-After", statuses[http.StatusTooManyRequests], noRetry)
	}
	for st := range statuses {
		if st != http.StatusForbidden && st != http.StatusTooManyRequests {
			t.Errorf("flood got status %d (%d times), want only 403 and 429", st, statuses[st])
		}
	}
	// An upload alone takes ~50 ms here; the bound is for a loaded 2-core
	// machine, far below a wait behind 60 argon2id checks at a time.
	if slowest > 3*time.Second {
		t.Errorf("a token upload took %v during the flood", slowest)
	}
	if err := s.stop(30 * time.Second); err != nil {
		t.Errorf("server exit: %v", err)
	}
}
