package mirror_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/mirror"
	"github.com/cheeseshop/cheeseshop/internal/mirror/mirrortest"
)

func TestHTTPPutNginxConformance(t *testing.T) {
	t.Parallel()
	base := mirrortest.StartNginxDAV(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	target, err := mirror.NewHTTPPut(u, mirror.TargetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mirrortest.Run(t, target)
}

func TestHTTPPutSendsAuthHeader(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) //nolint:errcheck
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.EscapedPath()+" "+r.Header.Get("Accesskey"))
		mu.Unlock()
		if r.Header.Get("AccessKey") != "s3cret" {
			http.Error(w, "wrong key", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/zone/")
	target, err := mirror.NewHTTPPut(u, mirror.TargetOptions{AuthHeader: "AccessKey:  s3cret "})
	if err != nil {
		t.Fatal(err)
	}
	if err := target.Put(context.Background(), "ab/x y-1.0.tar.gz", strings.NewReader("abc"), 3); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "PUT /zone/ab/x%20y-1.0.tar.gz s3cret" {
		t.Errorf("requests = %q", got)
	}
	bad, _ := mirror.NewHTTPPut(u, mirror.TargetOptions{AuthHeader: "AccessKey: wrong"})
	err = bad.Put(context.Background(), "ab/x.tar.gz", strings.NewReader("abc"), 3)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "wrong key") {
		t.Errorf("Put with a wrong key: %v, want the status and the server's reason", err)
	}
	if strings.Contains(err.Error(), "wrong\"") || strings.Contains(err.Error(), "AccessKey") {
		t.Errorf("error mentions the credential: %v", err)
	}
}
