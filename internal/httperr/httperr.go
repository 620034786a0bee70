package httperr

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// statusOf is the one table that maps errors to HTTP statuses.
func statusOf(err error) (status int, sentinel error) {
	switch {
	case errors.Is(err, index.ErrUnauthenticated):
		return http.StatusUnauthorized, index.ErrUnauthenticated
	case errors.Is(err, index.ErrForbidden):
		return http.StatusForbidden, index.ErrForbidden
	case errors.Is(err, index.ErrNotFound):
		return http.StatusNotFound, index.ErrNotFound
	case errors.Is(err, index.ErrGone):
		return http.StatusGone, index.ErrGone
	case errors.Is(err, index.ErrExists):
		// PyPI answers duplicates with 400 "File already exists …"; twine's
		// --skip-existing matches exactly that (PROTOCOL.md 1.6).
		return http.StatusBadRequest, index.ErrExists
	case errors.Is(err, index.ErrInvalid):
		return http.StatusBadRequest, index.ErrInvalid
	case errors.Is(err, index.ErrTooLarge):
		return http.StatusBadRequest, index.ErrTooLarge
	case errors.Is(err, index.ErrUnavailable):
		return http.StatusServiceUnavailable, index.ErrUnavailable
	case errors.Is(err, index.ErrRateLimited):
		return http.StatusTooManyRequests, index.ErrRateLimited
	case errors.Is(err, index.ErrStorage) && (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)):
		// RFC 4918's 507: the server cannot store what the request needs.
		// twine shows the status and the message, and a retry later may
		// succeed. Other write failures (EIO, …) are plain 500s.
		return http.StatusInsufficientStorage, index.ErrStorage
	case errors.Is(err, index.ErrStorage):
		return http.StatusInternalServerError, index.ErrStorage
	}
	return http.StatusInternalServerError, nil
}

// publicMessage returns the client-safe text of err: what follows the
// sentinel's own text in the chain ("… invalid: <message>").
func publicMessage(err, sentinel error, status int) string {
	if sentinel != nil && sentinel != index.ErrUnavailable && sentinel != index.ErrStorage {
		s := err.Error()
		if i := strings.Index(s, sentinel.Error()+": "); i >= 0 {
			return s[i+len(sentinel.Error())+2:]
		}
	}
	switch status {
	case http.StatusServiceUnavailable:
		return "Service temporarily unavailable: the database cannot be reached. Try again shortly."
	case http.StatusInsufficientStorage:
		return "Insufficient storage: the server's disk is full. Try the upload again later."
	}
	if sentinel == index.ErrStorage {
		return "Internal server error: the server could not write to its storage. Try again later."
	}
	switch status {
	case http.StatusInternalServerError:
		return "Internal server error."
	}
	return http.StatusText(status)
}

// Write answers with err's status and message. The message goes into the
// text/plain body (twine --skip-existing, poetry, pdm and uv read it) and, on
// HTTP/1.x, into the reason phrase too, because distutils prints nothing else
// ("Upload failed (400): <reason>"). net/http always writes the standard
// reason phrase, so for that the connection is hijacked and the response
// written by hand; over HTTP/2 or when hijacking is impossible the standard
// response is sent.
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, sentinel := statusOf(err)
	msg := publicMessage(err, sentinel, status)
	switch {
	case status >= 500:
		log.ErrorContext(r.Context(), "request failed", "status", status, "err", err)
	default:
		log.InfoContext(r.Context(), "request refused", "status", status, "err", err)
	}
	h := w.Header()
	h.Set("Vary", "Authorization")
	if status == http.StatusUnauthorized {
		// distutils' register only sends credentials after this challenge;
		// its password manager is keyed on the realm "pypi".
		h.Set("WWW-Authenticate", `Basic realm="pypi"`)
	}
	if status == http.StatusTooManyRequests {
		// RFC 9110 10.2.3: whole seconds, at least one.
		d, _ := index.RetryDelay(err)
		h.Set("Retry-After", strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))))
	}
	WriteText(w, r, status, msg)
}

// WriteText answers with status and msg as Write answers an error: msg in a
// text/plain body and, on HTTP/1.x, in the reason phrase. It is for answers
// that are not errors but carry a message clients show, such as PyPI's 308
// for POST /legacy.
func WriteText(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	body := msg + "\n"
	if r.ProtoMajor == 1 && writeWithReason(w, status, reasonPhrase(msg), body) {
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

// reasonPhrase makes msg safe for a status line: Latin-1 printable only (PyPI
// replaces the rest with '?'), one line.
func reasonPhrase(msg string) string {
	b := make([]byte, 0, len(msg))
	for _, c := range msg {
		switch {
		case c == '\t':
			b = append(b, ' ')
		case c < 0x20 || c == 0x7f || c > 0xff:
			b = append(b, '?')
		case c >= 0x80:
			b = append(b, '?')
		default:
			b = append(b, byte(c))
		}
	}
	return string(b)
}

func writeWithReason(w http.ResponseWriter, status int, reason, body string) bool {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	defer conn.Close()
	bw := bufio.NewWriter(conn)
	if buf != nil && buf.Writer != nil {
		bw = buf.Writer
	}
	fmt.Fprintf(bw, "HTTP/1.1 %03d %s\r\n", status, reason)
	h := w.Header().Clone()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	h.Write(bw) //nolint:errcheck // the client may be gone; nothing to do
	bw.WriteString("\r\n")
	bw.WriteString(body)
	bw.Flush()
	return true
}

// Handler adapts a handler that returns an error: a nil error means the
// handler wrote its response; any other error is answered with Write.
func Handler(log *slog.Logger, fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			Write(w, r, log, err)
		}
	})
}
