package mirror_test

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
	"github.com/cheeseshop/cheeseshop/internal/mirror"
)

// fixture is a fresh database and data directory with one uploader.
type fixture struct {
	t       *testing.T
	dbURL   string
	store   *index.Store
	dataDir string
	user    int64
	pages   *pagesProbe
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool, dbURL := indextest.NewDB(t)
	store := index.NewStore(pool)
	u, err := store.CreateUser(context.Background(), "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{t: t, dbURL: dbURL, store: store, dataDir: t.TempDir(), user: u.ID}
	fx.pages = &pagesProbe{store: store}
	return fx
}

// testFile is a file the fixture uploaded: its row and its bytes.
type testFile struct {
	index.File
	content, metadata []byte
}

// add uploads a file of project as the upload path would leave it: bytes
// under DATA/packages at the content-addressed path, a .metadata sidecar
// for wheels, and the row (whose insert notifies the workers).
func (fx *fixture) add(project, version, filename string) testFile {
	t := fx.t
	t.Helper()
	content := []byte(strings.Repeat(filename+"\n", 500))
	sha := sha256.Sum256(content)
	b2 := blake2b.Sum256(content)
	m := md5.Sum(content)
	f := index.File{
		Filename: filename, Type: index.Sdist, PythonVersion: "source", Size: int64(len(content)),
		SHA256: hex.EncodeToString(sha[:]), MD5: hex.EncodeToString(m[:]), Blake2b256: hex.EncodeToString(b2[:]),
	}
	f.Path = datadir.PackagePath(f.Blake2b256, filename)
	local := filepath.Join(fx.dataDir, "packages", filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(local, content, 0o644); err != nil {
		t.Fatal(err)
	}
	var meta []byte
	if strings.HasSuffix(filename, ".whl") {
		f.Type, f.PythonVersion = index.Wheel, "py3"
		meta = []byte("Metadata-Version: 2.1\nName: " + project + "\nVersion: " + version + "\n")
		ms := sha256.Sum256(meta)
		f.MetadataSHA256 = hex.EncodeToString(ms[:])
		if err := os.WriteFile(local+".metadata", meta, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v, err := index.ParseVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fx.store.AddFile(context.Background(), index.NewFile{Project: project, Version: v, Uploader: fx.user, File: f})
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.store.LockedProject(context.Background(), res.Project.Normalized, func(st index.ProjectState) error {
		for _, g := range st.Files {
			if g.Filename == filename {
				f = g
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return testFile{File: f, content: content, metadata: meta}
}

// worker returns a worker on a store of its own (a pool of its own, as a
// second process would have) with test-sized timings.
func (fx *fixture) worker(target mirror.ObjectStore, cfg mirror.Config) *mirror.Worker {
	t := fx.t
	t.Helper()
	cfg.DataDir = fx.dataDir
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase, cfg.BackoffMax = 5*time.Millisecond, 40*time.Millisecond
	}
	if cfg.PushTimeout == 0 {
		cfg.PushTimeout = 5 * time.Second
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Hour // only NOTIFY and due retries wake it
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 10000 // faults last until the test heals them
	}
	w, err := mirror.New(cfg, fx.store, target, fx.pages, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// start runs w until stop is called or the test ends, whichever is first;
// stop cancels Run's context and checks that Run returns nil soon after.
func (fx *fixture) start(w *mirror.Worker) (stop func()) {
	t := fx.t
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v after cancellation, want nil", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("worker did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// statuses returns every file's mirror status by filename.
func (fx *fixture) statuses() map[string]index.MirrorStatus {
	fx.t.Helper()
	st, err := fx.store.MirrorStatuses(context.Background())
	if err != nil {
		fx.t.Fatal(err)
	}
	m := map[string]index.MirrorStatus{}
	for _, s := range st {
		m[s.Filename] = s
	}
	return m
}

// waitFor polls the database until ok holds for the statuses.
func (fx *fixture) waitFor(what string, ok func(map[string]index.MirrorStatus) bool) map[string]index.MirrorStatus {
	fx.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := fx.statuses()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			fx.t.Fatalf("timed out waiting for %s; statuses: %+v", what, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (fx *fixture) waitAllMirrored() map[string]index.MirrorStatus {
	fx.t.Helper()
	return fx.waitFor("every file mirrored", func(st map[string]index.MirrorStatus) bool {
		for _, s := range st {
			if s.State != index.MirrorMirrored {
				return false
			}
		}
		return len(st) > 0
	})
}

// pagesProbe stands in for staticgen. Each rebuild reads the project as a
// page would and checks the invariant the pages rely on: every CDN URL a
// page would link serves exactly the file's bytes, and its sidecar.
type pagesProbe struct {
	store   *index.Store
	mu      sync.Mutex
	calls   []index.Normalized
	linked  map[string]string // filename -> CDN URL, as the last page showed it
	badLink []string
}

func (p *pagesProbe) RegenerateProject(ctx context.Context, name index.Normalized) error {
	return p.store.LockedProject(ctx, name, func(st index.ProjectState) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.calls = append(p.calls, name)
		if p.linked == nil {
			p.linked = map[string]string{}
		}
		for _, f := range st.Files {
			if f.CDNURL == "" {
				continue
			}
			p.linked[f.Filename] = f.CDNURL
			if err := fetchMatches(ctx, f.CDNURL, f.Size, f.SHA256); err != nil {
				p.badLink = append(p.badLink, err.Error())
			}
			if f.MetadataSHA256 != "" {
				if err := fetchMatches(ctx, f.CDNURL+".metadata", -1, f.MetadataSHA256); err != nil {
					p.badLink = append(p.badLink, err.Error())
				}
			}
		}
		return nil
	})
}

// check fails the test if a page ever linked a copy that did not match.
func (p *pagesProbe) check(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.badLink {
		t.Errorf("a page linked a bad copy: %s", b)
	}
}

func (p *pagesProbe) linkedURL(filename string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.linked[filename]
}

// fetchMatches GETs u and compares size (unless -1) and sha256.
func fetchMatches(ctx context.Context, u string, size int64, sha string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	if resp.StatusCode != 200 || (size >= 0 && int64(len(b)) != size) || hex.EncodeToString(sum[:]) != sha {
		return fmt.Errorf("GET %s: status %d, %d bytes, sha256 %x; want %d bytes, %s", u, resp.StatusCode, len(b), sum, size, sha)
	}
	return nil
}

// testLogger sends the worker's log to t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fault is what the fault target does with a PUT.
type fault int32

const (
	healthy   fault = iota
	answer500       // 500 Internal Server Error, nothing stored
	hang            // never answers; the worker's push timeout ends it
	hangUp          // reads part of the body and closes the connection
	corrupt         // answers 201 but stores different bytes
)

// faultTarget is an HTTP PUT target, with GET as its public side, whose PUT
// misbehaves on demand. It counts PUTs per path.
type faultTarget struct {
	t    *testing.T
	addr string
	mode atomic.Int32

	mu      sync.Mutex
	srv     *http.Server
	objects map[string][]byte
	puts    map[string]int
	deletes map[string]int
	order   []string    // paths in the order PUTs arrived
	times   []time.Time // when each PUT arrived
	stop    chan struct{}
}

func newFaultTarget(t *testing.T) *faultTarget {
	ft := &faultTarget{t: t, objects: map[string][]byte{}, puts: map[string]int{}, deletes: map[string]int{}, stop: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ft.addr = ln.Addr().String()
	ft.serve(ln)
	t.Cleanup(func() {
		close(ft.stop)
		ft.mu.Lock()
		srv := ft.srv
		ft.mu.Unlock()
		if srv != nil {
			srv.Close()
		}
	})
	return ft
}

func (ft *faultTarget) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(ft.handle)}
	ft.mu.Lock()
	ft.srv = srv
	ft.mu.Unlock()
	go srv.Serve(ln) //nolint:errcheck // ends with Close
}

// down closes the listener and every connection: connections are refused.
func (ft *faultTarget) down() {
	ft.mu.Lock()
	srv := ft.srv
	ft.srv = nil
	ft.mu.Unlock()
	srv.Close()
}

// up listens again on the same address.
func (ft *faultTarget) up() {
	ln, err := net.Listen("tcp", ft.addr)
	if err != nil {
		ft.t.Fatalf("listen again on %s: %v", ft.addr, err)
	}
	ft.serve(ln)
}

func (ft *faultTarget) set(f fault) { ft.mode.Store(int32(f)) }

// target returns the worker's view of it: PUT and public URL at /cdn.
func (ft *faultTarget) target() *mirror.HTTPPut {
	u, _ := url.Parse("http://" + ft.addr + "/cdn")
	h, err := mirror.NewHTTPPut(u, mirror.TargetOptions{})
	if err != nil {
		ft.t.Fatal(err)
	}
	return h
}

func (ft *faultTarget) putCounts() (map[string]int, []string) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	m := make(map[string]int, len(ft.puts))
	for k, v := range ft.puts {
		m[k] = v
	}
	return m, append([]string(nil), ft.order...)
}

func (ft *faultTarget) firstPut() (time.Time, bool) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if len(ft.times) == 0 {
		return time.Time{}, false
	}
	return ft.times[0], true
}

func (ft *faultTarget) deleteCount(path string) int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.deletes["/cdn/"+path]
}

func (ft *faultTarget) object(path string) ([]byte, bool) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	b, ok := ft.objects["/cdn/"+path]
	return b, ok
}

func (ft *faultTarget) handle(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch r.Method {
	case http.MethodGet:
		ft.mu.Lock()
		b, ok := ft.objects[p]
		ft.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b) //nolint:errcheck
		return
	case http.MethodPut:
	case http.MethodDelete:
		// 500 fails it; any other fault is healthy for a DELETE.
		ft.mu.Lock()
		ft.deletes[p]++
		ft.mu.Unlock()
		if fault(ft.mode.Load()) == answer500 {
			http.Error(w, "storage backend exploded", http.StatusInternalServerError)
			return
		}
		ft.mu.Lock()
		_, ok := ft.objects[p]
		delete(ft.objects, p)
		ft.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	ft.mu.Lock()
	ft.puts[p]++
	ft.order = append(ft.order, p)
	ft.times = append(ft.times, time.Now())
	ft.mu.Unlock()
	switch fault(ft.mode.Load()) {
	case answer500:
		io.Copy(io.Discard, r.Body) //nolint:errcheck
		http.Error(w, "storage backend exploded", http.StatusInternalServerError)
		return
	case hang:
		select {
		case <-r.Context().Done():
		case <-ft.stop:
		}
		return
	case hangUp:
		io.CopyN(io.Discard, r.Body, r.ContentLength/2) //nolint:errcheck
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			ft.t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	mode := fault(ft.mode.Load())
	if mode == corrupt && len(body) > 0 {
		body[len(body)/2] ^= 0xff
	}
	ft.mu.Lock()
	ft.objects[p] = body
	ft.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}
