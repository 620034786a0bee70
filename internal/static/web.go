package static

import (
	"net/http"
	"os"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/httperr"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// WebSecurityHeaders are the headers every page for people is sent with:
// no script at all, nothing from another origin (images included: a
// README's remote badge shows its alt text), no framing, and no referrer
// beyond this origin. deploy's nginx and Apache configurations send the
// same values.
var WebSecurityHeaders = [][2]string{
	{"Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "same-origin"},
	{"X-Frame-Options", "DENY"},
}

// WebHandler serves the pages for people from DATA/web: / (the home page),
// /static/style.css, /project/<name>/ and /project/<name>/<version>/. A
// project name that is not normalised, or a version not in its normal
// form, is redirected (301) to its normal URL, as PyPI does; a path with
// no page gets the 404 page for people. It never touches the database.
func (s *Server) WebHandler() http.Handler { return http.HandlerFunc(s.serveWeb) }

func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		httperr.Write(w, r, s.logger, httperr.MethodNotAllowed(http.MethodGet, http.MethodHead))
		return
	}
	p := r.URL.Path
	switch {
	case p == "/":
		s.webFile(w, r, s.dir.WebHome(), "text/html; charset=utf-8")
	case p == "/static/"+datadir.StyleName:
		s.webFile(w, r, s.dir.WebStyle(), "text/css; charset=utf-8")
	case p == "/project" || p == "/project/":
		s.webNotFound(w, r)
	case strings.HasPrefix(p, "/project/"):
		s.serveProject(w, r, strings.TrimPrefix(p, "/project/"))
	default:
		s.webNotFound(w, r)
	}
}

func (s *Server) serveProject(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(rest, "/")
	// "name", "name/", "name/version", "name/version/"
	if n := len(parts); n > 0 && parts[n-1] == "" {
		parts = parts[:n-1]
	}
	if len(parts) == 0 || len(parts) > 2 || !index.ValidName(parts[0]) {
		s.webNotFound(w, r)
		return
	}
	name := index.Normalize(parts[0])
	version := ""
	if len(parts) == 2 {
		version = parts[1]
		if v, err := index.ParseVersion(version); err == nil {
			version = v.String()
		} else {
			s.webNotFound(w, r)
			return
		}
	}
	canonical := "/project/" + string(name) + "/"
	if version != "" {
		canonical += version + "/"
	}
	if r.URL.Path != canonical {
		http.Redirect(w, r, canonical, http.StatusMovedPermanently)
		return
	}
	path := s.dir.WebProjectPage(name)
	if version != "" {
		if !datadir.ValidVersionDir(version) {
			s.webNotFound(w, r)
			return
		}
		path = s.dir.WebReleasePage(name, version)
	}
	s.webFile(w, r, path, "text/html; charset=utf-8")
}

func setWebHeaders(h http.Header) {
	for _, kv := range WebSecurityHeaders {
		h.Set(kv[0], kv[1])
	}
}

// webFile serves one file of DATA/web with revalidation (its modification
// time and size make the ETag), or the 404 page when it is missing.
func (s *Server) webFile(w http.ResponseWriter, r *http.Request, path, contentType string) {
	f, err := datadir.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			s.webNotFound(w, r)
			return
		}
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		s.webNotFound(w, r)
		return
	}
	h := w.Header()
	setWebHeaders(h)
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", pageCacheControl)
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// webNotFound answers 404 with the page for people, or plain text when it
// has not been written yet.
func (s *Server) webNotFound(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	setWebHeaders(h)
	b, err := os.ReadFile(s.dir.WebNotFound())
	if err != nil {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("404 page not found\n")) //nolint:errcheck // the client went away
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		w.Write(b) //nolint:errcheck // the client went away
	}
}
