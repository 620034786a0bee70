package search

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/httperr"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/webpage"
)

// PerPage is the number of projects on a page of results, as on PyPI.
const PerPage = 20

// Store is the query both handlers answer from (index.Store).
type Store interface {
	Search(ctx context.Context, q string, page, perPage int) (index.SearchResult, error)
}

// Config holds what the handlers need besides the store.
type Config struct {
	// Headers are sent with every answer of the page handler, refusals
	// included: those of the other pages for people.
	Headers [][2]string
}

// Handler serves /search/ and the XML-RPC endpoint.
type Handler struct {
	cfg    Config
	store  Store
	logger *slog.Logger
}

// New returns the search handlers over store.
func New(cfg Config, store Store, logger *slog.Logger) *Handler {
	return &Handler{cfg: cfg, store: store, logger: logger.With("component", "search")}
}

// Page serves GET and HEAD /search/?q=…&page=N: the search page with the
// projects found, PerPage at a time. No query shows the empty form. A
// query the store refuses (NUL, invalid UTF-8, too long) or a page that is
// not a number from 1 to the last is a 400 with its reason.
func (h *Handler) Page() http.Handler { return http.HandlerFunc(h.servePage) }

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	for _, kv := range h.cfg.Headers {
		hdr.Set(kv[0], kv[1])
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		httperr.Write(w, r, h.logger, httperr.MethodNotAllowed(http.MethodGet, http.MethodHead))
		return
	}
	vals := r.URL.Query()
	q := vals.Get("q")
	page := 1
	if p := vals.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			httperr.Write(w, r, h.logger, index.Errorf(index.ErrInvalid, "The page must be a number from 1 to %d.", index.MaxSearchResults/PerPage))
			return
		}
		page = n
	}
	if err := index.CheckSearch(q, page, PerPage); err != nil {
		httperr.Write(w, r, h.logger, err)
		return
	}
	q = strings.TrimSpace(q)
	s := webpage.Search{Query: q, Page: page}
	if q != "" {
		res, err := h.store.Search(r.Context(), q, page, PerPage)
		if err != nil {
			httperr.Write(w, r, h.logger, err)
			return
		}
		s.Total = res.Total
		for _, hit := range res.Hits {
			s.Results = append(s.Results, webpage.Result{Name: hit.Name, Normalized: string(hit.Normalized), Version: hit.Version, Summary: hit.Summary})
		}
		if page < index.SearchPages(res.Total, PerPage) {
			s.Next = page + 1
		}
	}
	var buf bytes.Buffer
	webpage.RenderSearch(&buf, s)
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	// Results change with every upload; a cache may keep them only to
	// revalidate, and there is nothing to revalidate against.
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}
