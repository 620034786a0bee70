package static

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/cors"
	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/httperr"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

const simplePrefix = "/simple/"

// SimpleHandler returns the handler for the simple repository API: GET and
// HEAD of /simple/ and /simple/<normalized>/, in HTML or JSON as the request
// negotiates (see Negotiate; ?format= overrides Accept). Mount it at /simple/:
// it sees full request paths.
//
// Non-normalised names and a missing trailing slash get a 301 to the canonical
// URL, as PyPI does; an unknown project is a 404.
func (s *Server) SimpleHandler() http.Handler { return http.HandlerFunc(s.serveSimple) }

func (s *Server) serveSimple(w http.ResponseWriter, r *http.Request) {
	if !s.allowMethods(w, r) {
		return
	}
	h := w.Header()
	cors.Read(h)
	// A 404 must not be cached either: the project may be uploaded next.
	h["Cache-Control"] = hdrPageCache
	rest, ok := strings.CutPrefix(r.URL.Path, simplePrefix)
	if !ok {
		if r.URL.Path == "/simple" {
			redirect(w, r, simplePrefix)
			return
		}
		notFound(w)
		return
	}
	sub := "" // the project's directory below DATA/simple, with a separator
	if rest != "" {
		name, tail, slash := strings.Cut(rest, "/")
		if tail != "" {
			notFound(w)
			return
		}
		norm := index.Normalize(name)
		if !validNormalized(norm) {
			notFound(w)
			return
		}
		if !slash || string(norm) != name {
			redirect(w, r, simplePrefix+string(norm)+"/")
			return
		}
		sub = string(norm) + string(os.PathSeparator)
	}

	h["Vary"] = hdrVaryAccept
	mediaType, ok := negotiateRequest(r)
	if !ok {
		h["Content-Type"] = hdrTypeText
		h["X-Content-Type-Options"] = hdrNoSniff
		w.WriteHeader(http.StatusNotAcceptable)
		io.WriteString(w, notAcceptable)
		return
	}
	page := datadir.HTML
	if mediaType == typeV1JSON {
		page = datadir.JSON
	}
	// Joined by hand, not with filepath.Join: every part is clean already.
	path := s.simpleDir + string(os.PathSeparator) + sub + page.Name()

	// Open first and derive everything from the open handle, so the ETag and
	// serial describe the very bytes sent even if the page is replaced
	// meanwhile (a rename does not disturb an open file).
	f, err := datadir.Open(path)
	if err != nil && s.cache != nil && sub != "" && missing(err) {
		// Not a local project: the upstream cache's, if anybody's.
		if f, path, err = s.cachedPage(r, index.Normalized(sub[:len(sub)-1]), page); err != nil {
			if index.KindOf(err) != nil {
				httperr.Write(w, r, s.logger, err)
				return
			}
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, fi, ok := s.statRegular(w, r, f)
	if !ok {
		return
	}
	defer f.Close()
	e, err := s.pages.get(path, f, fi, page)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	switch mediaType {
	case typeV1JSON:
		h["Content-Type"] = hdrTypeV1JSON
	case typeV1HTML:
		h["Content-Type"] = hdrTypeV1HTML
	default:
		h["Content-Type"] = hdrTypeHTML
	}
	h["Etag"] = e.etag
	if e.serial != nil {
		h["X-Pypi-Last-Serial"] = e.serial
	}
	if !conditional(r) {
		// The common request (a first fetch, or a client without a cache)
		// takes a short path: same headers as ServeContent would send, with
		// the values computed once per page version, and no lseeks to find a
		// size we already know. The body still goes out by sendfile, since
		// the source is the *os.File.
		h["Last-Modified"] = e.lastModified
		h["Content-Length"] = e.length
		h["Accept-Ranges"] = hdrBytes
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			io.CopyN(w, f, e.size) // a write error means the client went away
		}
		return
	}
	// ServeContent answers If-None-Match (304), If-Modified-Since, Range
	// and HEAD. A client that revalidates with If-Modified-Since alone can
	// miss a page replaced within the same second (HTTP dates have
	// one-second resolution); pip and uv send If-None-Match, which
	// ServeContent prefers.
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// cachedPage opens the cached page of name, a name with no local page:
// straight from disk while it is younger than the TTL, after the cache
// revalidated or fetched it otherwise. An error of an index kind is a
// refusal to send as it is.
func (s *Server) cachedPage(r *http.Request, name index.Normalized, page datadir.Page) (*os.File, string, error) {
	path := s.dir.CacheProjectPage(name, page)
	if f, err := datadir.Open(path); err == nil {
		if fi, err := f.Stat(); err == nil && time.Since(fi.ModTime()) < s.cacheTTL {
			s.cache.Hit()
			return f, path, nil
		}
		f.Close()
	}
	if err := s.cache.RefreshPage(r.Context(), name); err != nil {
		return nil, path, err
	}
	f, err := datadir.Open(path)
	return f, path, err
}

// conditional reports whether r carries a precondition or a range, the
// requests left to ServeContent.
func conditional(r *http.Request) bool {
	h := r.Header
	return h["If-None-Match"] != nil || h["If-Modified-Since"] != nil || h["Range"] != nil ||
		h["If-Match"] != nil || h["If-Unmodified-Since"] != nil
}

// negotiateRequest picks the media type for r: ?format= when present and
// non-empty, otherwise the Accept header (all its field lines, which RFC 9110
// §5.3 makes equivalent to one comma-joined line).
func negotiateRequest(r *http.Request) (string, bool) {
	if r.URL.RawQuery != "" {
		if v := r.URL.Query().Get("format"); v != "" {
			return formatType(v)
		}
	}
	accept := r.Header["Accept"]
	switch len(accept) {
	case 0:
		return typeHTML, true // as Negotiate("")
	case 1:
		if mt, ok := commonAccept(accept[0]); ok {
			return mt, true
		}
		return Negotiate(accept[0])
	}
	return Negotiate(strings.Join(accept, ","))
}

// Accept headers that pip (23 to 26) and uv send for simple pages.
const (
	acceptPip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
	acceptUV  = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
)

// commonAccept answers the Accept headers that make up nearly all requests
// (pip's, uv's, bandersnatch's, curl's) without parsing them: one string
// switch instead of Negotiate's walk over every element. TestCommonAccept
// holds each answer to Negotiate's.
func commonAccept(accept string) (string, bool) {
	switch accept {
	case acceptPip, acceptUV, typeV1JSON:
		return typeV1JSON, true
	case "*/*", typeHTML:
		return typeHTML, true
	}
	return "", false
}

// redirect sends a 301 to target, keeping the query string.
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	w.Header()["Location"] = []string{target}
	w.WriteHeader(http.StatusMovedPermanently)
}

// validNormalized reports whether n is the normalised form of a valid project
// name: [a-z0-9-], starting and ending alphanumeric. The name it came from
// then satisfies index.ValidName (ASCII letters, digits and separators,
// alphanumeric at both ends), and the result is one harmless path element.
func validNormalized(n index.Normalized) bool {
	if n == "" || n[0] == '-' || n[len(n)-1] == '-' {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// maxPages bounds the page cache. Entries take a few hundred bytes; only pages
// that exist get one (two per project), so the bound is only reached by a very
// large index; dropping everything then is simpler than LRU bookkeeping and
// costs one hash per page on its next request.
const maxPages = 100_000

// pageCache remembers each page's ETag and serial so they are computed once
// per page version, not per request. An entry is trusted only while the file
// still matches it: staticgen replaces pages by rename, never in place, so a
// new page has a new inode, and normally a new size or mtime too. The serial
// is also re-read (one small pread): an inode freed by the rename can be
// reused by the next page, written within the same file-system clock tick and
// with the same size, and only the serial tells those apart.
type pageCache struct {
	mu sync.RWMutex
	m  map[string]pageEntry
}

type pageEntry struct {
	size   int64
	mtime  int64 // UnixNano
	id     datadir.FileID
	digits string // serial as recorded in the page; "" if none

	// Header values, shared by every response and read-only.
	etag         []string
	serial       []string // nil if the page records no serial
	lastModified []string
	length       []string
}

// get returns the cache entry for the page at path, open as f with info fi,
// computing it from f when it is missing or stale.
func (c *pageCache) get(path string, f *os.File, fi fs.FileInfo, page datadir.Page) (pageEntry, error) {
	var buf [datadir.SerialWindow]byte
	digits, err := datadir.ReadSerialDigits(f, fi.Size(), page, &buf)
	if err != nil {
		return pageEntry{}, err
	}
	size, mtime, id := fi.Size(), fi.ModTime().UnixNano(), datadir.IDOf(fi)
	c.mu.RLock()
	e, ok := c.m[path]
	c.mu.RUnlock()
	if ok && e.size == size && e.mtime == mtime && e.id == id && e.digits == string(digits) {
		return e, nil
	}

	hash := sha256.New()
	n, err := io.Copy(hash, io.NewSectionReader(f, 0, size))
	if err != nil {
		return pageEntry{}, err
	}
	if n != size {
		return pageEntry{}, fmt.Errorf("page %s: read %d bytes, want %d", path, n, size)
	}
	// 128 bits of SHA-256 is plenty to tell versions of one page apart.
	etag := `"` + hex.EncodeToString(hash.Sum(nil)[:16]) + `"`
	e = pageEntry{
		size: size, mtime: mtime, id: id, digits: string(digits),
		etag:         []string{etag},
		lastModified: []string{fi.ModTime().UTC().Format(http.TimeFormat)},
		length:       []string{strconv.FormatInt(size, 10)},
	}
	if e.digits != "" {
		e.serial = []string{e.digits}
	}
	c.mu.Lock()
	if len(c.m) >= maxPages {
		clear(c.m)
	}
	c.m[path] = e
	c.mu.Unlock()
	return e, nil
}
