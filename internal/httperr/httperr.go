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
	"unicode/utf8"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/reqlog"
)

// ErrMethodNotAllowed is the kind of the error MethodNotAllowed returns.
var ErrMethodNotAllowed = errors.New("method not allowed")

// methodError carries the methods a resource allows, for the Allow header.
type methodError struct {
	allow string
	err   error // an *index.Error of kind ErrMethodNotAllowed
}

func (e *methodError) Error() string { return e.err.Error() }
func (e *methodError) Unwrap() error { return e.err }

// MethodNotAllowed returns the error for a request whose method the
// resource does not serve; allow lists the methods it does, for the Allow
// header (RFC 9110 15.5.6).
func MethodNotAllowed(allow ...string) error {
	use := strings.Join(allow, ", ")
	if n := len(allow); n > 1 {
		use = strings.Join(allow[:n-1], ", ") + " or " + allow[n-1]
	}
	return &methodError{allow: strings.Join(allow, ", "), err: index.Errorf(ErrMethodNotAllowed, "Method Not Allowed. Use %s.", use)}
}

// statuses is the one table that maps error kinds to HTTP statuses; a kind
// not in it is a 500. ErrStorage is decided in statusOf.
var statuses = map[error]int{
	index.ErrUnauthenticated: http.StatusUnauthorized,
	index.ErrForbidden:       http.StatusForbidden,
	index.ErrNotFound:        http.StatusNotFound,
	ErrMethodNotAllowed:      http.StatusMethodNotAllowed,
	index.ErrGone:            http.StatusGone,
	// PyPI answers duplicates with 400 "File already exists …"; twine's
	// --skip-existing matches exactly that (PROTOCOL.md 1.6).
	index.ErrExists:         http.StatusBadRequest,
	index.ErrInvalid:        http.StatusBadRequest,
	index.ErrTooLarge:       http.StatusBadRequest,
	index.ErrRateLimited:    http.StatusTooManyRequests,
	index.ErrUnavailable:    http.StatusServiceUnavailable,
	index.ErrBadGateway:     http.StatusBadGateway,
	index.ErrGatewayTimeout: http.StatusGatewayTimeout,
}

// statusOf maps err to its HTTP status by statuses. The kind is that of the
// outermost *index.Error in the chain (index.KindOf), so a refusal keeps
// its status however often it is wrapped.
func statusOf(err error) (status int, kind error) {
	kind = index.KindOf(err)
	if kind == nil && errors.Is(err, ErrMethodNotAllowed) {
		kind = ErrMethodNotAllowed
	}
	if kind == index.ErrStorage {
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			// RFC 4918's 507: the server cannot store what the request
			// needs. twine shows the status and the message, and a retry
			// later may succeed. Other write failures (EIO, …) are plain
			// 500s.
			return http.StatusInsufficientStorage, kind
		}
		return http.StatusInternalServerError, kind
	}
	if status, ok := statuses[kind]; ok {
		return status, kind
	}
	return http.StatusInternalServerError, nil
}

// publicMessage returns the client-safe text of err: the public message of
// its *index.Error, or a fixed text for the status. It never looks at
// err.Error(), which may hold driver text and paths. The server's own
// failures (unavailable, storage) always get the fixed text: the client
// can only retry.
func publicMessage(err, kind error, status int) string {
	if kind != nil && kind != index.ErrUnavailable && kind != index.ErrStorage {
		if msg, ok := index.PublicMessage(err); ok {
			return msg
		}
	}
	switch status {
	case http.StatusServiceUnavailable:
		return "Service temporarily unavailable: the database cannot be reached. Try again shortly."
	case http.StatusInsufficientStorage:
		return "Insufficient storage: the server's disk is full. Try the upload again later."
	}
	if kind == index.ErrStorage {
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
// response is sent. The full error is logged here, once, with the request's
// context (and so its request id).
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	r = reqlog.WithID(r)
	status, kind := statusOf(err)
	msg := publicMessage(err, kind, status)
	switch {
	case status >= 500:
		log.ErrorContext(r.Context(), "request failed", "status", status, "err", err)
	default:
		log.InfoContext(r.Context(), "request refused", "status", status, "err", err)
	}
	h := w.Header()
	h.Set("Vary", "Authorization")
	switch status {
	case http.StatusUnauthorized:
		// distutils' register only sends credentials after this challenge;
		// its password manager is keyed on the realm "pypi".
		h.Set("WWW-Authenticate", `Basic realm="pypi"`)
	case http.StatusMethodNotAllowed:
		var me *methodError
		if errors.As(err, &me) {
			h.Set("Allow", me.allow)
		}
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
	msg = clip(msg)
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

// maxMessage bounds the message of a response, which goes into its status
// line and body twice: messages quote what the client sent (a name, a
// filename, a classifier), and no client-sized value may come back whole.
// The longest message a well-formed request gets (a duplicate filename of
// 246 bytes with its hash and help link) is well under it.
const maxMessage = 1024

// clip shortens msg to maxMessage bytes, cut at a character boundary and
// ending in "...".
func clip(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage - len("...")
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "..."
}

// reasonPhrase makes msg safe for a status line: one line of printable
// ASCII, a tab becoming a space and anything else '?'. PyPI replaces only
// what Latin-1 cannot encode; ASCII is stricter and reads the same in every
// client.
func reasonPhrase(msg string) string {
	b := make([]byte, 0, len(msg))
	for _, c := range msg {
		switch {
		case c == '\t':
			b = append(b, ' ')
		case c < 0x20 || c >= 0x7f:
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
