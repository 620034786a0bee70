package upstream_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
// from the upstream. "unpaced" is an upstream in this process, as fast as
// the CPU lets it be and sharing the CPU with the proxy and the client: it
// measures the proxy's CPU cost per byte. "100MiBps" paces the upstream's
// file bodies at 100 MiB/s, a fast link to a public index, and "500MiBps"
// at five times that: they measure what a user waits for.
func BenchmarkFirstDownload100MB(b *testing.B) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 100<<20/16)
	up := newFakeUpstream(b)
	up.files["/files/big-1.0.tar.gz"] = big
	up.pages["big"] = jsonPage("big", jsonFile("big-1.0.tar.gz", "/files/big-1.0.tar.gz", big, ""))
	var rate atomic.Int64
	up.srv.Config.Handler = paced(up.srv.Config.Handler, &rate)
	f := newFixture(b, up, upstream.Config{})
	get(b, f.srv.URL+"/simple/big/")
	rel := datadir.PackagePath(sha(big), "big-1.0.tar.gz")
	for _, pace := range []struct {
		name string
		rate int64
	}{{"unpaced", 0}, {"100MiBps", 100 << 20}, {"500MiBps", 500 << 20}} {
		rate.Store(pace.rate)
		b.Run(pace.name+"/direct", func(b *testing.B) {
			b.SetBytes(int64(len(big)))
			for b.Loop() {
				if n := discard(b, up.srv.URL+"/files/big-1.0.tar.gz"); n != int64(len(big)) {
					b.Fatal(n)
				}
			}
		})
		b.Run(pace.name+"/proxy", func(b *testing.B) {
			b.SetBytes(int64(len(big)))
			for b.Loop() {
				b.StopTimer()
				// The client has every byte before the proxy's fsync and
				// rename of its copy: wait for those, then take it away.
				cached := datadir.New(f.dir).CachePackage(rel)
				for i := 0; i < 500; i++ {
					if _, err := os.Stat(cached); err == nil {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				os.Remove(cached)
				b.StartTimer()
				if n := discard(b, f.srv.URL+"/packages/"+rel); n != int64(len(big)) {
					b.Fatal(n)
				}

			}
		})
	}
}

// paced makes h send the bodies of /files/ at *rate bytes a second (0:
// unpaced), in 256 KiB writes, each when the bytes before it are due.
func paced(h http.Handler, rate *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bps := rate.Load(); bps > 0 && strings.HasPrefix(r.URL.Path, "/files/") {
			w = &pacedWriter{ResponseWriter: w, bps: bps, start: time.Now()}
		}
		h.ServeHTTP(w, r)
	})
}

type pacedWriter struct {
	http.ResponseWriter
	bps   int64
	start time.Time
	sent  int64
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	var n int
	for len(b) > 0 {
		k := min(len(b), 256<<10)
		if due := p.start.Add(time.Duration(p.sent * int64(time.Second) / p.bps)); time.Until(due) > 0 {
			time.Sleep(time.Until(due))
		}
		m, err := p.ResponseWriter.Write(b[:k])
		n += m
		p.sent += int64(m)
		if err != nil {
			return n, err
		}
		b = b[k:]
	}
	return n, nil
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
