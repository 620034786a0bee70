package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/mirror/mirrortest"
)

// TestMirrorScript runs the scripts in testdata/mirror: the real program
// with its mirror worker, real twine and pip, and a CDN target started by
// the test (an S3 server, nginx with WebDAV, or a target that fails on
// demand).
func TestMirrorScript(t *testing.T) {
	runScripts(t, testscript.Params{
		Dir: "testdata/mirror",
		Setup: func(e *testscript.Env) error {
			// The S3 target's credentials come from the SDK's standard
			// chain: give it these and never let it ask instance metadata.
			e.Setenv("AWS_ACCESS_KEY_ID", "test-key")
			e.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
			e.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			e.Setenv("AWS_CONFIG_FILE", filepath.Join(e.WorkDir, "no-aws-config"))
			e.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(e.WorkDir, "no-aws-credentials"))
			e.Values[cdnKey{}] = &cdnState{}
			return nil
		},
		// [nginx] holds when nginx is installed; without it a script is
		// skipped, or fails when the tools are required.
		Condition: func(cond string) (bool, error) {
			if cond != "nginx" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			err := mirrortest.NginxAvailable()
			if err != nil && required() {
				return false, fmt.Errorf("%w: run `make test`, which installs it", err)
			}
			return err == nil, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"cdn":        cmdCDN,
			"cdnfault":   cmdCDNFault,
			"waitlinks":  cmdWaitLinks,
			"checkcdn":   cmdCheckCDN,
			"waitmirror": cmdWaitMirror,
			"cdnsave":    cmdCDNSave,
			"cdngone":    cmdCDNGone,
		},
	})
}

type cdnKey struct{}

// cdnState is a script's CDN target, started by the cdn command.
type cdnState struct {
	fault   atomic.Value // string: "" for healthy, "500"
	mu      sync.Mutex
	puts    int
	gets    int
	deletes int
	saved   []string // CDN URLs kept by cdnsave, sidecars included
}

func cdnOf(ts *testscript.TestScript) *cdnState { return ts.Value(cdnKey{}).(*cdnState) }

// cmdCDN starts a CDN target and sets $MIRROR (for --mirror) and $CDN (the
// base URL it serves under).
//
//	cdn s3|nginx|faulty
func cmdCDN(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: cdn s3|nginx|faulty")
	}
	st := cdnOf(ts)
	switch args[0] {
	case "s3":
		backend := s3mem.New()
		ts.Check(backend.CreateBucket("cdn"))
		srv := httptest.NewServer(st.count(gofakes3.New(backend).Server()))
		ts.Defer(srv.Close)
		ts.Setenv("MIRROR", "s3://cdn/pypi?endpoint="+url.QueryEscape(srv.URL))
		ts.Setenv("CDN", srv.URL+"/cdn/pypi")
	case "nginx":
		ts.Check(mirrortest.NginxAvailable()) // scripts guard with [nginx]
		n, err := mirrortest.StartNginx(ts.MkAbs("nginx"))
		ts.Check(err)
		ts.Defer(n.Stop)
		ts.Setenv("MIRROR", n.URL)
		ts.Setenv("CDN", n.URL)
	case "faulty":
		var mu sync.Mutex
		objects := map[string][]byte{}
		srv := httptest.NewServer(st.count(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.Method {
			case http.MethodPut:
				body, err := io.ReadAll(r.Body)
				if err != nil {
					return
				}
				if st.fault.Load() == "500" {
					http.Error(w, "storage backend exploded", http.StatusInternalServerError)
					return
				}
				mu.Lock()
				objects[r.URL.Path] = body
				mu.Unlock()
				w.WriteHeader(http.StatusCreated)
			case http.MethodGet:
				mu.Lock()
				b, ok := objects[r.URL.Path]
				mu.Unlock()
				if !ok {
					http.NotFound(w, r)
					return
				}
				w.Write(b) //nolint:errcheck
			case http.MethodDelete:
				if st.fault.Load() == "500" {
					http.Error(w, "storage backend exploded", http.StatusInternalServerError)
					return
				}
				mu.Lock()
				_, ok := objects[r.URL.Path]
				delete(objects, r.URL.Path)
				mu.Unlock()
				if !ok {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			default:
				http.Error(w, "method", http.StatusMethodNotAllowed)
			}
		})))
		ts.Defer(srv.Close)
		ts.Setenv("MIRROR", srv.URL+"/cdn")
		ts.Setenv("CDN", srv.URL+"/cdn")
	default:
		ts.Fatalf("cdn: unknown target %q", args[0])
	}
}

// count wraps a target's handler to count PUTs and GETs.
func (st *cdnState) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		switch r.Method {
		case http.MethodPut:
			st.puts++
		case http.MethodGet:
			st.gets++
		case http.MethodDelete:
			st.deletes++
		}
		st.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// cmdCDNFault switches the faulty target: 500 makes every PUT fail, ok heals it.
//
//	cdnfault 500|ok
func cmdCDNFault(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || (args[0] != "500" && args[0] != "ok") {
		ts.Fatalf("usage: cdnfault 500|ok")
	}
	f := args[0]
	if f == "ok" {
		f = ""
	}
	cdnOf(ts).fault.Store(f)
}

// cmdWaitMirror waits until N files are in STATE, reading the database
// the server uses; it prints the PUTs the CDN got so far.
//
//	waitmirror STATE N
func cmdWaitMirror(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitmirror STATE N")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, ts.Getenv("CHEESESHOP_DATABASE_URL"))
	ts.Check(err)
	defer pool.Close()
	store := index.NewStore(pool)
	for {
		var st []index.MirrorStatus
		switch state, isDeletion := strings.CutPrefix(args[0], "deletion-"); {
		case args[0] == string(index.MirrorDeleting), isDeletion:
			// deleting, deletion-failed: removals of deleted files' copies.
			if !isDeletion {
				state = string(index.MirrorDeleting)
			}
			dels, err := store.MirrorDeletions(ctx)
			ts.Check(err)
			for _, d := range dels {
				if string(d.State) == state {
					st = append(st, d)
				}
			}
		default:
			st, err = store.MirrorStatuses(ctx, index.MirrorState(args[0]))
			ts.Check(err)
		}
		if len(st) == want {
			break
		}
		select {
		case <-ctx.Done():
			ts.Fatalf("waited 30s for %d files %s; have %d", want, args[0], len(st))
		case <-time.After(20 * time.Millisecond):
		}
	}
	c := cdnOf(ts)
	c.mu.Lock()
	ts.Logf("CDN got %d PUTs, %d GETs and %d DELETEs", c.puts, c.gets, c.deletes)
	c.mu.Unlock()
}

// cmdCDNSave keeps the CDN URLs a project page links (and the sidecars
// beside them) for cdngone, and checks that they serve now.
//
//	cdnsave PAGE-URL CDN-PREFIX
func cmdCDNSave(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cdnsave PAGE-URL CDN-PREFIX")
	}
	var saved []string
	for _, l := range pageLinks(ts, args[0]) {
		if !strings.HasPrefix(l.href, args[1]+"/") {
			ts.Fatalf("link %s is not under %s", l.href, args[1])
		}
		saved = append(saved, l.href)
		if l.metadata != "" {
			saved = append(saved, l.href+".metadata")
		}
	}
	for _, u := range saved {
		if _, status := fetch(ts, u, ""); status != http.StatusOK {
			ts.Fatalf("GET %s: %d, want 200", u, status)
		}
	}
	st := cdnOf(ts)
	st.mu.Lock()
	st.saved = saved
	st.mu.Unlock()
	fmt.Fprintf(ts.Stdout(), "%d CDN objects saved\n", len(saved))
}

// cmdCDNGone waits, at most 15 seconds, until every saved CDN URL whose
// path contains one of the given substrings answers 404 (with !, checks
// that they all still serve 200, at once).
//
//	[!] cdngone SUBSTRING...
func cmdCDNGone(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: cdngone SUBSTRING...")
	}
	st := cdnOf(ts)
	st.mu.Lock()
	var urls []string
	for _, u := range st.saved {
		for _, sub := range args {
			if strings.Contains(u, sub) {
				urls = append(urls, u)
				break
			}
		}
	}
	st.mu.Unlock()
	if len(urls) == 0 {
		ts.Fatalf("no saved CDN URL contains %q", args)
	}
	start := time.Now()
	for _, u := range urls {
		for {
			_, status := fetch(ts, u, "")
			if neg {
				if status != http.StatusOK {
					ts.Fatalf("GET %s: %d, want 200 (still on the CDN)", u, status)
				}
				break
			}
			if status == http.StatusNotFound {
				break
			}
			if time.Since(start) > 15*time.Second {
				ts.Fatalf("after 15s GET %s still answers %d", u, status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	fmt.Fprintf(ts.Stdout(), "%d CDN objects checked\n", len(urls))
}

// cmdWaitLinks waits, at most ten seconds, until every file link of the
// project page, in HTML and in JSON, starts with PREFIX. (staticgen writes
// the two pages side by side, so one may switch a moment before the other.)
//
//	waitlinks PAGE-URL PREFIX
func cmdWaitLinks(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitlinks PAGE-URL PREFIX")
	}
	start := time.Now()
	for {
		var urls []string
		for _, l := range pageLinks(ts, args[0]) {
			urls = append(urls, l.href)
		}
		for _, f := range jsonFiles(ts, args[0]) {
			urls = append(urls, f.url)
		}
		all := len(urls) > 0
		for _, u := range urls {
			all = all && strings.HasPrefix(u, args[1])
		}
		if all {
			ts.Logf("links switched after %v", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > 10*time.Second {
			ts.Fatalf("after 10s the links of %s are %v, not under %s", args[0], urls, args[1])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type jsonFile struct {
	filename string
	url      string // absolute
}

// jsonFiles fetches a project's PEP 691 JSON page and returns its files.
func jsonFiles(ts *testscript.TestScript, page string) []jsonFile {
	base, body := fetchPage(ts, page, "application/vnd.pypi.simple.v1+json")
	var doc struct {
		Files []struct {
			Filename string `json:"filename"`
			URL      string `json:"url"`
		} `json:"files"`
	}
	ts.Check(json.Unmarshal(body, &doc))
	var out []jsonFile
	for _, f := range doc.Files {
		u, err := base.Parse(f.URL)
		ts.Check(err)
		out = append(out, jsonFile{filename: f.Filename, url: u.String()})
	}
	return out
}

type pageLink struct {
	href     string // absolute, without the fragment
	sha256   string // from the #sha256= fragment
	metadata string // the data-core-metadata sha256, "" without
}

var (
	anchorRE = regexp.MustCompile(`<a href="([^"]*)"([^>]*)>`)
)

// pageLinks fetches a project page and returns its file links, resolved
// against the page's URL as pip resolves them.
func pageLinks(ts *testscript.TestScript, page string) []pageLink {
	base, body := fetchPage(ts, page, "text/html")
	var links []pageLink
	for _, m := range anchorRE.FindAllStringSubmatch(string(body), -1) {
		href := strings.ReplaceAll(m[1], "&amp;", "&")
		u, err := base.Parse(href)
		ts.Check(err)
		l := pageLink{}
		if frag, ok := strings.CutPrefix(u.Fragment, "sha256="); ok {
			l.sha256 = frag
		}
		u.Fragment = ""
		l.href = u.String()
		if mm := metadataRE.FindStringSubmatch(m[2]); mm != nil {
			l.metadata = mm[1]
		}
		links = append(links, l)
	}
	return links
}

// fetch GETs u as a client does (following redirects, decoding gzip).
func fetch(ts *testscript.TestScript, u, accept string) ([]byte, int) {
	r := scriptGet(ts, http.DefaultClient, u, accept)
	return r.body, r.StatusCode
}

// fetchPage fetches page as accept and fails the script unless the answer
// is 200; it returns the page's URL, to resolve its links against, and the
// body.
func fetchPage(ts *testscript.TestScript, page, accept string) (*url.URL, []byte) {
	base, err := url.Parse(page)
	ts.Check(err)
	body, status := fetch(ts, page, accept)
	if status != http.StatusOK {
		ts.Fatalf("GET %s as %s: %d", page, accept, status)
	}
	return base, body
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// cmdCheckCDN checks PROTOCOL case 67 on a project page whose links point
// under CDN-PREFIX: each CDN copy has the sha256 of the link's fragment,
// the wheel's sidecar is at <cdn-url>.metadata with the promised sha256,
// the filename is unchanged, the local copy still serves the same bytes,
// and the JSON page agrees.
//
//	checkcdn PAGE-URL CDN-PREFIX
func cmdCheckCDN(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: checkcdn PAGE-URL CDN-PREFIX")
	}
	page, prefix := args[0], args[1]
	links := pageLinks(ts, page)
	if len(links) == 0 {
		ts.Fatalf("%s has no file links", page)
	}
	root, err := url.Parse(page)
	ts.Check(err)
	for _, l := range links {
		if !strings.HasPrefix(l.href, prefix+"/") || l.sha256 == "" {
			ts.Fatalf("link %s#sha256=%s is not a CDN link under %s with a hash", l.href, l.sha256, prefix)
		}
		b, status := fetch(ts, l.href, "")
		if status != http.StatusOK || sha256Hex(b) != l.sha256 {
			ts.Fatalf("CDN copy %s: status %d, sha256 %s; want 200 and %s", l.href, status, sha256Hex(b), l.sha256)
		}
		rel := strings.TrimPrefix(l.href, prefix+"/")
		local, status := fetch(ts, root.ResolveReference(&url.URL{Path: "/packages/" + rel}).String(), "")
		if status != http.StatusOK || sha256Hex(local) != l.sha256 {
			ts.Fatalf("local copy /packages/%s: status %d, sha256 %s; want 200 and %s", rel, status, sha256Hex(local), l.sha256)
		}
		if l.metadata != "" {
			m, status := fetch(ts, l.href+".metadata", "")
			if status != http.StatusOK || sha256Hex(m) != l.metadata {
				ts.Fatalf("CDN sidecar %s.metadata: status %d, sha256 %s; want 200 and %s", l.href, status, sha256Hex(m), l.metadata)
			}
		}
		ts.Logf("verified %s", l.href)
	}
	files := jsonFiles(ts, page)
	if len(files) != len(links) {
		ts.Fatalf("JSON page lists %d files, HTML %d", len(files), len(links))
	}
	for _, f := range files {
		if !strings.HasPrefix(f.url, prefix+"/") || !strings.HasSuffix(f.url, "/"+f.filename) {
			ts.Fatalf("JSON url %s of %s: want it under %s, ending in the filename", f.url, f.filename, prefix)
		}
	}
	fmt.Fprintf(ts.Stdout(), "%d CDN links verified\n", len(links))
}
