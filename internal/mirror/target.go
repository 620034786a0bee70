package mirror

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ObjectStore is where the worker pushes files: the CDN's origin.
//
// Paths are slash-separated and relative, the same content-addressed layout
// as DATA/packages ("ab/cd/ef…/demo-1.0.tar.gz", and the sidecar at
// "<path>.metadata"), so a CDN copy has the local layout.
type ObjectStore interface {
	// Put stores size bytes read from r at path, replacing what was there.
	// It fails, leaving no partial object visible, when r yields fewer
	// bytes or fails, or ctx ends first.
	Put(ctx context.Context, path string, r io.Reader, size int64) error
	// Delete removes the object at path, so that its public URL stops
	// serving it (a CDN's own cache may keep it until it expires). An
	// object that is not there is not an error: a retry after a lost
	// answer must succeed.
	Delete(ctx context.Context, path string) error
	// PublicURL returns the URL under which clients fetch what was put at
	// path, or "" when the store has no public URL, in which case nothing
	// can be verified or linked and files keep their local URL.
	// PublicURL(p+".metadata") must equal PublicURL(p)+".metadata": pip
	// looks for the PEP 658 sidecar there.
	PublicURL(path string) string
}

// TargetOptions are the settings of a target that do not fit in its URL.
type TargetOptions struct {
	// PublicURL is the base URL under which the CDN serves what was put
	// (--mirror-public-url). Empty means the target's default: the PUT URL
	// for http(s) targets, the bucket's URL for S3, none for file targets.
	PublicURL string
	// AuthHeader is an extra "Name: value" header sent with every PUT to an
	// http(s) target, e.g. "AccessKey: …" for Bunny Storage. It is a secret.
	AuthHeader string
	// HTTPClient makes the target's requests; nil means a default client.
	HTTPClient *http.Client
	// AWS is the AWS SDK configuration of s3 targets: credentials, region,
	// retries. The caller loads it (cmd, with the SDK's standard chain:
	// environment, shared files, SSO, instance roles); this package never
	// reads the process for it. The zero Config has no region and makes
	// unsigned requests. A region or endpoint in the target URL wins.
	AWS aws.Config
}

// OpenTarget returns the ObjectStore for a --mirror URL:
//
//	s3://bucket/prefix?endpoint=https://…&region=…  any S3-compatible store
//	http://host/dir, https://host/dir               a server that accepts PUT
//	file:///dir                                     a directory published by something else
//
// It returns the interface rather than a concrete type because the scheme
// picks the implementation; NewS3, NewHTTPPut and NewDir return concrete types.
func OpenTarget(ctx context.Context, rawURL string, opts TargetOptions) (ObjectStore, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("mirror target: %w", err)
	}
	switch u.Scheme {
	case "s3":
		return NewS3(ctx, u, opts)
	case "http", "https":
		return NewHTTPPut(u, opts)
	case "file":
		return NewDir(u, opts)
	}
	return nil, fmt.Errorf("mirror target %q: scheme must be s3, http, https or file", redact(u))
}

// parseBase parses a base URL for PublicURL: absolute http(s), no query or
// fragment, without a trailing slash.
func parseBase(raw, what string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q: must be an absolute http or https URL", what, redact(u))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s %q: must not have a query or fragment", what, redact(u))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// joinURL returns base with the object path appended, each segment escaped.
func joinURL(base *url.URL, path string) string {
	if base == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(strings.TrimRight(base.String(), "/"))
	for _, seg := range strings.Split(path, "/") {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(seg))
	}
	return b.String()
}

// checkPath rejects object paths that could escape the store's root or mean
// different things to different stores.
func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("object path %q: must be relative and slash-separated", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("object path %q: empty, . or .. segment", p)
		}
	}
	return nil
}

// redact hides credentials in a URL for errors and logs.
func redact(u *url.URL) string { return u.Redacted() }
