package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/fanout"
	"github.com/cheeseshop/cheeseshop/internal/httperr"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/reqlog"
)

// holdBack is how many bytes of a first download are held back from the
// client until the whole file has matched the upstream's sha256: a file
// that does not match is never sent whole (the connection is aborted
// before its last bytes).
const holdBack = 64 << 10

// FetchFile answers a request for /packages/<rel> that is neither local
// nor cached (see static.Cache). The first request for a file fetches it
// from the upstream, streams it to its client while writing it beside its
// place in the cache, and keeps it only once its sha256 matches the
// upstream's; the others wait for the lock and then get the file from
// disk through the static server (answered false). A file the cached
// pages do not list is a 404.
func (c *Cache) FetchFile(w http.ResponseWriter, r *http.Request, rel string) bool {
	r = reqlog.WithID(r)
	ctx := r.Context()
	f, isMeta, err := c.lookupFile(ctx, rel)
	if err != nil {
		httperr.Write(w, r, c.log, err)
		return true
	}
	sum := sha256.Sum256([]byte(rel))
	unlock, err := lockPath(ctx, c.dir.CacheLock(hex.EncodeToString(sum[:16])))
	if errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(c.dir.CacheTmp(), 0o755); err == nil {
			unlock, err = lockPath(ctx, c.dir.CacheLock(hex.EncodeToString(sum[:16])))
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			httperr.Write(w, r, c.log, &index.Error{Kind: index.ErrStorage, Err: err})
		}
		return true
	}
	defer unlock()
	if _, err := os.Stat(c.dir.CachePackage(rel)); err == nil {
		return false // fetched while this request waited
	}
	stream := r.Method == http.MethodGet && r.Header.Get("Range") == ""
	return c.fetch(w, r, f, rel, isMeta, stream)
}

// lookupFile finds the cached project's file at rel, or the file whose
// .metadata rel is.
func (c *Cache) lookupFile(ctx context.Context, rel string) (index.UpstreamFile, bool, error) {
	f, err := c.store.UpstreamFile(ctx, rel)
	if err == nil || !errors.Is(err, index.ErrNotFound) {
		return f, false, err
	}
	base, ok := strings.CutSuffix(rel, datadir.MetadataSuffix)
	if !ok {
		return f, false, err
	}
	f, err = c.store.UpstreamFile(ctx, base)
	if err == nil && !f.Metadata {
		err = index.Errorf(index.ErrNotFound, "Not Found")
	}
	return f, true, err
}

// fetch downloads f (or its .metadata) from the upstream into the cache;
// with stream, it also answers r with the bytes as they come.
func (c *Cache) fetch(w http.ResponseWriter, r *http.Request, f index.UpstreamFile, rel string, isMeta, stream bool) bool {
	want, src := f.SHA256, f.URL
	if isMeta {
		want, src = f.MetadataSHA256, f.URL+datadir.MetadataSuffix
	}
	u, err := url.Parse(src)
	if err != nil {
		httperr.Write(w, r, c.log, &index.Error{Kind: index.ErrBadGateway, Err: err, Message: "The upstream's URL for this file is invalid."})
		return true
	}
	// The download outlives a client that goes away: the next one finds
	// the file cached. A stalled upstream is given up after the timeout
	// without a byte.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	idle := time.AfterFunc(c.timeout, cancel)
	defer idle.Stop()
	resp, err := c.get(ctx, u, http.Header{"Accept-Encoding": {"identity"}})
	if err != nil {
		httperr.Write(w, r, c.log, c.upstreamError("file "+f.Filename, err))
		return true
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		httperr.Write(w, r, c.log, &index.Error{Kind: index.ErrBadGateway,
			Message: fmt.Sprintf("The upstream index answered %s for %s.", resp.Status, fileName(rel)),
			Err:     fmt.Errorf("upstream %s: %s", u.Redacted(), resp.Status)})
		return true
	}
	dst := c.dir.CachePackage(rel)
	fail := func(err error) bool {
		httperr.Write(w, r, c.log, &index.Error{Kind: index.ErrStorage, Err: err})
		return true
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fail(err)
	}
	pf, err := datadir.Create(dst, 0o644)
	if err != nil {
		return fail(err)
	}
	defer pf.Cleanup()

	hash := sha256.New()
	var hb *holdback
	// The cache copy, the sha256 and the client each on its own goroutine:
	// a first download is paced by the upstream and the client, not by the
	// sum of the work done on each byte.
	sinks := []io.Writer{pf, hash}
	if stream {
		h := w.Header()
		h.Set("Content-Type", fileType(rel))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "max-age=31536000, immutable, public")
		h.Set("Access-Control-Allow-Origin", "*")
		if resp.ContentLength >= 0 {
			h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
		}
		w.WriteHeader(http.StatusOK)
		hb = &holdback{w: w, buf: make([]byte, 0, 2*holdBack)}
		sinks = append(sinks, hb)
	}
	n, err := fanout.Copy(idleReader{resp.Body, idle, c.timeout}, sinks...)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	got := hex.EncodeToString(hash.Sum(nil))
	if err == nil && want != "" && got != want {
		err = fmt.Errorf("sha256 mismatch: the upstream's page says %s, its bytes are %s", want, got)
		c.log.ErrorContext(r.Context(), "upstream file does not match its sha256; not kept", "filename", fileName(rel),
			"url", u.Redacted(), "sha256", want, "got_sha256", got)
	}
	if err == nil && stream {
		// Verified: the client may have the rest now, before the fsync
		// that only this server's copy needs. Flushed, or its last
		// kilobytes would wait in the response's buffer for the fsync.
		hb.flush()
		http.NewResponseController(w).Flush() //nolint:errcheck // a client gone away is not the download's failure
	}
	if err == nil {
		if err = pf.Finish(true); err == nil {
			err = pf.Rename()
		}
		if err != nil && stream {
			// The client has the whole, verified file; only the cache
			// copy failed, and the next request fetches it again.
			c.log.ErrorContext(r.Context(), "keep upstream file", "filename", fileName(rel), "err", err)
			return true
		}
	}
	if err != nil {
		if stream {
			// The status is sent: all that is left is to make sure the
			// client does not take what it got for the whole file.
			c.log.WarnContext(r.Context(), "upstream download failed", "filename", fileName(rel), "err", err)
			panic(http.ErrAbortHandler)
		}
		httperr.Write(w, r, c.log, c.upstreamError("file "+fileName(rel), err))
		return true
	}
	c.misses.Add(1)
	mctx, mcancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer mcancel()
	if err := c.store.MarkUpstreamFileCached(mctx, f.Path, isMeta, n); err != nil {
		c.log.WarnContext(r.Context(), "record cached upstream file", "filename", fileName(rel), "err", err)
	}
	c.log.InfoContext(r.Context(), "cached upstream file", "project", f.Project, "filename", fileName(rel), "size", n)
	return stream
}

// fileName is a cached file's name for messages: rel's last element.
func fileName(rel string) string { return rel[strings.LastIndexByte(rel, '/')+1:] }

// holdback passes bytes on to the client holdBack bytes late; flush sends
// the rest. A client that goes away does not stop the download: its write
// errors are dropped.
type holdback struct {
	w      io.Writer
	buf    []byte
	failed bool
}

func (h *holdback) Write(p []byte) (int, error) {
	h.buf = append(h.buf, p...)
	if over := len(h.buf) - holdBack; over > 0 {
		if !h.failed {
			if _, err := h.w.Write(h.buf[:over]); err != nil {
				h.failed = true
			}
		}
		h.buf = h.buf[:copy(h.buf, h.buf[over:])]
	}
	return len(p), nil
}

func (h *holdback) flush() {
	if !h.failed && len(h.buf) > 0 {
		h.w.Write(h.buf) //nolint:errcheck // the client went away
	}
}

// idleReader restarts timer before every read: a body that stalls for d
// is cancelled.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (ir idleReader) Read(p []byte) (int, error) {
	ir.timer.Reset(ir.d)
	return ir.r.Read(p)
}

// fileType is the Content-Type internal/static sends for a file name.
func fileType(name string) string {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, datadir.MetadataSuffix):
		return "text/plain; charset=utf-8"
	case strings.HasSuffix(lower, ".whl"), strings.HasSuffix(lower, ".zip"):
		return "application/zip"
	}
	return "application/octet-stream"
}
