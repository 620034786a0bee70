// Command benchload is the load and latency tool behind `make bench`
// (scripts/bench.sh, BENCHMARKS.md). It talks to a running cheeseshop over
// HTTP, or to its database and data directory directly:
//
//	benchload upload     -url URL -user U -password P -clients N -count K   upload latency p50/p99 (-readme BYTES: with a Markdown README)
//	benchload flood      -url URL -user U -token T -clients N -duration D   token uploads during a wrong-password flood
//	benchload get        -url URL/simple/NAME/ -count K                     GET latency p50/p99
//	benchload regen      -database-url DB -data-dir D -project NAME...      page and root rewrite time
//	benchload fileserver -listen ADDR -dir DIR                              net/http's FileServer over DIR
//	benchload bigwheel   -out PATH -size BYTES                              a large valid wheel (large.go)
//	benchload limits     -file PATH -dir DIR                                write+fsync and digest limits (large.go)
//	benchload receiver   -listen ADDR -dir DIR                              the least an upload does, built from its own parts (large.go)
//	benchload search     -database-url DB [-url URL] [-fill N]              search latency p50/p99 by kind of query (search.go)
//
// Every loop is bounded by a count and a duration. It is a benchmark tool,
// not part of the server, and only ever meant for loopback.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchload upload|flood|get|regen|fileserver|bigwheel|limits|search [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "upload":
		err = cmdUpload(ctx, os.Args[2:])
	case "flood":
		err = cmdFlood(ctx, os.Args[2:])
	case "get":
		err = cmdGet(ctx, os.Args[2:])
	case "regen":
		err = cmdRegen(ctx, os.Args[2:])
	case "fileserver":
		err = cmdFileServer(ctx, os.Args[2:])
	case "bigwheel":
		err = cmdBigWheel(os.Args[2:])
	case "limits":
		err = cmdLimits(os.Args[2:])
	case "receiver":
		err = cmdReceiver(ctx, os.Args[2:])
	case "search":
		err = cmdSearch(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(1)
	}
}

// stats summarises latencies.
type stats struct {
	n                   int
	p50, p99, max, mean time.Duration
}

func summarize(d []time.Duration) stats {
	if len(d) == 0 {
		return stats{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, x := range s {
		sum += x
	}
	q := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.5) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return stats{n: len(s), p50: q(0.50), p99: q(0.99), max: s[len(s)-1], mean: sum / time.Duration(len(s))}
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

func (s stats) String() string {
	return fmt.Sprintf("n=%d p50=%sms p99=%sms max=%sms mean=%sms", s.n, ms(s.p50), ms(s.p99), ms(s.max), ms(s.mean))
}

// dbFlag declares -database-url, the benchmark database by default.
func dbFlag(fs *flag.FlagSet, usage string) *string {
	return fs.String("database-url", "postgres://postgres@127.0.0.1:5432/cheeseshop_bench?sslmode=disable", usage)
}

// boundFlags declares -count and -duration, the two upper bounds of a
// measuring loop: it stops at whichever it reaches first.
func boundFlags(fs *flag.FlagSet, count int, countUsage string, dur time.Duration, durUsage string) (*int, *time.Duration) {
	return fs.Int("count", count, countUsage+" (upper bound)"), fs.Duration("duration", dur, durUsage+" (upper bound)")
}

// ---- upload ----

// wheel builds a valid wheel of about size bytes: METADATA, WHEEL, RECORD
// and one stored (uncompressed) random payload, so the size on the wire is
// the size asked for.
func wheel(name, version string, size int) (filename string, data []byte) {
	dist := strings.ReplaceAll(name, "-", "_")
	distInfo := dist + "-" + version + ".dist-info"
	filename = dist + "-" + version + "-py3-none-any.whl"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(path string, body []byte, method uint16) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: path, Method: method, Modified: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			panic(err)
		}
		w.Write(body) //nolint:errcheck // bytes.Buffer
	}
	payload := make([]byte, max(0, size-1024))
	rand.Read(payload) //nolint:errcheck // never fails
	add(dist+"/__init__.py", []byte("\n"), zip.Deflate)
	add(dist+"/payload.bin", payload, zip.Store)
	add(distInfo+"/METADATA", []byte("Metadata-Version: 2.1\nName: "+name+"\nVersion: "+version+"\nSummary: benchload\n"), zip.Deflate)
	add(distInfo+"/WHEEL", []byte("Wheel-Version: 1.0\nGenerator: benchload\nRoot-Is-Purelib: true\nTag: py3-none-any\n"), zip.Deflate)
	add(distInfo+"/RECORD", []byte(dist+"/__init__.py,,\n"+dist+"/payload.bin,,\n"+distInfo+"/METADATA,,\n"+distInfo+"/WHEEL,,\n"+distInfo+"/RECORD,,\n"), zip.Deflate)
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return filename, buf.Bytes()
}

// uploadBody is a twine-style multipart form for one wheel.
func uploadBody(name, version string, size, readme int) (body []byte, contentType string) {
	filename, data := wheel(name, version, size)
	sum := sha256.Sum256(data)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields := [][2]string{
		{":action", "file_upload"}, {"protocol_version", "1"}, {"name", name}, {"version", version},
		{"filetype", "bdist_wheel"}, {"pyversion", "py3"}, {"metadata_version", "2.1"},
		{"summary", "benchload"}, {"sha256_digest", hex.EncodeToString(sum[:])},
	}
	if readme > 0 {
		fields = append(fields, [2]string{"description", markdownReadme(name+" "+version, readme)},
			[2]string{"description_content_type", "text/markdown"})
	}
	for _, kv := range fields {
		mw.WriteField(kv[0], kv[1]) //nolint:errcheck // bytes.Buffer
	}
	w, _ := mw.CreateFormFile("content", filename)
	w.Write(data) //nolint:errcheck // bytes.Buffer
	mw.Close()    //nolint:errcheck // bytes.Buffer
	return buf.Bytes(), mw.FormDataContentType()
}

// markdownReadme is a Markdown README of about size bytes whose first
// heading is title (so that each release's differs): sections of prose
// with links and emphasis, fenced code and a table.
func markdownReadme(title string, size int) string {
	var sb strings.Builder
	sb.WriteString("# " + title + "\n\n")
	for i := 0; sb.Len() < size; i++ {
		fmt.Fprintf(&sb, "## Section %d\n\nSome *prose* with a [link](https://example.com/%d) and `code`, ~~old~~ text.\n\n", i, i)
		sb.WriteString("```python\nimport demo\nprint(demo.hello('<x>'))\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n")
	}
	return sb.String()
}

func post(ctx context.Context, c *http.Client, url, user, pass string, body []byte, ct string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", ct)
	req.SetBasicAuth(user, pass)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("POST %s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	}
	return d, nil
}

func cmdUpload(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("upload", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080/legacy/", "upload URL")
	user := fs.String("user", "bench", "user name")
	pass := fs.String("password", "bench", "password")
	clients := fs.Int("clients", 1, "concurrent clients, each uploading to its own project")
	count, dur := boundFlags(fs, 200, "measured uploads per client", 30*time.Second, "stop measuring after this long")
	size := fs.Int("size", 100*1024, "wheel size in bytes")
	readme := fs.Int("readme", 0, "size in bytes of a Markdown README (description) sent with each upload, each release's its own; 0 sends none")
	prefix := fs.String("prefix", "bl"+strconv.FormatInt(time.Now().Unix(), 36), "project name prefix; the run's projects are PREFIX-c0, PREFIX-c1, …")
	if err := fs.Parse(args); err != nil {
		return err
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *clients}}

	// Build every body first so that the client does no work in the timed part.
	type job struct {
		body []byte
		ct   string
	}
	jobs := make([][]job, *clients)
	for c := range *clients {
		name := fmt.Sprintf("%s-c%d", *prefix, c)
		for v := range *count + 1 {
			b, ct := uploadBody(name, fmt.Sprintf("1.0.%d", v), *size, *readme)
			jobs[c] = append(jobs[c], job{b, ct})
		}
	}
	// The first upload of each client creates its project (a root rewrite)
	// and warms the credential cache: timed apart, not in the figures.
	var created []time.Duration
	for c := range *clients {
		d, err := post(ctx, client, *url, *user, *pass, jobs[c][0].body, jobs[c][0].ct)
		if err != nil {
			return err
		}
		created = append(created, d)
	}

	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for c := range *clients {
		wg.Go(func() {
			for _, j := range jobs[c][1:] {
				if ctx.Err() != nil {
					return
				}
				d, err := post(ctx, client, *url, *user, *pass, j.body, j.ct)
				mu.Lock()
				if err != nil {
					if firstErr == nil && ctx.Err() == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return firstErr
	}
	s := summarize(lat)
	fmt.Printf("upload clients=%d size=%d %s rate=%.1f/s new-project(first upload) %s\n",
		*clients, len(jobs[0][0].body), s, float64(s.n)/elapsed.Seconds(), summarize(created))
	return nil
}

// ---- flood ----

// cmdFlood sends wrong passwords from many clients, each as fast as it is
// answered (an attacker ignores Retry-After), while one client uploads with
// an API token: issue 14 item 7's measurement. It prints the flood's
// answers by status and the token uploads' latency.
func cmdFlood(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("flood", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080/legacy/", "upload URL")
	user := fs.String("user", "bench", "user name the flood guesses passwords for")
	token := fs.String("token", "", "API token of the honest uploader")
	clients := fs.Int("clients", 200, "concurrent wrong-password clients")
	dur := fs.Duration("duration", 30*time.Second, "how long the flood lasts")
	size := fs.Int("size", 100*1024, "token uploads' wheel size in bytes")
	prefix := fs.String("prefix", "fl"+strconv.FormatInt(time.Now().Unix(), 36), "project name of the token uploads")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *token == "" {
		return errors.New("flood: need -token")
	}
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	floodClient := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}}
	guess, guessCT := uploadBody(*prefix+"-guess", "1.0", 1024, 0)
	var mu sync.Mutex
	statuses := map[string]int{}
	var wg sync.WaitGroup
	for c := range *clients {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(guess))
				if err != nil {
					return
				}
				req.Header.Set("Content-Type", guessCT)
				req.SetBasicAuth(*user, fmt.Sprintf("guess-%d-%d", c, i))
				key := "error"
				if resp, err := floodClient.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body) //nolint:errcheck
					resp.Body.Close()
					key = strconv.Itoa(resp.StatusCode)
				} else if ctx.Err() != nil {
					return
				}
				mu.Lock()
				statuses[key]++
				mu.Unlock()
			}
		})
	}
	// The honest uploader: one client, one upload after the other, each
	// body built before its clock starts.
	tokenClient := &http.Client{Timeout: 60 * time.Second}
	var lat []time.Duration
	var firstErr error
	time.Sleep(time.Second) // let the flood build up
	for v := 0; ctx.Err() == nil; v++ {
		b, ct := uploadBody(*prefix, fmt.Sprintf("1.0.%d", v), *size, 0)
		d, err := post(ctx, tokenClient, *url, "__token__", *token, b, ct)
		if err != nil {
			if ctx.Err() == nil && firstErr == nil {
				firstErr = err
			}
			break
		}
		lat = append(lat, d)
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	var total int
	for _, n := range statuses {
		total += n
	}
	fmt.Printf("flood clients=%d duration=%s requests=%d (%.0f/s) answers=%v\n", *clients, *dur, total, float64(total)/dur.Seconds(), statuses)
	fmt.Printf("token upload during the flood size=%d %s\n", *size, summarize(lat))
	return nil
}

// ---- get ----

func cmdGet(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080/simple/bench-10/", "page URL")
	accept := fs.String("accept", "", "Accept header (empty: none)")
	count, dur := boundFlags(fs, 2000, "requests", 10*time.Second, "stop after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	lat := make([]time.Duration, 0, *count)
	var size int
	for range *count {
		if ctx.Err() != nil {
			break
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
		if err != nil {
			return err
		}
		if *accept != "" {
			req.Header.Set("Accept", *accept)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s %v", *url, resp.Status, err)
		}
		size = int(n)
		lat = append(lat, d)
	}
	fmt.Printf("get %s bytes=%d %s\n", *url, size, summarize(lat))
	return nil
}

// ---- regen ----

func cmdRegen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("regen", flag.ContinueOnError)
	dbURL := dbFlag(fs, "database")
	dataDir := fs.String("data-dir", "", "data directory")
	count, dur := boundFlags(fs, 20, "rewrites per project", 60*time.Second, "stop after this long per item")
	rootCount := fs.Int("root-count", 5, "root rewrites (upper bound; 0 skips)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the rewrites to this file (go tool pprof)")
	deferSync := fs.Bool("defer-sync", true, "time rewrites as the server does them (fsyncs in the background, staticgen's DeferSync); false: durable before returning, as the CLI commands")
	settle := fs.Bool("settle", false, "with -defer-sync: wait, untimed, for the background sync of each rewrite before the next (one rewrite on an idle disk; without it rewrites follow each other while the previous one's pages are being flushed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *dataDir == "" {
		return errors.New("regen: need -data-dir")
	}
	pool, err := pgxpool.New(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := index.NewStore(pool)
	gen := staticgen.New(staticgen.Config{DataDir: *dataDir, DeferSync: *deferSync}, store, slog.New(slog.DiscardHandler))
	defer gen.Close()
	timeIt := func(label string, n int, fn func() error) error {
		ictx, cancel := context.WithTimeout(ctx, *dur)
		defer cancel()
		var lat []time.Duration
		for range n {
			if ictx.Err() != nil {
				break
			}
			start := time.Now()
			if err := fn(); err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
			lat = append(lat, time.Since(start))
			if *settle {
				if err := gen.Flush(ictx); err != nil {
					return fmt.Errorf("%s: %w", label, err)
				}
			}
		}
		fmt.Printf("regen %s %s\n", label, summarize(lat))
		return nil
	}
	for _, name := range fs.Args() {
		var files int
		if err := pool.QueryRow(ctx, `select count(*) from files f join projects p on p.id = f.project_id where p.normalized = $1`, name).Scan(&files); err != nil {
			files = -1
		}
		if err := timeIt(fmt.Sprintf("project=%s files=%d", name, files), *count, func() error {
			return gen.RegenerateProject(ctx, index.Normalized(name))
		}); err != nil {
			return err
		}
	}
	if *rootCount > 0 {
		var projects int
		pool.QueryRow(ctx, `select count(*) from projects`).Scan(&projects) //nolint:errcheck // a label only
		return timeIt(fmt.Sprintf("root projects=%d", projects), *rootCount, func() error { return gen.RegenerateRoot(ctx) })
	}
	return nil
}

// ---- fileserver ----

// cmdFileServer serves DIR with net/http's FileServer and nothing else: the
// baseline the issue compares cheeseshop's page handler with.
func cmdFileServer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fileserver", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8082", "address")
	dir := fs.String("dir", "", "directory to serve (the data directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("fileserver: need -dir")
	}
	return serveUntilDone(ctx, *listen, http.FileServer(http.Dir(*dir)))
}

// serveUntilDone serves h on addr until ctx is done.
func serveUntilDone(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close() //nolint:errcheck // exiting
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
