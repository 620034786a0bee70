package httperr

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	driver := errors.New("secret driver detail (SQLSTATE 23505)")
	tests := []struct {
		err    error
		status int
		body   string
		allow  string
	}{
		{index.Errorf(index.ErrInvalid, "bad thing"), 400, "bad thing", ""},
		{fmt.Errorf("ctx: %w", index.DuplicateError("a.whl", "ff")), 400, "File already exists ('a.whl', with blake2_256 hash 'ff').", ""},
		{index.Errorf(index.ErrUnauthenticated, "No credentials supplied."), 401, "No credentials supplied.", ""},
		{index.Errorf(index.ErrForbidden, "no"), 403, "no", ""},
		{fmt.Errorf("project: %w", index.ErrNotFound), 404, "Not Found", ""},
		{index.Errorf(index.ErrGone, "gone"), 410, "gone", ""},
		{errors.New("secret driver detail"), 500, "Internal server error.", ""},
		// The public text is the message, never a slice of err.Error().
		{fmt.Errorf("%w: secret detail", index.ErrInvalid), 400, "Bad Request", ""},
		{&index.Error{Kind: index.ErrNotFound, Err: driver}, 404, "Not Found", ""},
		{&index.Error{Kind: index.ErrExists, Message: "user alice already exists", Err: driver}, 400, "user alice already exists", ""},
		{&index.Error{Kind: index.ErrUnavailable, Message: "secret", Err: driver}, 503, "Service temporarily unavailable", ""},
		{index.Errorf(index.ErrBadGateway, "the upstream index failed"), 502, "the upstream index failed", ""},
		{index.Errorf(index.ErrGatewayTimeout, "the upstream index did not answer"), 504, "the upstream index did not answer", ""},
		// The outermost refusal decides status and text.
		{fmt.Errorf("auth: %w", index.WrapErrorf(index.ErrForbidden, &index.Error{Kind: index.ErrNotFound, Message: "secret user"}, "denied")), 403, "denied", ""},
		{fmt.Errorf("route: %w", MethodNotAllowed("GET", "HEAD", "OPTIONS")), 405, "Method Not Allowed. Use GET, HEAD or OPTIONS.", "GET, HEAD, OPTIONS"},
		{MethodNotAllowed("POST"), 405, "Method Not Allowed. Use POST.", "POST"},
	}
	for _, tt := range tests {
		rec := checkWrite(t, tt.err, tt.status, tt.body)
		if got := rec.Header().Get("WWW-Authenticate"); (tt.status == 401) != (got == `Basic realm="pypi"`) {
			t.Errorf("%v: WWW-Authenticate %q", tt.err, got)
		}
		if got := rec.Header().Get("Allow"); got != tt.allow {
			t.Errorf("%v: Allow %q, want %q", tt.err, got, tt.allow)
		}
	}
}

// checkWrite has Write answer err and wants status and a body that starts
// with body and says nothing "secret"; it returns the recorded answer (a
// ResponseRecorder cannot be hijacked: the standard response).
func checkWrite(t *testing.T, err error, status int, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	Write(rec, httptest.NewRequest("POST", "/", nil), slog.New(slog.DiscardHandler), err)
	if got := rec.Body.String(); rec.Code != status || !strings.HasPrefix(got, body) || strings.Contains(got, "secret") {
		t.Errorf("%v: %d %q, want %d %q", err, rec.Code, got, status, body)
	}
	return rec
}

// rawAnswer sends one GET to a server of h over a real HTTP/1.1 connection
// and returns the answer as it comes over the wire.
func rawAnswer(t *testing.T, h http.Handler) *bufio.Reader {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	return bufio.NewReader(conn)
}

// Over a real HTTP/1.1 connection the message is the reason phrase too.
func TestWriteReasonPhrase(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	line, err := rawAnswer(t, Handler(log, func(w http.ResponseWriter, r *http.Request) error {
		return index.Errorf(index.ErrInvalid, "Käse\tis not a version\x7f")
	})).ReadString('\n')
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if line != "HTTP/1.1 400 K?se is not a version?\r\n" {
		t.Fatalf("status line %q", line)
	}
}

// A message quoting a client's 100,000-character value comes back bounded,
// in the status line and the body alike, cut on a character boundary.
func TestWriteBoundsMessage(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	long := strings.Repeat("é", 100_000)
	resp, err := http.ReadResponse(rawAnswer(t, Handler(log, func(w http.ResponseWriter, r *http.Request) error {
		return index.Errorf(index.ErrInvalid, "'%s' is an invalid value.", long)
	})), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Status) > maxMessage+10 || !strings.HasPrefix(resp.Status, "400 '??") || !strings.HasSuffix(resp.Status, "...") {
		t.Errorf("status line of %d bytes: %.40q…%q", len(resp.Status), resp.Status, resp.Status[max(0, len(resp.Status)-10):])
	}
	if len(body) > maxMessage+1 || !strings.HasPrefix(string(body), "'éé") || !strings.HasSuffix(string(body), "...\n") || !utf8.Valid(body) {
		t.Errorf("body of %d bytes: %.40q…", len(body), body)
	}
}
