// Package cors holds the CORS headers of the read APIs (the simple pages and
// the JSON API), so the app and the web-server configurations that
// internal/deploy writes send the same ones.
//
// PyPI's values (PROTOCOL.md 6): any origin may read, with GET, and may send
// the conditional request headers; a preflight is cached for a day; the
// X-PyPI-Last-Serial header is exposed to scripts. Deliberate difference:
// PyPI sends all five headers on every response, but a browser reads
// Access-Control-Allow-Methods, -Allow-Headers and -Max-Age only on the answer
// to a preflight (Fetch standard, "CORS-preflight fetch"), so they are sent
// there and nowhere else. An actual response carries the two a browser checks
// on it, and every page served is ~170 bytes smaller (about 5% of a small
// page's response, which is what a static server's throughput follows).
package cors

import "net/http"

// Header values, as the web-server templates use them too.
const (
	AllowOrigin   = "*"
	AllowMethods  = "GET"
	AllowHeaders  = "Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since"
	MaxAge        = "86400"
	ExposeHeaders = "X-PyPI-Last-Serial"
)

// The values are assigned straight into the header map to save an
// allocation per header per response; each slice has len == cap, so a later
// Header().Add appends to a copy and never to these.
var (
	allowOrigin   = []string{AllowOrigin}
	allowMethods  = []string{AllowMethods}
	allowHeaders  = []string{AllowHeaders}
	maxAge        = []string{MaxAge}
	exposeHeaders = []string{ExposeHeaders}
)

// Read sets the headers of an actual response (any status): any origin may
// read it and its X-PyPI-Last-Serial.
func Read(h http.Header) {
	h["Access-Control-Allow-Origin"] = allowOrigin
	h["Access-Control-Expose-Headers"] = exposeHeaders
}

// Preflight sets the headers of the answer to a preflight request (OPTIONS):
// Read's, and which method and request headers a script may use, for how
// long.
func Preflight(h http.Header) {
	Read(h)
	h["Access-Control-Allow-Methods"] = allowMethods
	h["Access-Control-Allow-Headers"] = allowHeaders
	h["Access-Control-Max-Age"] = maxAge
}
