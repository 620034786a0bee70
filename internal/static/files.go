package static

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/httperr"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

const packagesPrefix = "/packages/"

// PackagesHandler returns the handler for distribution files and their
// .metadata sidecars: GET and HEAD of
// /packages/<h0:2>/<h2:4>/<h4:>/<filename>, where h is the file's
// blake2b-256 in hex. Mount it at /packages/: it sees full request paths.
//
// Files are immutable, so they are sent with a year-long, immutable
// Cache-Control and an ETag derived from the path alone; ranges are supported
// (uv reads a wheel's METADATA through Range requests). Nothing else under
// DATA/packages is served: no directory listings, no temporary files.
func (s *Server) PackagesHandler() http.Handler { return http.HandlerFunc(s.serveFile) }

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		httperr.Write(w, r, s.logger, httperr.MethodNotAllowed(http.MethodGet, http.MethodHead))
		return
	}
	rel, ok := strings.CutPrefix(r.URL.Path, packagesPrefix)
	if !ok {
		notFound(w)
		return
	}
	switch checkFilePath(rel) {
	case pathTraversal:
		// As net/http's ServeFile answers a ".." element.
		http.Error(w, "400 Bad Request: invalid URL path", http.StatusBadRequest)
		return
	case pathOther:
		notFound(w)
		return
	}

	f, err := datadir.Open(s.dir.Package(rel))
	if err != nil && s.cache != nil && missing(err) {
		// Not a local file: a cached upstream file, or one to fetch.
		if f, err = datadir.Open(s.dir.CachePackage(rel)); err == nil {
			s.cache.Hit()
		} else if missing(err) {
			if s.cache.FetchFile(w, r, rel) {
				return
			}
			f, err = datadir.Open(s.dir.CachePackage(rel))
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

	h := w.Header()
	h["Content-Type"] = fileType(rel)
	h["X-Content-Type-Options"] = hdrNoSniff
	h["Cache-Control"] = hdrImmutableCache
	h["Accept-Ranges"] = hdrBytes
	h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	h["Etag"] = []string{fileETag(rel)}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// Results of checkFilePath.
const (
	pathOK = iota
	pathTraversal
	pathOther
)

// checkFilePath reports whether rel, a decoded URL path below /packages/, has
// the content-addressed shape <2 hex>/<2 hex>/<hex>/<filename>. Checking the
// whole shape, not just for "..", keeps every request inside DATA/packages on
// any platform (no separators or drive letters hidden in an element) and keeps
// dot-files such as half-written temporary files out of reach.
func checkFilePath(rel string) int {
	var elems [4]string
	n := 0
	for e := range strings.SplitSeq(rel, "/") {
		if e == ".." {
			return pathTraversal
		}
		if n == len(elems) {
			return pathOther
		}
		elems[n] = e
		n++
	}
	if n != len(elems) || len(elems[0]) != 2 || len(elems[1]) != 2 ||
		!isHex(elems[0]) || !isHex(elems[1]) || !isHex(elems[2]) {
		return pathOther
	}
	if !index.ServableFilename(elems[3]) {
		return pathOther
	}
	return pathOK
}

// isHex reports whether s is non-empty lower-case hex, as the layout writes it.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// fileType returns the Content-Type header for a file name. A .tar.gz is
// sent as opaque bytes with no Content-Encoding: "Content-Encoding: gzip"
// (or a type like application/x-tar that invites it) makes some clients and
// proxies decompress the download, and pip then sees a hash mismatch. A
// .metadata sidecar is the wheel's METADATA, RFC 822-style UTF-8 text.
func fileType(name string) []string {
	switch {
	case hasSuffixFold(name, ".metadata"):
		return hdrTypeText
	case hasSuffixFold(name, ".whl"), hasSuffixFold(name, ".zip"):
		return hdrTypeZip
	}
	return hdrTypeOctets
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// fileETag returns a strong ETag for the file at rel. The path names the
// content (its blake2b-256) and files are never rewritten, so the path alone
// is a valid validator; the file name is part of it because a wheel and its
// .metadata share a directory.
func fileETag(rel string) string {
	sum := sha256.Sum256([]byte(rel))
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}
