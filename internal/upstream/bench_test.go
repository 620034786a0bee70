package upstream_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/upstream"
)

// BenchmarkPage compares GET of a cached upstream page with GET of a local
// page of the same size: both are served from disk by the static server.
func BenchmarkPage(b *testing.B) {
	up := newFakeUpstream(b)
	var files []string
	for i := 0; i < 50; i++ {
		files = append(files, jsonFile("lib-1."+string(rune('a'+i%26))+".tar.gz", "/files/x", wheel, ""))
	}
	up.pages["lib"] = jsonPage("lib", files...)
	f := newFixture(b, up, upstream.Config{})
	cached := get(b, f.srv.URL+"/simple/lib/")
	// A local page: the same bytes in DATA/simple.
	local := datadir.New(f.dir).ProjectPage("local", datadir.HTML)
	os.MkdirAll(filepath.Dir(local), 0o755)
	os.WriteFile(local, cached, 0o644)
	os.WriteFile(datadir.New(f.dir).ProjectPage("local", datadir.JSON), []byte("{}"), 0o644)
	for _, name := range []string{"local", "lib"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			u := f.srv.URL + "/simple/" + name + "/"
			for b.Loop() {
				get(b, u)
			}
		})
	}
}

// BenchmarkFirstDownload100MB compares a first download through the proxy
// (fetched, hashed, written, streamed) with the same download straight
// from the upstream.
func BenchmarkFirstDownload100MB(b *testing.B) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 100<<20/16)
	up := newFakeUpstream(b)
	up.files["/files/big-1.0.tar.gz"] = big
	up.pages["big"] = jsonPage("big", jsonFile("big-1.0.tar.gz", "/files/big-1.0.tar.gz", big, ""))
	f := newFixture(b, up, upstream.Config{})
	get(b, f.srv.URL+"/simple/big/")
	rel := datadir.PackagePath(sha(big), "big-1.0.tar.gz")
	b.Run("direct", func(b *testing.B) {
		b.SetBytes(int64(len(big)))
		for b.Loop() {
			if n := discard(b, up.srv.URL+"/files/big-1.0.tar.gz"); n != int64(len(big)) {
				b.Fatal(n)
			}
		}
	})
	b.Run("proxy", func(b *testing.B) {
		b.SetBytes(int64(len(big)))
		for b.Loop() {
			b.StopTimer()
			os.Remove(datadir.New(f.dir).CachePackage(rel))
			b.StartTimer()
			if n := discard(b, f.srv.URL+"/packages/"+rel); n != int64(len(big)) {
				b.Fatal(n)
			}
		}
	})
}

func get(tb testing.TB, u string) []byte {
	resp, err := http.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		tb.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	return body
}

func discard(tb testing.TB, u string) int64 {
	resp, err := http.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	n, _ := io.Copy(io.Discard, resp.Body)
	return n
}
