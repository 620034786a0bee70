package upstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Defaults for the Config fields.
const (
	DefaultTTL         = 10 * time.Minute
	DefaultNegativeTTL = time.Minute
	DefaultTimeout     = 10 * time.Second
	// statsEvery is how often the request counters are added to the
	// database, for `cheeseshop upstream status`.
	statsEvery = 10 * time.Second
)

// Config configures a Cache. Zero values mean the defaults.
type Config struct {
	// URL is the upstream's simple index root, e.g. https://pypi.org/simple/.
	// Credentials in it (user:password@) are sent to its host only.
	URL string
	// Username and Password, when set, are sent (Basic) to the upstream's
	// host; they override credentials in URL.
	Username, Password string
	// TTL is how long a cached page is served without asking the upstream.
	TTL time.Duration
	// NegativeTTL is how long an upstream 404 is remembered.
	NegativeTTL time.Duration
	// Timeout bounds a page fetch from the upstream, and the wait for a
	// file's response headers (its body may take longer).
	Timeout time.Duration
	// DataDir is cheeseshop's data directory.
	DataDir string
	// Transport is the HTTP transport to the upstream; nil means one built
	// from Timeout.
	Transport http.RoundTripper
}

// Store is what the cache needs of the database (*index.Store).
type Store interface {
	IsLocal(ctx context.Context, name index.Normalized) (bool, error)
	UpstreamProject(ctx context.Context, name index.Normalized) (index.UpstreamProject, error)
	SaveUpstreamProject(ctx context.Context, p index.UpstreamProject, files []index.UpstreamFile) error
	TouchUpstreamProject(ctx context.Context, name index.Normalized, t time.Time) error
	UpstreamFile(ctx context.Context, path string) (index.UpstreamFile, error)
	MarkUpstreamFileCached(ctx context.Context, path string, metadata bool, size int64) error
	AddUpstreamStats(ctx context.Context, hits, misses, stale int64) error
}

// Cache is the upstream cache of one data directory. It is safe for
// concurrent use; several processes may share one database and data
// directory.
type Cache struct {
	root     *url.URL // the upstream root, with a trailing slash, without credentials
	user     *url.Userinfo
	ttl, neg time.Duration
	timeout  time.Duration
	dir      datadir.Dir
	client   *http.Client
	store    Store
	log      *slog.Logger
	now      func() time.Time

	pages                     singleflight.Group
	hits, misses, staleServed atomic.Int64
}

// New returns the cache for cfg. A bad URL is an error naming it.
func New(cfg Config, store Store, logger *slog.Logger) (*Cache, error) {
	root, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Cache{
		root:    root,
		user:    root.User,
		ttl:     cmp.Or(cfg.TTL, DefaultTTL),
		neg:     cmp.Or(cfg.NegativeTTL, DefaultNegativeTTL),
		timeout: cmp.Or(cfg.Timeout, DefaultTimeout),
		dir:     datadir.New(cmp.Or(cfg.DataDir, ".")),
		store:   store,
		log:     logger.With("component", "upstream"),
		now:     time.Now,
	}
	c.root.User = nil
	if cfg.Username != "" || cfg.Password != "" {
		c.user = url.UserPassword(cfg.Username, cfg.Password)
	}
	rt := cfg.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = c.timeout
		t.ResponseHeaderTimeout = c.timeout
		t.MaxIdleConnsPerHost = 16
		rt = t
	}
	c.client = &http.Client{Transport: rt}
	return c, nil
}

// ParseURL checks an upstream root URL: http or https, with a host, no
// query or fragment; it returns it with a trailing slash.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("upstream URL %q: want the http or https URL of a simple index, e.g. https://pypi.org/simple/", Redact(s))
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u, nil
}

// Redact hides the password in an upstream URL, for logs.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// TTL is how long a cached page is served without asking the upstream.
func (c *Cache) TTL() time.Duration { return c.ttl }

// Hit counts a request answered from the cache alone.
func (c *Cache) Hit() { c.hits.Add(1) }

// Run adds the request counters to the database every few seconds until
// ctx is done, and once more then.
func (c *Cache) Run(ctx context.Context) error {
	t := time.NewTicker(statsEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			c.FlushStats(fctx)
			cancel()
			return nil
		case <-t.C:
			c.FlushStats(ctx)
		}
	}
}

// FlushStats adds the counters gathered since the last call to the
// database; on failure they are kept for the next call.
func (c *Cache) FlushStats(ctx context.Context) {
	h, m, s := c.hits.Swap(0), c.misses.Swap(0), c.staleServed.Swap(0)
	if h == 0 && m == 0 && s == 0 {
		return
	}
	if err := c.store.AddUpstreamStats(ctx, h, m, s); err != nil {
		c.hits.Add(h)
		c.misses.Add(m)
		c.staleServed.Add(s)
		if !errors.Is(err, context.Canceled) {
			c.log.WarnContext(ctx, "upstream stats", "err", err)
		}
	}
}

// get sends a GET to the upstream with the credentials when u is on the
// upstream's host.
func (c *Cache) get(ctx context.Context, u *url.URL, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "cheeseshop (upstream cache)")
	if c.user != nil && u.Scheme == c.root.Scheme && u.Host == c.root.Host {
		pw, _ := c.user.Password()
		req.SetBasicAuth(c.user.Username(), pw)
	}
	return c.client.Do(req)
}

// upstreamError turns a failed exchange with the upstream into the refusal
// a client sees: 504 when it did not answer in time, 502 otherwise.
func (c *Cache) upstreamError(what string, err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &index.Error{Kind: index.ErrGatewayTimeout, Err: err,
			Message: fmt.Sprintf("The upstream index %s did not answer within %s (%s).", c.root.Redacted(), c.timeout, what)}
	}
	return &index.Error{Kind: index.ErrBadGateway, Err: err,
		Message: fmt.Sprintf("The upstream index %s cannot be reached or failed (%s).", c.root.Redacted(), what)}
}
