package deploy_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/deploy"
)

// An upload streams through the web server: the app reads the first bytes
// of a body while the client is still sending it. A web server that buffered request
// bodies (nginx's default proxy_request_buffering on, Apache's spooling of
// a chunked body) would hand the app nothing until the client finished.
func TestDeployStreamsUploads(t *testing.T) {
	eachWebServer(t, testStreaming)
}

// streamApp reads a body and says when it has seen its first bytes.
type streamApp struct {
	first chan struct{} // closed at the first bytes of a body
	once  sync.Once
	addr  string
}

func startStreamApp(t *testing.T) *streamApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &streamApp{first: make(chan struct{}), addr: ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int64
		buf := make([]byte, 64<<10)
		for {
			k, err := r.Body.Read(buf)
			n += int64(k)
			if n > 0 {
				a.once.Do(func() { close(a.first) })
			}
			if err != nil {
				break
			}
		}
		fmt.Fprint(w, n)
	})}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return a
}

func testStreaming(t *testing.T, kind string) {
	const (
		size = 8 << 20 // the body
		head = 1 << 20 // sent before the client waits for the app to see it
	)
	for _, chunked := range []bool{false, true} {
		t.Run(map[bool]string{false: "content-length", true: "chunked"}[chunked], func(t *testing.T) {
			app := startStreamApp(t)
			cfg := deploy.Config{Upstream: app.addr, DataDir: filepath.Join(t.TempDir(), "data"), ServerName: "localhost", MaxFileSize: 16 << 20}
			if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
				t.Fatal(err)
			}
			u := serveDeployed(t, kind, cfg)

			pr, pw := io.Pipe()
			req, err := http.NewRequest(http.MethodPost, u+"/legacy/", pr)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = size
			if chunked {
				req.ContentLength = -1
			}
			type result struct {
				status int
				body   string
				err    error
			}
			done := make(chan result, 1)
			go func() {
				resp, err := client.Do(req)
				if err != nil {
					done <- result{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				done <- result{resp.StatusCode, string(b), err}
			}()

			chunk := bytes.Repeat([]byte("x"), 64<<10)
			send := func(n int) {
				for ; n > 0; n -= len(chunk) {
					if _, err := pw.Write(chunk); err != nil {
						t.Fatalf("send: %v", err)
					}
				}
			}
			send(head)
			select {
			case <-app.first:
			case <-time.After(20 * time.Second):
				t.Errorf("the app saw nothing of the body after %d of %d bytes were sent", head, size)
			}
			send(size - head)
			pw.Close()
			r := <-done
			if r.err != nil || r.status != http.StatusOK || r.body != strconv.Itoa(size) {
				t.Errorf("upload: status %d, body %q, err %v; want 200 and the app to read %d bytes", r.status, r.body, r.err, size)
			}
		})
	}
}
