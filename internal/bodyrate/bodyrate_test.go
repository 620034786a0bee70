package bodyrate

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"
)

// A body that arrives in time is read whole; once it is, the deadline is
// gone: the handler may work longer than Timeout with a live context, and
// the connection is reused.
func TestBodyInTimeKeepsRequestAlive(t *testing.T) {
	t.Parallel()
	cfg := Config{MinRate: 1000, Timeout: 300 * time.Millisecond}
	srv := httptest.NewServer(Handler(cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		time.Sleep(2 * cfg.Timeout)
		if err := r.Context().Err(); err != nil {
			http.Error(w, "context: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d", len(b))
	})))
	defer srv.Close()
	var conns int
	client := srv.Client()
	for i := range 2 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(make([]byte, 100000)))
		req = req.WithContext(httptraceConn(req, &conns))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != "100000" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
		}
	}
	if conns != 1 {
		t.Errorf("%d connections for two requests, want one reused", conns)
	}
}

// A body that stalls fails its Read with the rate in the message, after
// about Timeout.
func TestStalledBodyFails(t *testing.T) {
	t.Parallel()
	cfg := Config{MinRate: 1000, Timeout: 300 * time.Millisecond}
	got := make(chan string, 1)
	srv := httptest.NewServer(Handler(cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		got <- fmt.Sprint(err)
	})))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
	select {
	case msg := <-got:
		if took := time.Since(start); took > 5*time.Second || !strings.Contains(msg, "slower than 1000 bytes per second") {
			t.Fatalf("after %v: %q", took, msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stalled body still being read after 10 s")
	}
}

// httptraceConn counts the new connections req's client dials.
func httptraceConn(req *http.Request, n *int) context.Context {
	return httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if !info.Reused {
				*n++
			}
		},
	})
}
