package deploy

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/cheeseshop/cheeseshop/internal/cors"
)

// Defaults for the Config fields. They match a Debian machine where the web
// server owns port 80 and `cheeseshop serve` runs on its default address with
// the data directory the systemd unit in deploy/systemd creates.
const (
	DefaultListen      = "80"
	DefaultUpstream    = "127.0.0.1:8080"
	DefaultDataDir     = "/var/lib/cheeseshop"
	DefaultServerName  = "localhost"
	DefaultMaxFileSize = 100 << 20 // the app's default --max-file-size (PyPI's MAX_FILESIZE)
)

// bodyAllowance is what the web server lets through on top of the largest
// file. The app caps a whole upload body at the file limit plus 16 MiB of
// form fields plus 1 MiB (internal/upload); the web server's limit sits a
// little above that, so that the app, not the web server, refuses an oversized
// upload, with PyPI's message that twine shows.
const bodyAllowance = 20 << 20

// Config describes one deployment. Zero values mean the defaults above.
type Config struct {
	// Listen is where the web server listens: a port ("80") or host:port
	// ("127.0.0.1:8081", "[::1]:80").
	Listen string
	// Upstream is the address `cheeseshop serve` listens on, host:port.
	Upstream string
	// DataDir is the app's data directory, an absolute path; the web server
	// reads DataDir/simple and DataDir/packages.
	DataDir string
	// ServerName is the host name the virtual host answers to.
	ServerName string
	// MaxFileSize is the app's --max-file-size in bytes; it sets the request
	// body limit.
	MaxFileSize int64
}

// Regular expressions shared by the templates. Both servers use PCRE.
const (
	// acceptJSON matches an Accept header under which the JSON twin is sent:
	// one that names application/vnd.pypi.simple.v1+json or its meta-version
	// latest+json (PEP 691) without q=0. pip and uv name it first with q=1
	// and text/html with a lower q, and bandersnatch names it alone, so for
	// every real client this agrees with internal/static's negotiation; a
	// header that prefers text/html by q but still accepts JSON gets JSON
	// here, which the client said it can read. Matched case-insensitively.
	acceptJSON = `application/vnd\.pypi\.simple\.(?:v1|latest)\+json(?=\s*(?:[;,]|$))` +
		`(?![^,]*;\s*q\s*=\s*0(?:\.0{0,3})?\s*(?:[;,]|$))`
	// pagePath matches the URL paths of the pages on disk: /simple/ and
	// /simple/<normalized>/ with a PEP 503 normalized name (Apache). Anything
	// else under /simple (no trailing slash, a name to normalize) is the
	// app's: it answers with the redirect PyPI sends. nginx gets the same
	// split from a prefix location that appends the page's file name.
	pagePath = `^/simple/((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?/)?)$`
	// filePath matches the content-addressed layout
	// /packages/<h0:2>/<h2:4>/<h4:>/<filename> with a filename that is not a
	// dot-file (half-written temporary files are dot-files); the same shape
	// internal/static accepts.
	filePath = `^/packages/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]+/[^/.][^/]*$`
	// cachedPrefix is where Apache, as its own hot standby, serves the
	// pages of the upstream cache when the app is down (stale-if-error).
	cachedPrefix = "/.cheeseshop-cached"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.tmpl"))

// data is what the templates see: the config with its defaults filled in,
// split into the forms each server's syntax wants.
type data struct {
	Config
	NginxListen    string // "80", "127.0.0.1:8081"
	VHostAddr      string // "*:80", "127.0.0.1:8081"
	BodyLimit      int64  // bytes
	NginxBody      string // BodyLimit in nginx size syntax
	AcceptJSON     string
	PagePath       string
	CachedPath     string // PagePath below CachedPrefix
	CachedPrefix   string
	CachedPrefixRE string
	SelfAddr       string // VHostAddr as Apache reaches itself: its hot standby
	FilePath       string
	CORS           corsValues
	WebPath        string
	Web            webValues
}

// webValues are the security headers of the pages for people, the values
// internal/static sends (static.WebSecurityHeaders; a test in cmd keeps the
// two equal).
type webValues struct{ CSP, Referrer, Frame string }

// WebCSP, WebReferrer and WebFrame are those values.
const (
	WebCSP      = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	WebReferrer = "same-origin"
	WebFrame    = "DENY"
)

// webPath matches the URL of a project's or a release's page for people,
// capturing it whole: a normalised name, then optionally a version in PEP
// 440's normal form (no leading dot, so never "..").
const webPath = `^(/project/[a-z0-9][a-z0-9-]*/(?:[0-9a-z!+][0-9a-z.!+]*/)?)$`

// corsValues are the CORS header values the app sends (internal/cors).
type corsValues struct{ AllowOrigin, AllowMethods, AllowHeaders, MaxAge string }

// Nginx writes an nginx configuration for cfg to w: a map (PEP 691
// negotiation) and a server block, for inclusion in the http context.
func Nginx(w io.Writer, cfg Config) error { return render(w, "nginx.conf.tmpl", cfg) }

// Apache writes an Apache httpd 2.4 <VirtualHost> for cfg to w. The modules it
// needs are named in its opening comment.
func Apache(w io.Writer, cfg Config) error { return render(w, "apache.conf.tmpl", cfg) }

func render(w io.Writer, name string, cfg Config) error {
	d, err := prepare(cfg)
	if err != nil {
		return err
	}
	// Render fully before writing, so a template error never leaves half a
	// configuration on the operator's terminal or in a file.
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, d); err != nil {
		return fmt.Errorf("deploy: render %s: %w", name, err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// prepare fills in the defaults and checks cfg, reporting every problem at
// once. Values end up inside configuration syntax, so anything that could
// break out of a directive (quotes, semicolons, braces, whitespace, `$`) is
// refused rather than escaped.
func prepare(cfg Config) (data, error) {
	cfg.Listen = cmp.Or(cfg.Listen, DefaultListen)
	cfg.Upstream = cmp.Or(cfg.Upstream, DefaultUpstream)
	cfg.DataDir = cmp.Or(cfg.DataDir, DefaultDataDir)
	cfg.ServerName = cmp.Or(cfg.ServerName, DefaultServerName)
	if cfg.MaxFileSize == 0 {
		cfg.MaxFileSize = DefaultMaxFileSize
	}

	var errs []error
	d := data{AcceptJSON: acceptJSON, PagePath: pagePath, FilePath: filePath,
		CachedPrefix: cachedPrefix, CachedPrefixRE: regexp.QuoteMeta(cachedPrefix),
		CachedPath: "^" + regexp.QuoteMeta(cachedPrefix) + strings.TrimPrefix(pagePath, "^"), CORS: corsValues{
			AllowOrigin: cors.AllowOrigin, AllowMethods: cors.AllowMethods, AllowHeaders: cors.AllowHeaders,
			MaxAge: cors.MaxAge,
		}, WebPath: webPath, Web: webValues{CSP: WebCSP, Referrer: WebReferrer, Frame: WebFrame}}
	if host, port, err := splitListen(cfg.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen address %q: %w", cfg.Listen, err))
	} else if host == "" {
		d.NginxListen, d.VHostAddr = port, "*:"+port
		d.SelfAddr = net.JoinHostPort("127.0.0.1", port)
	} else {
		d.NginxListen = net.JoinHostPort(host, port)
		d.VHostAddr = d.NginxListen
		d.SelfAddr = d.NginxListen
		switch host {
		case "0.0.0.0":
			d.SelfAddr = net.JoinHostPort("127.0.0.1", port)
		case "::":
			d.SelfAddr = net.JoinHostPort("::1", port)
		}
	}
	if host, port, err := net.SplitHostPort(cfg.Upstream); err != nil || host == "" {
		errs = append(errs, fmt.Errorf("upstream %q: want host:port of `cheeseshop serve`, e.g. %s", cfg.Upstream, DefaultUpstream))
	} else if err := checkHostPort(host, port); err != nil {
		errs = append(errs, fmt.Errorf("upstream %q: %w", cfg.Upstream, err))
	} else {
		cfg.Upstream = net.JoinHostPort(host, port)
	}
	if err := checkDataDir(cfg.DataDir); err != nil {
		errs = append(errs, fmt.Errorf("data directory %q: %w", cfg.DataDir, err))
	} else {
		cfg.DataDir = filepath.Clean(cfg.DataDir)
	}
	if !serverNameRE.MatchString(cfg.ServerName) {
		errs = append(errs, fmt.Errorf("server name %q: want a host name such as pypi.example.com", cfg.ServerName))
	}
	if cfg.MaxFileSize < 0 {
		errs = append(errs, fmt.Errorf("max file size %d: must be positive", cfg.MaxFileSize))
	}
	if len(errs) > 0 {
		return data{}, fmt.Errorf("deploy: %w", errors.Join(errs...))
	}
	d.Config = cfg
	d.BodyLimit = cfg.MaxFileSize + bodyAllowance
	d.NginxBody = strconv.FormatInt(d.BodyLimit, 10)
	if d.BodyLimit%(1<<20) == 0 {
		d.NginxBody = strconv.FormatInt(d.BodyLimit>>20, 10) + "m"
	}
	return d, nil
}

// splitListen splits "PORT" or "HOST:PORT"; host is "" for all addresses.
func splitListen(s string) (host, port string, err error) {
	if isPort(s) {
		return "", s, checkHostPort("", s)
	}
	host, port, err = net.SplitHostPort(s)
	if err != nil {
		return "", "", errors.New("want PORT or HOST:PORT, e.g. 80 or 127.0.0.1:8081")
	}
	if host == "*" || host == "" {
		return "", port, checkHostPort("", port)
	}
	return host, port, checkHostPort(host, port)
}

func isPort(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// hostRE accepts IP addresses (v6 without brackets) and DNS names.
var hostRE = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$`)

// serverNameRE accepts a DNS name, optionally with a leading wildcard label,
// as both nginx's server_name and Apache's ServerName understand it.
var serverNameRE = regexp.MustCompile(`^(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$`)

func checkHostPort(host, port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || !isPort(port) || n < 1 || n > 65535 {
		return fmt.Errorf("port %q: want 1 to 65535", port)
	}
	if host != "" && !hostRE.MatchString(host) {
		return fmt.Errorf("host %q: want an IP address or a host name", host)
	}
	return nil
}

func checkDataDir(dir string) error {
	if !filepath.IsAbs(dir) {
		return errors.New("must be an absolute path")
	}
	if filepath.Clean(dir) == "/" {
		return errors.New("must not be the root directory")
	}
	for _, r := range dir {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`"'\;{}$%#<>`+"`", r) {
			return fmt.Errorf("contains %q, which web server configurations cannot hold safely", r)
		}
	}
	return nil
}
