// Package mirrortest is the conformance suite every mirror.ObjectStore
// passes: its test calls Run with a store whose public URL serves what was
// put, the way the CDN would.
package mirrortest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/mirror"
)

// Run checks store against the ObjectStore contract. Objects go under a
// random prefix, so one store may be checked more than once.
func Run(t *testing.T, store mirror.ObjectStore) {
	t.Helper()
	prefix := randHex(t, 2) + "/" + randHex(t, 2) + "/" + randHex(t, 30)

	t.Run("PutAndFetch", func(t *testing.T) {
		body := randBytes(t, 100<<10)
		p := prefix + "/demo_pkg-1.0-py3-none-any.whl"
		put(t, store, p, bytes.NewReader(body), int64(len(body)))
		expect(t, store, p, body)
		meta := []byte("Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n")
		put(t, store, p+".metadata", bytes.NewReader(meta), int64(len(meta)))
		expect(t, store, p+".metadata", meta)
	})

	t.Run("SidecarURL", func(t *testing.T) {
		p := prefix + "/demo_pkg-1.0-py3-none-any.whl"
		if got, want := store.PublicURL(p+".metadata"), store.PublicURL(p)+".metadata"; got != want {
			t.Errorf("PublicURL of the sidecar = %q, want %q", got, want)
		}
		if u := store.PublicURL(p); !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			t.Errorf("PublicURL = %q, want an http(s) URL", u)
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		p := prefix + "/overwrite-1.0.tar.gz"
		first := []byte("first, longer content that must go away entirely")
		put(t, store, p, bytes.NewReader(first), int64(len(first)))
		second := []byte("second")
		put(t, store, p, bytes.NewReader(second), int64(len(second)))
		expect(t, store, p, second)
	})

	t.Run("Empty", func(t *testing.T) {
		p := prefix + "/empty-1.0.tar.gz"
		put(t, store, p, bytes.NewReader(nil), 0)
		expect(t, store, p, []byte{})
	})

	t.Run("StreamedReader", func(t *testing.T) {
		// A reader that is neither seekable nor an io.ReaderAt, as a
		// target may get from a pipe.
		body := randBytes(t, 1<<20+17)
		p := prefix + "/streamed-1.0.tar.gz"
		put(t, store, p, struct{ io.Reader }{bytes.NewReader(body)}, int64(len(body)))
		expect(t, store, p, body)
	})

	t.Run("ShortBody", func(t *testing.T) {
		body := randBytes(t, 64<<10)
		p := prefix + "/short-1.0.tar.gz"
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := store.Put(ctx, p, struct{ io.Reader }{bytes.NewReader(body[:1000])}, int64(len(body))); err == nil {
			t.Fatal("Put of a body shorter than its size succeeded")
		}
		expectAbsent(t, store, p)
	})

	t.Run("FailingReader", func(t *testing.T) {
		body := randBytes(t, 64<<10)
		p := prefix + "/failing-1.0.tar.gz"
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r := io.MultiReader(bytes.NewReader(body[:2000]), errReader{})
		if err := store.Put(ctx, p, r, int64(len(body))); err == nil {
			t.Fatal("Put with a failing reader succeeded")
		}
		expectAbsent(t, store, p)
	})

	t.Run("CancelledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		p := prefix + "/cancelled-1.0.tar.gz"
		if err := store.Put(ctx, p, strings.NewReader("x"), 1); err == nil {
			t.Fatal("Put with a cancelled context succeeded")
		}
		expectAbsent(t, store, p)
	})

	t.Run("Delete", func(t *testing.T) {
		p := prefix + "/deleted-1.0-py3-none-any.whl"
		body := []byte("soon gone")
		put(t, store, p, bytes.NewReader(body), int64(len(body)))
		put(t, store, p+".metadata", bytes.NewReader(body), int64(len(body)))
		del(t, store, p)
		expectAbsent(t, store, p)
		expect(t, store, p+".metadata", body) // only what was named goes
		del(t, store, p)                      // already gone: not an error
		del(t, store, prefix+"/never-put-1.0.tar.gz")
		del(t, store, p+".metadata")
		expectAbsent(t, store, p+".metadata")
		// Put again after a delete: the object is back.
		put(t, store, p, bytes.NewReader(body), int64(len(body)))
		expect(t, store, p, body)
	})

	t.Run("BadPaths", func(t *testing.T) {
		for _, p := range []string{"", "/abs/x.whl", "../x.whl", prefix + "/../x.whl", prefix + "//x.whl", prefix + "/./x.whl"} {
			if err := store.Put(context.Background(), p, strings.NewReader("x"), 1); err == nil {
				t.Errorf("Put(%q) succeeded", p)
			}
			if err := store.Delete(context.Background(), p); err == nil {
				t.Errorf("Delete(%q) succeeded", p)
			}
		}
	})
}

var errBroken = errors.New("mirrortest: broken reader")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func randBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func randHex(t *testing.T, n int) string { return hex.EncodeToString(randBytes(t, n))[:n] }

func put(t *testing.T, store mirror.ObjectStore, p string, r io.Reader, size int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.Put(ctx, p, r, size); err != nil {
		t.Fatalf("Put(%s): %v", p, err)
	}
}

func del(t *testing.T, store mirror.ObjectStore, p string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.Delete(ctx, p); err != nil {
		t.Fatalf("Delete(%s): %v", p, err)
	}
}

func get(t *testing.T, store mirror.ObjectStore, p string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, store.PublicURL(p), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", req.URL, err)
	}
	return resp.StatusCode, b
}

func expect(t *testing.T, store mirror.ObjectStore, p string, want []byte) {
	t.Helper()
	code, got := get(t, store, p)
	if code != http.StatusOK || !bytes.Equal(got, want) {
		t.Fatalf("GET %s: status %d, %d bytes; want 200 with the %d bytes put", store.PublicURL(p), code, len(got), len(want))
	}
}

// expectAbsent checks that nothing is served at p (after a failed Put, or
// a Delete).
func expectAbsent(t *testing.T, store mirror.ObjectStore, p string) {
	t.Helper()
	if code, got := get(t, store, p); code == http.StatusOK {
		t.Fatalf("GET %s: 200 with %d bytes, want no object", store.PublicURL(p), len(got))
	}
}
