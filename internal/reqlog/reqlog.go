package reqlog

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"
)

// Key is the attribute key of the request id.
const Key = "request_id"

// Handler adds request_id to the records it passes on. It is safe for
// concurrent use when the handler it wraps is.
type Handler struct {
	h slog.Handler
}

// NewHandler returns a Handler that passes records on to h.
func NewHandler(h slog.Handler) *Handler { return &Handler{h: h} }

// Enabled reports whether the wrapped handler handles level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.h.Enabled(ctx, level)
}

// Handle adds the id of the request ctx belongs to, if any, and passes r on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if id := middleware.GetReqID(ctx); id != "" {
		// A copy: the caller's record may share its attribute storage.
		r = r.Clone()
		r.AddAttrs(slog.String(Key, id))
	}
	return h.h.Handle(ctx, r)
}

// WithAttrs returns a Handler whose records carry attrs as well.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{h: h.h.WithAttrs(attrs)}
}

// WithGroup returns a Handler that qualifies later attributes with name
// (request_id among them).
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{h: h.h.WithGroup(name)}
}

// WithID returns r with a request id in its context: r itself when it has
// one, else r as chi's middleware.RequestID would have passed it on (the
// client's X-Request-Id, or the next id of the process). The static pages
// and files skip the middleware, which costs more than serving a small
// page; they call WithID only on the rare paths that log.
func WithID(r *http.Request) *http.Request {
	if middleware.GetReqID(r.Context()) != "" {
		return r
	}
	out := r
	middleware.RequestID(http.HandlerFunc(func(_ http.ResponseWriter, withID *http.Request) {
		out = withID
	})).ServeHTTP(nil, r)
	return out
}
