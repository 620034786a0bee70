package main

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/search"
	"github.com/cheeseshop/cheeseshop/internal/static"
)

var _ search.Store = (*index.Store)(nil)

// searchRoutes mounts search, the one page for people that needs the app:
// /search/ (sent with the headers of the static pages), and the XML-RPC
// search method at POST /pypi and /RPC2 for `pip search --index URL/pypi`.
// nginx and Apache pass all three to the app (their catch-all location).
func searchRoutes(store *index.Store, log *slog.Logger) func(chi.Router) {
	h := search.New(search.Config{Headers: static.WebSecurityHeaders}, store, log)
	return func(r chi.Router) {
		r.Handle("/search/", h.Page()) // GET and HEAD; it refuses other methods itself
		r.Get("/search", func(w http.ResponseWriter, req *http.Request) {
			u := "/search/"
			if req.URL.RawQuery != "" {
				u += "?" + req.URL.RawQuery
			}
			http.Redirect(w, req, u, http.StatusMovedPermanently)
		})
		r.Post("/pypi", h.RPC().ServeHTTP)
		r.Post("/RPC2", h.RPC().ServeHTTP)
	}
}
