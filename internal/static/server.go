package static

import (
	"cmp"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"syscall"

	"github.com/cheeseshop/cheeseshop/internal/cors"
	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/httperr"
	"github.com/cheeseshop/cheeseshop/internal/reqlog"
)

// Config configures a Server. Zero values mean the defaults.
type Config struct {
	// DataDir is cheeseshop's data directory, the one holding simple/ and
	// packages/. Empty means the current directory.
	DataDir string
}

// Server serves the pages and files of one data directory. It is safe for
// concurrent use.
type Server struct {
	dir       datadir.Dir
	simpleDir string // dir.Simple()
	logger    *slog.Logger
	pages     pageCache
}

// New returns a Server for cfg.DataDir. A nil logger discards.
func New(cfg Config, logger *slog.Logger) *Server {
	dir := datadir.New(cmp.Or(cfg.DataDir, "."))
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		dir:       dir,
		simpleDir: dir.Simple(),
		logger:    logger.With("component", "static"),
		pages:     pageCache{m: make(map[string]pageEntry)},
	}
}

// Header values shared by every response. They are assigned straight into
// the header map to save an allocation per header per request; each slice has
// len == cap, so a later Header().Add appends to a copy and never to these.
var (
	hdrAllowMethods   = []string{"GET, HEAD, OPTIONS"}
	hdrAnyOrigin      = []string{"*"}
	hdrNoSniff        = []string{"nosniff"}
	hdrBytes          = []string{"bytes"}
	hdrTypeHTML       = []string{"text/html; charset=utf-8"}
	hdrTypeV1HTML     = []string{typeV1HTML}
	hdrTypeV1JSON     = []string{typeV1JSON}
	hdrTypeZip        = []string{"application/zip"}
	hdrTypeOctets     = []string{"application/octet-stream"}
	hdrTypeText       = []string{"text/plain; charset=utf-8"}
	hdrVaryAccept     = []string{"Accept"}
	hdrPageCache      = []string{pageCacheControl}
	hdrImmutableCache = []string{"max-age=31536000, immutable, public"}
)

// pageCacheControl makes every cache revalidate a page before each use: pip
// ≥ 26.2 and uv honour Cache-Control on simple pages, and a new upload must be
// visible the moment the upload returns (PROTOCOL.md 5.3). The ETag keeps the
// revalidation a cheap 304.
const pageCacheControl = "max-age=0, must-revalidate, public"

// allowMethods answers OPTIONS and refuses methods other than GET and HEAD.
// It reports whether the caller should go on serving r.
func (s *Server) allowMethods(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodOptions:
		h := w.Header()
		h["Allow"] = hdrAllowMethods
		cors.Preflight(h)
		w.WriteHeader(http.StatusNoContent)
	default:
		httperr.Write(w, r, s.logger, httperr.MethodNotAllowed(http.MethodGet, http.MethodHead, http.MethodOptions))
	}
	return false
}

// openRegular opens the regular file at path and stats the open handle; on
// failure it has answered (404 for anything that is not a regular file) and
// reports false.
func (s *Server) openRegular(w http.ResponseWriter, r *http.Request, path string) (*os.File, fs.FileInfo, bool) {
	f, err := datadir.Open(path)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		s.fail(w, r, err)
		return nil, nil, false
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		notFound(w)
		return nil, nil, false
	}
	return f, fi, true
}

func notFound(w http.ResponseWriter) {
	http.Error(w, "404 page not found", http.StatusNotFound)
}

// fail answers an error from opening, reading or stat-ing a file the way
// net/http's toHTTPError does: not-found and permission get their statuses and
// anything else a generic 500, logged here once. The error text never reaches
// the client: it holds file-system paths.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	// ENOTDIR: a path component is a file, so there is nothing below it.
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		notFound(w)
	case errors.Is(err, fs.ErrPermission):
		http.Error(w, "403 Forbidden", http.StatusForbidden)
	default:
		r = reqlog.WithID(r)
		s.logger.ErrorContext(r.Context(), "serve data file", "path", r.URL.Path, "err", err)
		http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
	}
}
