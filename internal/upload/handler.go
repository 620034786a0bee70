package upload

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/crossorigin"
	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/httperr"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// DefaultMaxFileSize is PyPI's per-file limit (MAX_FILESIZE, 100 MiB).
const DefaultMaxFileSize = 100 << 20

// DefaultDBTimeout bounds the database work of one request (after its body
// has been read), so a PostgreSQL that accepts connections but does not
// answer, or a lock that is never released, turns into a 503 instead of a
// hang.
const DefaultDBTimeout = 30 * time.Second

// DefaultMaxUnauthenticated is how many requests without valid
// credentials may have their bodies read at once (see
// Config.MaxUnauthenticated).
const DefaultMaxUnauthenticated = 32

// Config configures the upload handler. Zero values mean the defaults.
type Config struct {
	DataDir     string        // required: files go to DataDir/packages, temp files to DataDir/tmp
	MaxFileSize int64         // per-file limit in bytes; 0 means DefaultMaxFileSize
	DBTimeout   time.Duration // 0 means DefaultDBTimeout
	// PyPIRules adds the refusals of a public index to the checks of an
	// upload's metadata: local versions, e-mail addresses on special-use
	// domains, classifiers outside the public list, direct URL references
	// in Requires-Dist (docs/uploads.md). Off, a private index accepts them.
	PyPIRules bool

	// MaxUnauthenticated caps the requests without valid credentials whose
	// bodies are read at once: an anonymous verify, and the courtesy drain
	// of a refused upload (so that its client reads the answer rather than
	// a reset). Past it, a verify is answered 429 and a refused upload's
	// connection is closed unread. 0 means DefaultMaxUnauthenticated.
	MaxUnauthenticated int

	// RenderReadme renders a release's description for the pages for
	// people (internal/readme's renderer). It runs before the upload's
	// transaction, while the file is being placed: for every description,
	// or with QueueReadme only for a blank one (nothing to render).
	RenderReadme func(ctx context.Context, description, contentType string) index.Readme
	// QueueReadme, when set, leaves a description to be rendered after the
	// reply: a new release is stored with index.ReadmePending, and
	// QueueReadme is given the project's name once its pages are written;
	// it must not block (serve's README worker renders, stores and
	// rewrites the pages). With neither, a release is stored with no
	// README, left to `regenerate`.
	QueueReadme func(name index.Normalized)
}

// Store is what the upload handler needs from the database.
type Store interface {
	Project(ctx context.Context, name index.Normalized) (index.Project, error)
	// ProjectRole is Project plus the user's role on it ("" for none).
	ProjectRole(ctx context.Context, name index.Normalized, userID int64) (index.Project, string, error)
	ExistingFile(ctx context.Context, filename, blake2 string) (ref index.FileRef, found, deleted bool, err error)
	AddFile(ctx context.Context, nf index.NewFile) (index.AddResult, error)
	RegisterRelease(ctx context.Context, nr index.NewRelease) (index.AddResult, error)
}

// Authenticator identifies the uploader.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (auth.Identity, error)
}

// Pages rewrites /simple pages from the committed state; cmd connects it to staticgen.
type Pages interface {
	RegenerateProject(ctx context.Context, name index.Normalized) error
	RegenerateRoot(ctx context.Context) error
}

// Handler serves POST /legacy/.
type Handler struct {
	cfg   Config
	dir   datadir.Dir
	store Store
	auth  Authenticator
	pages Pages
	log   *slog.Logger
	anon  chan struct{} // slots of Config.MaxUnauthenticated
}

// New returns an upload handler; it creates the data directory's packages/
// and tmp/ folders.
func New(cfg Config, store Store, authn Authenticator, pages Pages, log *slog.Logger) (*Handler, error) {
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("upload: no data directory")
	}
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = DefaultMaxFileSize
	}
	if cfg.DBTimeout <= 0 {
		cfg.DBTimeout = DefaultDBTimeout
	}
	if cfg.MaxUnauthenticated <= 0 {
		cfg.MaxUnauthenticated = DefaultMaxUnauthenticated
	}
	dir := datadir.New(cfg.DataDir)
	for _, d := range []string{dir.Packages(), dir.Tmp()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("upload: %w", err)
		}
	}
	return &Handler{cfg: cfg, dir: dir, store: store, auth: authn, pages: pages, log: log.With("component", "upload"),
		anon: make(chan struct{}, cfg.MaxUnauthenticated)}, nil
}

// readme renders md's description, or marks it to be rendered after the
// reply (Config.QueueReadme), or returns none.
func (h *Handler) readme(ctx context.Context, md index.Metadata) index.Readme {
	blank := strings.TrimSpace(md.Description) == ""
	switch {
	case h.cfg.QueueReadme != nil && (h.cfg.RenderReadme == nil || !blank):
		return index.Readme{Version: index.ReadmePending}
	case h.cfg.RenderReadme != nil:
		return h.cfg.RenderReadme(ctx, md.Description, md.DescriptionContentType)
	}
	return index.Readme{}
}

// queueReadme hands the project whose pages were just written to the
// README worker when the change stored rd, its README, pending; the worker
// renders what is pending, if anything (an upload to an existing release
// leaves nothing).
func (h *Handler) queueReadme(name index.Normalized, rd index.Readme) {
	if h.cfg.QueueReadme != nil && rd.Version == index.ReadmePending {
		h.cfg.QueueReadme(name)
	}
}

// ServeHTTP dispatches on the form's :action, as PyPI's one upload URL does.
// GET answers distutils' list_classifiers and shows what the URL is for;
// other methods than GET and POST are refused.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		writeError(w, r, h.log, httperr.MethodNotAllowed(http.MethodGet, http.MethodPost))
		return
	}
	if r.Method == http.MethodGet {
		if r.URL.Query().Get(":action") == "list_classifiers" {
			listClassifiers(w)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "This is the cheeseshop upload endpoint. POST distribution files here with twine, e.g.\n  twine upload --repository-url <this URL> dist/*")
		return
	}
	if err := crossorigin.Check(r); err != nil {
		writeError(w, r, h.log, err)
		return
	}
	// The whole body is capped a little above the file limit: the fields of
	// one form (descriptions) come on top of the file.
	// A project's own file limit raises the cap once the form names it.
	body := newBodyLimit(w, r.Body, h.cfg.MaxFileSize+maxFieldBytes+1<<20)
	r.Body = body
	var authenticated bool
	if err := h.serve(w, r, body, &authenticated); err != nil {
		// Drain what the client is still sending (bounded by MaxBytesReader
		// and the server's minimum body rate) so it reads the answer rather
		// than a reset connection; for clients without valid credentials
		// only while few are being drained.
		if authenticated || h.enterAnonymous() {
			io.Copy(io.Discard, r.Body) //nolint:errcheck
			if !authenticated {
				h.leaveAnonymous()
			}
		}
		writeError(w, r, h.log, err)
	}
}

// enterAnonymous takes one of the slots for reading a body without valid
// credentials, if one is free; leaveAnonymous gives it back.
func (h *Handler) enterAnonymous() bool {
	select {
	case h.anon <- struct{}{}:
		return true
	default:
		return false
	}
}

func (h *Handler) leaveAnonymous() { <-h.anon }

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, body *bodyLimit, authenticated *bool) error {
	start := time.Now()
	// Only verify works without credentials (register.go), so a request
	// without them is read only when it may be one.
	actx, cancel := context.WithTimeout(r.Context(), h.cfg.DBTimeout)
	id, authErr := h.auth.Authenticate(actx, r)
	cancel()
	*authenticated = authErr == nil
	if authErr != nil && !anonymousAllowed(r, authErr) {
		return authErr
	}
	if authErr != nil {
		if !h.enterAnonymous() {
			return index.RetryAfter(index.Errorf(index.ErrRateLimited, "Too many requests without credentials in progress. Try again in a few seconds."), time.Second)
		}
		defer h.leaveAnonymous()
	}
	var sl streamLimit
	req, err := parseFormWith(r, h.dir.Tmp(), func(fields map[string][]string) (int64, error) {
		if authErr != nil {
			return h.cfg.MaxFileSize, nil // a verify: no project's limit applies
		}
		return h.contentLimit(r.Context(), body, fields, &sl)
	})
	if err != nil {
		return cmp.Or(authErr, err)
	}
	req.limit = sl
	defer req.cleanup()
	if req.attestations >= 0 {
		h.log.InfoContext(r.Context(), "upload carries PEP 740 attestations: ignored, not verified, not stored", "bytes", req.attestations)
	}
	req.start = start
	// The body is read; from here on the request only waits for the
	// database (and the page rewrite, which has its own bound).
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.DBTimeout)
	defer cancel()
	if authErr != nil && req.action != "verify" {
		return authErr
	}
	switch req.action {
	case "file_upload":
		if err := h.fileUpload(ctx, id, req); err != nil {
			return err
		}
	case "submit", "submit_pkg_info":
		if err := h.submit(ctx, id, req); err != nil {
			return err
		}
	case "verify":
		if err := h.verify(ctx, req); err != nil {
			return err
		}
	case "doc_upload":
		return index.Errorf(index.ErrGone, "Uploading documentation is no longer supported, we recommend using https://readthedocs.org/.")
	case "":
		return index.Errorf(index.ErrInvalid, "No :action given.")
	default:
		return index.Errorf(index.ErrInvalid, "Unknown action %q.", req.action)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Vary", "Authorization")
	w.WriteHeader(http.StatusOK)
	return nil
}

// RedirectNoSlash answers POST /legacy with PyPI's 308 to /legacy/, its
// message in the reason phrase as well as the body: no client follows a
// redirect of a POST, and distutils shows only the reason (PROTOCOL.md 1.1).
func RedirectNoSlash(w http.ResponseWriter, r *http.Request) {
	// Read what the client is still sending (bounded as an upload is), so
	// it reads this answer rather than a reset connection.
	io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, DefaultMaxFileSize+maxFieldBytes+1<<20)) //nolint:errcheck
	w.Header().Set("Location", "/legacy/")
	httperr.WriteText(w, r, http.StatusPermanentRedirect,
		"An upload was attempted to /legacy but the expected upload URL is /legacy/ (with a trailing slash)")
}
