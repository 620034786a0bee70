package upload

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Per-project size limits (PyPI's model; `cheeseshop project limit`). A
// project's file limit replaces Config.MaxFileSize for its uploads, above
// or below it; its total size limit is checked by the store, under the
// project's lock, when the file row is added (index.ProjectTooLargeError).

// limitStore is the optional Store capability that knows per-project
// limits (index.Store has it). Without it every project has
// Config.MaxFileSize and no total limit.
type limitStore interface {
	ProjectLimits(ctx context.Context, name index.Normalized) (index.Limits, bool, error)
	LargestFileLimit(ctx context.Context) (int64, error)
}

// streamLimit is the file limit an upload's content was streamed under,
// decided when the content part began.
type streamLimit struct {
	name  index.Normalized // the project the form named before its content; "" if none
	limit int64            // the file limit applied while streaming
}

// contentLimit decides the limit of the content part about to be read:
// the limit of the project the form has named so far (twine, distutils,
// uv and flit send the name before the file), or, when it has not, the
// largest limit any project has, so that the check after the form is read
// (fileLimit) can still refuse with the project's own limit. The body's
// cap is raised to match.
func (h *Handler) contentLimit(ctx context.Context, body *bodyLimit, fields map[string][]string, sl *streamLimit) (int64, error) {
	limit := h.cfg.MaxFileSize
	if ls, ok := h.store.(limitStore); ok {
		ctx, cancel := context.WithTimeout(ctx, h.cfg.DBTimeout)
		defer cancel()
		if name := first(fields["name"]); name != "" && index.TextProblem(name) == "" {
			norm := index.Normalize(name)
			l, _, err := ls.ProjectLimits(ctx, norm)
			if err != nil {
				return 0, err
			}
			sl.name = norm
			if l.FileSize > 0 {
				limit = l.FileSize
			}
		} else {
			largest, err := ls.LargestFileLimit(ctx)
			if err != nil {
				return 0, err
			}
			limit = max(limit, largest)
		}
	}
	sl.limit = limit
	body.raise(limit + maxFieldBytes + 1<<20)
	return limit, nil
}

// fileLimit is the file limit of the project called norm: the one the
// content was streamed under when the form named the project first, else
// the project's own.
func (h *Handler) fileLimit(ctx context.Context, norm index.Normalized, sl streamLimit) (int64, error) {
	if sl.name == norm && sl.limit > 0 {
		return sl.limit, nil
	}
	ls, ok := h.store.(limitStore)
	if !ok {
		return h.cfg.MaxFileSize, nil
	}
	l, _, err := ls.ProjectLimits(ctx, norm)
	if err != nil {
		return 0, err
	}
	if l.FileSize > 0 {
		return l.FileSize, nil
	}
	return h.cfg.MaxFileSize, nil
}

// bodyLimit caps a request body as http.MaxBytesReader does (past the cap
// the read fails and the connection is closed after the answer), with a
// cap that may be raised once the upload's project, and so its file limit,
// is known.
type bodyLimit struct {
	w   http.ResponseWriter
	raw io.ReadCloser
	cur io.ReadCloser
	n   int64 // bytes read so far
	max int64
}

func newBodyLimit(w http.ResponseWriter, body io.ReadCloser, max int64) *bodyLimit {
	return &bodyLimit{w: w, raw: body, cur: http.MaxBytesReader(w, body, max), max: max}
}

func (b *bodyLimit) Read(p []byte) (int, error) {
	n, err := b.cur.Read(p)
	b.n += int64(n)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = &http.MaxBytesError{Limit: b.max}
	}
	return n, err
}

func (b *bodyLimit) Close() error { return b.cur.Close() }

// raise sets the cap to max bytes in all, if that is more than it is.
func (b *bodyLimit) raise(max int64) {
	if max > b.max {
		b.max = max
		b.cur = http.MaxBytesReader(b.w, b.raw, max-b.n)
	}
}
