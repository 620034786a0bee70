package main

// Large files through the real binary and the generated nginx (issue 20):
// an upload cut off or stalled halfway leaves nothing, and a resumed
// download (Range) returns the right bytes.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cheeseshop/cheeseshop/internal/deploy/deploytest"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// largeSize is the e2e tests' "large" file: big enough to take a while
// through nginx, small enough for CI.
const largeSize = 64 << 20

// startNginx puts the generated nginx in front of the server s, serving
// in's data directory, with --max-file-size maxFile.
func startNginx(t *testing.T, in *install, s *server, maxFile int64) string {
	t.Helper()
	if err := deploytest.Missing(deploytest.Nginx); err != nil {
		if os.Getenv("CHEESESHOP_REQUIRE") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	app, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	if err := deploytest.OpenPath(in.dataDir); err != nil {
		t.Fatal(err)
	}
	web := deploytest.StartT(t, deploytest.Nginx, t.TempDir(), func(listen string) ([]byte, error) {
		var stdout, stderr bytes.Buffer
		noenv := func(string) string { return "" }
		err := run(context.Background(), []string{"deploy", "nginx", "--listen", listen, "--upstream", app.Host,
			"--data-dir", in.dataDir, "--server-name", "localhost", "--max-file-size", fmt.Sprint(maxFile)},
			noenv, strings.NewReader(""), &stdout, &stderr)
		if err != nil {
			return nil, fmt.Errorf("cheeseshop deploy nginx: %w\n%s", err, stderr.String())
		}
		return stdout.Bytes(), nil
	})
	return web.URL
}

// An upload behind nginx whose client disconnects halfway, or stalls
// halfway until the app gives up on it, leaves nothing: no temp file, no
// package file, no row. The app must have been receiving it while the
// client was still sending (nginx streams the body), so the temp file is
// seen first.
func TestLargeUploadCutOffBehindNginx(t *testing.T) {
	t.Parallel()
	dbURL := indextest.NewDBURL(t)
	in := newInstall(t, dbURL, t.TempDir())
	const maxFile = 2 * largeSize
	s := in.serve("--max-file-size", fmt.Sprint(maxFile), "--body-timeout", "2s", "--min-body-rate", "1000")
	web := startNginx(t, in, s, maxFile)
	d := buildWheel(t, "big-cut", "1.0", largeSize)
	ctype, body := uploadBody(d)
	addr := strings.TrimPrefix(web, "http://")

	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	for _, mode := range []string{"disconnect", "stall"} {
		t.Run(mode, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /legacy/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: %s\r\nContent-Length: %d\r\nAuthorization: Basic %s\r\n\r\n",
				ctype, len(body), b64std(rbUser+":"+rbPassword))
			half := len(body) / 2
			if _, err := c.Write(body[:half]); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the app to receive the upload while it is being sent", func() bool {
				return len(packageFiles(t, in.dataDir)) > 0
			})
			if mode == "disconnect" {
				c.Close()
			}
			// Stalled, the app cuts the body off after --body-timeout.
			waitFor(t, "the half upload to be cleaned up", func() bool {
				return len(packageFiles(t, in.dataDir)) == 0
			})
			var n int
			if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM files`).Scan(&n); err != nil || n != 0 {
				t.Errorf("%d file rows (%v) after a cut-off upload", n, err)
			}
		})
	}
	// And a whole upload through the same nginx works.
	if r := postDist(web, d); r.err != nil || r.status != http.StatusOK {
		t.Fatalf("upload through nginx: %d %q %v", r.status, r.body, r.err)
	}
	in.check()
}

// A download of a large file interrupted halfway and resumed with Range
// gets the right bytes, from the binary and from nginx; so does a range in
// the middle.
func TestLargeDownloadResumed(t *testing.T) {
	t.Parallel()
	in := newInstall(t, indextest.NewDBURL(t), t.TempDir())
	const maxFile = 2 * largeSize
	s := in.serve("--max-file-size", fmt.Sprint(maxFile))
	d := buildWheel(t, "big-get", "1.0", largeSize)
	if r := postDist(s.url, d); r.err != nil || r.status != http.StatusOK {
		t.Fatalf("upload: %d %q %v", r.status, r.body, r.err)
	}
	_, page := get(t, s.url+"/simple/big-get/", "")
	href := hrefOf(page, d.filename)
	if href == "" {
		t.Fatalf("no link to %s in\n%s", d.filename, page)
	}
	web := startNginx(t, in, s, maxFile)
	want := sha256.Sum256(d.data)
	for name, base := range map[string]string{"binary": s.url, "nginx": web} {
		t.Run(name, func(t *testing.T) {
			u, err := resolve(base+"/simple/big-get/", href)
			if err != nil {
				t.Fatal(err)
			}
			// The first part, then the connection drops.
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			first := make([]byte, len(d.data)/3+12345)
			_, err = io.ReadFull(resp.Body, first)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET: %d, %v", resp.StatusCode, err)
			}
			// The rest, resumed as curl -C - and pip's range requests do.
			rest, status, cr := getRange(t, u, fmt.Sprintf("bytes=%d-", len(first)))
			if status != http.StatusPartialContent || cr != fmt.Sprintf("bytes %d-%d/%d", len(first), len(d.data)-1, len(d.data)) {
				t.Fatalf("resume: status %d, Content-Range %q", status, cr)
			}
			h := sha256.New()
			h.Write(first)
			h.Write(rest)
			if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
				t.Errorf("resumed download: %d+%d bytes with sha256 %x, want %d bytes with %x", len(first), len(rest), got, len(d.data), want)
			}
			// A range in the middle.
			lo, hi := len(d.data)/2, len(d.data)/2+1<<20
			mid, status, _ := getRange(t, u, fmt.Sprintf("bytes=%d-%d", lo, hi))
			if status != http.StatusPartialContent || !bytes.Equal(mid, d.data[lo:hi+1]) {
				t.Errorf("range %d-%d: status %d, %d bytes, not the file's", lo, hi, status, len(mid))
			}
		})
	}
}

func getRange(t *testing.T, u, rng string) ([]byte, int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Range", rng)
	client := &http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, resp.StatusCode, resp.Header.Get("Content-Range")
}
