package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// TestUpstreamTwoProcessesFetchOnce: two `cheeseshop serve` processes on one
// database and data directory, asked at the same moment for the same
// upstream file, fetch it from the upstream once and both serve it whole.
func TestUpstreamTwoProcessesFetchOnce(t *testing.T) {
	body := bytes.Repeat([]byte("upstream bytes "), 1<<20) // 15 MiB
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	var fetches atomic.Int64
	gate := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/simple/big/":
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			fmt.Fprintf(w, `{"meta":{"api-version":"1.1"},"name":"big","versions":["1.0"],"files":[`+
				`{"filename":"big-1.0.tar.gz","url":"/files/big-1.0.tar.gz","hashes":{"sha256":%q},"size":%d}]}`, digest, len(body))
		case "/files/big-1.0.tar.gz":
			fetches.Add(1)
			<-gate
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body)
		default:
			http.NotFound(w, r)
		}
	}))
	defer up.Close()

	in := newInstall(t, indextest.NewDBURL(t), t.TempDir())
	a := in.serve("--upstream", up.URL+"/simple/")
	b := in.serve("--upstream", up.URL+"/simple/")
	page := getOK(t, a.url+"/simple/big/", "")
	href := hrefOf(page, "big-1.0.tar.gz")
	if !strings.HasPrefix(href, "../../packages/") {
		t.Fatalf("href %q", href)
	}
	path := "/packages/" + strings.TrimPrefix(strings.SplitN(href, "#", 2)[0], "../../packages/")

	var wg sync.WaitGroup
	got := make([][]byte, 6)
	for i := range got {
		base := a.url
		if i%2 == 1 {
			base = b.url
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(base + path)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			got[i], _ = io.ReadAll(resp.Body)
		}()
	}
	time.Sleep(500 * time.Millisecond) // every request is waiting for the one fetch
	close(gate)
	wg.Wait()
	for i, g := range got {
		if !bytes.Equal(g, body) {
			t.Errorf("client %d got %d bytes, want the whole file (%d)", i, len(g), len(body))
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("the upstream was asked for the file %d times, want 1", n)
	}
	out, err := in.run("", "upstream", "status")
	if err != nil || !strings.Contains(out, "files cached      1") {
		t.Errorf("upstream status: %v\n%s", err, out)
	}
}
