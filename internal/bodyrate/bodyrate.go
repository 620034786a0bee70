// Package bodyrate requires request bodies to arrive at a minimum rate, so
// that a client sending a byte a second cannot hold a connection (and
// whatever the handler holds for it) for hours (issue 14 item 11).
//
// It sets the connection's read deadline before every read of the body
// (http.ResponseController.SetReadDeadline), extended as bytes arrive: no
// read may wait longer than Timeout, and by any moment the body must have
// averaged MinRate since its first read, after a Timeout of grace. Only
// the body is timed: a handler that waits (for a password check) before
// reading it does not count against the client. It imports nothing
// internal.
package bodyrate

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Defaults of Config: far below any real link (2 KiB/s is a 16 kbit/s
// modem), and a stall longer than TCP's own retransmissions usually take.
const (
	DefaultMinRate = 2 << 10
	DefaultTimeout = 20 * time.Second
)

// Config configures the check. Zero values mean the defaults.
type Config struct {
	MinRate int64         // bytes per second, averaged over the body after Timeout of grace
	Timeout time.Duration // longest wait for the body's next bytes
}

// Handler wraps next so that the bodies of its requests are timed. A body
// too slow ends in an error from its Read (the handler answers as for any
// broken body) and the connection is closed after the answer.
func Handler(cfg Config, next http.Handler) http.Handler {
	if cfg.MinRate <= 0 {
		cfg.MinRate = DefaultMinRate
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	errSlow := fmt.Errorf("request body arrived slower than %d bytes per second or stalled for %s", cfg.MinRate, cfg.Timeout)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &reader{body: r.Body, rc: http.NewResponseController(w), cfg: cfg, errSlow: errSlow}
		}
		next.ServeHTTP(w, r)
	})
}

type reader struct {
	body    io.ReadCloser
	rc      *http.ResponseController
	cfg     Config
	errSlow error
	start   time.Time
	n       int64
	off     bool // EOF seen, or the connection has no deadlines
}

func (b *reader) Read(p []byte) (int, error) {
	if !b.off {
		now := time.Now()
		if b.start.IsZero() {
			b.start = now
		}
		earned := b.start.Add(b.cfg.Timeout + time.Duration(float64(b.n)/float64(b.cfg.MinRate)*float64(time.Second)))
		deadline := now.Add(b.cfg.Timeout)
		if earned.Before(deadline) {
			deadline = earned
		}
		if err := b.rc.SetReadDeadline(deadline); err != nil {
			b.off = true // not a net.Conn (a test recorder): nothing to time
		}
	}
	n, err := b.body.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF && !b.off:
		// Done: net/http's own reads of this connection (the next
		// request, its watch for a client that hangs up) must not inherit
		// the deadline.
		b.off = true
		b.rc.SetReadDeadline(time.Time{}) //nolint:errcheck // it worked before
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = b.errSlow
	}
	return n, err
}

func (b *reader) Close() error { return b.body.Close() }
