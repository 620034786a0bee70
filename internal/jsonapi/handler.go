package jsonapi

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/cors"
	"github.com/cheeseshop/cheeseshop/internal/httperr"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Store is what the JSON API reads; *index.Store has it. ProjectDetail
// returns an error wrapping index.ErrNotFound for an unknown project.
type Store interface {
	ProjectDetail(ctx context.Context, name index.Normalized) (index.ProjectDetail, error)
}

// Config configures a Handler.
type Config struct {
	// BaseURL is the index's public URL (e.g. https://pypi.example.com),
	// used for file and page URLs. Empty: taken from each request's Host.
	BaseURL string
}

// Handler serves /pypi/<project>/json and /pypi/<project>/<version>/json.
// Mount it at "/pypi/"; it parses the rest of the path itself.
type Handler struct {
	cfg   Config
	store Store
	log   *slog.Logger
	h     http.Handler
}

// New returns the JSON API handler. A nil logger discards.
func New(cfg Config, store Store, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	h := &Handler{cfg: cfg, store: store, log: log.With("component", "jsonapi")}
	h.h = httperr.Handler(h.log, h.serve)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.h.ServeHTTP(w, r) }

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	name, version, slash, ok := parsePath(r.URL.Path)
	if !ok {
		return index.Errorf(index.ErrNotFound, "use /pypi/<project>/json or /pypi/<project>/<version>/json")
	}
	// No project or version has a name PostgreSQL cannot store (a NUL
	// byte, invalid UTF-8): such a path is answered here, not by the
	// database's error.
	if p := cmp.Or(index.TextProblem(name), index.TextProblem(version)); p != "" {
		return index.Errorf(index.ErrNotFound, "no project or version has a name that %s", p)
	}
	if r.Method == http.MethodOptions {
		// A browser's CORS preflight, before a GET with If-None-Match.
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		cors.Preflight(w.Header())
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return httperr.MethodNotAllowed(http.MethodGet, http.MethodHead, http.MethodOptions)
	}
	cors.Read(w.Header())
	norm := index.Normalize(name)
	if string(norm) != name {
		// PyPI redirects every other spelling to the normalised name.
		loc := "/pypi/" + string(norm) + "/"
		if version != "" {
			loc += version + "/"
		}
		loc += "json" + slash
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusMovedPermanently)
		return nil
	}
	d, err := h.store.ProjectDetail(r.Context(), norm)
	if err != nil {
		return err
	}
	doc, err := build(d, version, h.baseURL(r))
	if err != nil {
		return err
	}
	// No HTML escaping: "<" in a requirement stays "<", as on PyPI.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode %s: %w", norm, err)
	}
	body := buf.Bytes()
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	hdr := w.Header()
	hdr.Set("X-PyPI-Last-Serial", strconv.FormatInt(d.Project.LastSerial, 10))
	hdr.Set("ETag", etag)
	// Revalidate every time: the answer must change the moment an upload,
	// yank or delete returns (PROTOCOL.md 5.3), and the ETag makes that cheap.
	hdr.Set("Cache-Control", "max-age=0, must-revalidate")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body) //nolint:errcheck // the client may be gone; nothing to do
	}
	return nil
}

// parsePath splits /pypi/<name>/json and /pypi/<name>/<version>/json (each
// with or without a trailing slash, as PyPI serves both).
func parsePath(p string) (name, version, slash string, ok bool) {
	rest, found := strings.CutPrefix(p, "/pypi/")
	if !found {
		return "", "", "", false
	}
	if trimmed, cut := strings.CutSuffix(rest, "/"); cut {
		rest, slash = trimmed, "/"
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 2 && parts[1] == "json" && parts[0] != "":
		return parts[0], "", slash, true
	case len(parts) == 3 && parts[2] == "json" && parts[0] != "" && parts[1] != "":
		return parts[0], parts[1], slash, true
	}
	return "", "", "", false
}

func (h *Handler) baseURL(r *http.Request) string {
	if h.cfg.BaseURL != "" {
		return h.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// etagMatch implements If-None-Match's weak comparison over a list.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
