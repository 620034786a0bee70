package mirror

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// HTTPPut is a target that accepts HTTP PUT: a WebDAV server (nginx with
// dav_methods PUT, Apache mod_dav), Bunny Storage, or anything alike. An
// object at path is PUT to <base>/<path>.
type HTTPPut struct {
	base     *url.URL
	public   *url.URL
	hdrName  string
	hdrValue string
	client   *http.Client
}

// defaultHTTPClient gives up on a connection, not on a transfer: a large
// file may take long, and the worker's per-file timeout bounds the whole push.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	return &http.Client{Transport: t}
}

// NewHTTPPut returns a target that PUTs under base, an http or https URL
// (user:password in it becomes Basic auth). Its public URL is
// opts.PublicURL, or base itself when that is empty.
func NewHTTPPut(base *url.URL, opts TargetOptions) (*HTTPPut, error) {
	if base.RawQuery != "" || base.Fragment != "" || base.Host == "" {
		return nil, fmt.Errorf("mirror target %q: need http(s)://host/path without query or fragment", redact(base))
	}
	b := *base
	b.Path = strings.TrimRight(b.Path, "/")
	b.RawPath = ""
	t := &HTTPPut{base: &b, client: opts.HTTPClient}
	if t.client == nil {
		t.client = defaultHTTPClient()
	}
	pub := opts.PublicURL
	if pub == "" {
		noUser := b
		noUser.User = nil
		pub = noUser.String()
	}
	var err error
	if t.public, err = parseBase(pub, "mirror public URL"); err != nil {
		return nil, err
	}
	if opts.AuthHeader != "" {
		name, value, ok := strings.Cut(opts.AuthHeader, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
			return nil, fmt.Errorf("mirror auth header: want \"Name: value\"")
		}
		t.hdrName, t.hdrValue = textproto.CanonicalMIMEHeaderKey(name), strings.TrimSpace(value)
	}
	return t, nil
}

// Put sends one PUT with a Content-Length of size. The server must answer
// 2xx only after it stored the whole body; a body that ends early makes the
// transport fail the request, so the server never sees a complete one.
func (t *HTTPPut) Put(ctx context.Context, path string, r io.Reader, size int64) error {
	if err := checkPath(path); err != nil {
		return err
	}
	var body io.Reader = http.NoBody
	if size > 0 {
		body = io.NopCloser(r) // the transport must not close the caller's reader
	}
	dest := joinURL(t.base, path)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, dest, body)
	if err != nil {
		return fmt.Errorf("put %s: %w", path, err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	return t.do(req, "put", path, func(status int) bool { return status/100 == 2 })
}

// Delete sends one DELETE (WebDAV's, and Bunny Storage's, way to remove a
// file). 2xx means removed; 404 and 410 mean it was not there, which is
// what was wanted.
func (t *HTTPPut) Delete(ctx context.Context, path string) error {
	if err := checkPath(path); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, joinURL(t.base, path), nil)
	if err != nil {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	return t.do(req, "delete", path, func(status int) bool {
		return status/100 == 2 || status == http.StatusNotFound || status == http.StatusGone
	})
}

// do sends req with the configured extra header; an answer whose status
// ok refuses is an error naming verb and path.
func (t *HTTPPut) do(req *http.Request, verb, path string, ok func(status int) bool) error {
	if t.hdrName != "" {
		req.Header.Set(t.hdrName, t.hdrValue)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, path, err)
	}
	defer resp.Body.Close()
	if !ok(resp.StatusCode) {
		// A little of the body often says why (quota, auth); never more.
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("%s %s: %s: %s", verb, path, resp.Status, strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?")))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // drained for connection reuse only
	return nil
}

// PublicURL returns the public base URL joined with path.
func (t *HTTPPut) PublicURL(path string) string { return joinURL(t.public, path) }
