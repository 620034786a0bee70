package search

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// RPC serves the XML-RPC endpoint (POST /pypi and /RPC2) with the one
// method of PyPI's XML-RPC API that pip calls, `search(spec, operator)`:
// pip sends {'name': [words], 'summary': [words]} and 'or'. The words of
// the name and summary fields are one query to the store (joined by "or"
// for 'or', so any of them matches); the answer is the first
// index.MaxSearchPerPage projects found, best first, each a struct with
// name, version, summary and _pypi_ordering. Any other method, and any
// call that cannot be parsed, is answered with a fault (status 200, as
// XML-RPC wants).
func (h *Handler) RPC() http.Handler { return http.HandlerFunc(h.serveRPC) }

func (h *Handler) serveRPC(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	rows, err := h.rpc(w, r)
	if err != nil {
		var f *fault
		if !errors.As(err, &f) {
			h.logger.ErrorContext(r.Context(), "xml-rpc search", "err", err)
			f = &fault{Code: faultInternal, Message: "Internal server error."}
			if errors.Is(err, index.ErrUnavailable) {
				f.Message = "Service temporarily unavailable. Try again shortly."
			}
		}
		appendFault(&buf, f)
	} else {
		appendResponse(&buf, rows)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/xml; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

func (h *Handler) rpc(w http.ResponseWriter, r *http.Request) ([][]member, error) {
	c, err := parseCall(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, err
	}
	if c.Method != "search" {
		return nil, &fault{Code: faultNoMethod, Message: "Method " + strconv.Quote(elide(c.Method)) + " is not supported; this index answers only search."}
	}
	q, err := searchQuery(c.Params)
	if err != nil {
		return nil, err
	}
	if err := index.CheckSearch(q, 1, index.MaxSearchPerPage); err != nil {
		msg, _ := index.PublicMessage(err)
		return nil, &fault{Code: faultInvalidParams, Message: msg}
	}
	res, err := h.store.Search(r.Context(), q, 1, index.MaxSearchPerPage)
	if err != nil {
		if msg, ok := index.PublicMessage(err); ok && errors.Is(err, index.ErrInvalid) {
			return nil, &fault{Code: faultInvalidParams, Message: msg}
		}
		return nil, err
	}
	rows := make([][]member, len(res.Hits))
	for i, hit := range res.Hits {
		rows[i] = []member{
			{"name", hit.Name},
			{"version", hit.Version},
			{"summary", hit.Summary},
			// PyPI's ordering of a project's releases; pip ignores it.
			// Here: the rank, highest first.
			{"_pypi_ordering", len(res.Hits) - i},
		}
	}
	return rows, nil
}

// searchQuery makes the store's query of search's parameters: a struct of
// field names to a word or a list of words, and optionally the operator
// "and" (the default) or "or". Fields other than name and summary are
// ignored, as long as one of these two is there.
func searchQuery(params []any) (string, error) {
	invalid := func(msg string) error { return &fault{Code: faultInvalidParams, Message: msg} }
	if len(params) < 1 || len(params) > 2 {
		return "", invalid("search takes a struct of fields and an optional operator, 'and' or 'or'.")
	}
	spec, ok := params[0].(map[string]any)
	if !ok {
		return "", invalid("search's first parameter must be a struct of fields, such as {'name': ['words']}.")
	}
	op := "and"
	if len(params) == 2 {
		s, ok := params[1].(string)
		if op = strings.ToLower(strings.TrimSpace(s)); !ok || op != "and" && op != "or" {
			return "", invalid("search's operator must be 'and' or 'or'.")
		}
	}
	var words []string
	found := false
	for _, field := range []string{"name", "summary"} {
		v, ok := spec[field]
		if !ok {
			continue
		}
		found = true
		var list []any
		switch v := v.(type) {
		case string:
			list = []any{v}
		case []any:
			list = v
		default:
			return "", invalid("search's " + field + " must be a string or a list of strings.")
		}
		for _, w := range list {
			s, ok := w.(string)
			if !ok {
				return "", invalid("search's " + field + " must be a string or a list of strings.")
			}
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(words, s) {
				words = append(words, s)
			}
		}
	}
	if !found {
		return "", invalid("search looks in the fields name and summary only.")
	}
	sep := " "
	if op == "or" {
		sep = " or "
	}
	return strings.Join(words, sep), nil
}
