package static

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/cors"
	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/httperr"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/reqlog"
)

// Config configures a Server. Zero values mean the defaults.
type Config struct {
	// DataDir is cheeseshop's data directory, the one holding simple/ and
	// packages/. Empty means the current directory.
	DataDir string
	// Cache, when set, is the upstream cache (internal/upstream, --upstream).
	// A project page that is not local is served from the cache tree while
	// younger than CacheTTL, and after Cache.RefreshPage otherwise; a file
	// under neither DATA/packages nor the cache tree is Cache.ServeFile's.
	Cache    Cache
	CacheTTL time.Duration
}

// Cache is what the static server asks of the upstream cache. It never
// serves a page itself: the static server serves cached pages from disk
// exactly as local ones, so both take the same hot path.
type Cache interface {
	// RefreshPage brings the cached pages of a name that is not local up to
	// date with the upstream. nil means a page is on disk to be served
	// (fresh, or stale when the upstream fails); any other error is a
	// refusal for httperr (a 404, a 502, a 504).
	RefreshPage(ctx context.Context, name index.Normalized) error
	// FetchFile is called for a GET or HEAD of /packages/<rel>, a file that
	// is neither local nor cached yet. It either answers r itself (a first
	// download streamed from the upstream, a refusal) and returns true, or
	// makes the file present in the cache tree (another request fetched it
	// meanwhile) and returns false for the static server to serve it.
	FetchFile(w http.ResponseWriter, r *http.Request, rel string) (answered bool)
	// Hit counts a request answered from the cache without the upstream.
	Hit()
}

// Server serves the pages and files of one data directory. It is safe for
// concurrent use.
type Server struct {
	dir       datadir.Dir
	simpleDir string // dir.Simple()
	logger    *slog.Logger
	pages     pageCache
	cache     Cache
	cacheTTL  time.Duration
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
		cache:     cfg.Cache,
		cacheTTL:  cfg.CacheTTL,
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
	return s.statRegular(w, r, f)
}

// statRegular is openRegular for a file already open.
func (s *Server) statRegular(w http.ResponseWriter, r *http.Request, f *os.File) (*os.File, fs.FileInfo, bool) {
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

// missing reports whether err from opening a data file means there is no
// such file.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
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
