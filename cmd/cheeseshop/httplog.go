package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/reqlog"
)

// Route classes: the label of cheeseshop_http_requests_total and the route
// of an access-log line. A class, not the path, so that the label has a
// handful of values.
const (
	routeSimple   = datadir.SimpleDir   // the same word as the tree, not a path
	routePackages = datadir.PackagesDir // likewise
	routeUpload   = "upload"
	routeJSONAPI  = "json_api"
	routeManage   = "manage"
	routeHealth   = "health"
	routeMetrics  = "metrics"
	routeOther    = "other"
)

func routeClass(path string) string {
	switch {
	case strings.HasPrefix(path, "/simple"):
		return routeSimple
	case strings.HasPrefix(path, "/packages/"):
		return routePackages
	case strings.HasPrefix(path, "/legacy"):
		return routeUpload
	case strings.HasPrefix(path, "/pypi/"):
		return routeJSONAPI
	case strings.HasPrefix(path, "/manage/"):
		return routeManage
	case path == "/healthz" || path == "/readyz":
		return routeHealth
	case path == "/metrics":
		return routeMetrics
	}
	return routeOther
}

// trustedProxies are the peers whose X-Forwarded-For names the client
// (--trusted-proxies).
type trustedProxies []netip.Prefix

func parseTrustedProxies(s string) (trustedProxies, error) {
	var out trustedProxies
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a prefix such as 10.0.0.0/8", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// client is the request's client address: the peer's, or, when the peer
// is a trusted proxy, the last address of X-Forwarded-For that is not a
// trusted proxy itself (the one the outermost trusted proxy saw).
func (tp trustedProxies) client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !tp.trusted(addr) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !tp.trusted(a) || i == 0 {
			return a.Unmap().String()
		}
	}
	return addr.Unmap().String()
}

func (tp trustedProxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range tp {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// recorder remembers a response's status and size. It keeps the
// underlying writer's io.ReaderFrom (sendfile for the static files) and
// Flush, and Unwrap for http.ResponseController.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *recorder) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(w.ResponseWriter, r)
	}
	w.bytes += n
	return n, err
}

func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands over the connection (httperr writes its own status line to
// put the message in the reason phrase) and keeps reading the status and
// counting the bytes written through it.
func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	hc := &hijacked{Conn: conn, rec: w}
	brw.Writer.Reset(hc) // net/http hands it over empty
	return hc, brw, nil
}

// hijacked is a hijacked connection that tells its recorder the status
// line's code and the bytes written.
type hijacked struct {
	net.Conn
	rec *recorder
}

func (c *hijacked) Write(b []byte) (int, error) {
	if c.rec.status == 0 && len(b) >= 12 && bytes.HasPrefix(b, []byte("HTTP/1.")) {
		if code, err := strconv.Atoi(string(b[9:12])); err == nil {
			c.rec.status = code
		}
	}
	n, err := c.Conn.Write(b)
	c.rec.bytes += int64(n)
	return n, err
}

// observe counts every request after its answer (metrics, when set) and,
// when accessLog is set and the log takes info lines, writes its
// access-log line. A request with a line gets its request id here (the
// client's X-Request-Id, or a new one; chi's RequestID reuses it), so the
// line and every other line about the request carry the same one. Without
// a line it gets none here: the router's RequestID gives one to the
// routes behind it, and the static pages and files, which skip the router
// and for which an id costs a tenth of serving a small page, take one only
// when they log (reqlog.WithID).
func observe(next http.Handler, m *metrics, log *slog.Logger, proxies trustedProxies, accessLog bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		logged := accessLog && log.Enabled(ctx, slog.LevelInfo)
		if logged {
			r = reqlog.WithID(r)
			ctx = r.Context()
			r.Header.Set(middleware.RequestIDHeader, middleware.GetReqID(ctx)) // the router's RequestID keeps it
		}
		rec := &recorder{ResponseWriter: w}
		defer func() {
			d := time.Since(start)
			status := rec.status
			if status == 0 {
				status = http.StatusOK // nothing written: net/http sends 200
			}
			route := routeClass(r.URL.Path)
			if m != nil {
				m.observeRequest(route, r.Method, status, d)
			}
			// The line's fields (the client address is parsed) are built
			// only when it will be written: the static pages are the hot
			// path, and an operator may log at warn.
			if logged {
				attrs := []slog.Attr{
					slog.String("method", r.Method),
					slog.String("route", route),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int64("bytes", rec.bytes),
					slog.Float64("duration_ms", ms(d)),
					slog.String("client", proxies.client(r)),
				}
				if route == routeUpload && r.Method == http.MethodPost {
					attrs = append(attrs, slog.Int64("request_bytes", r.ContentLength))
				}
				log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// ms is a duration in milliseconds, to the microsecond: how every log line
// gives durations.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
