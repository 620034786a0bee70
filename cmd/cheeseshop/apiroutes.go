package main

import (
	"log/slog"

	"github.com/go-chi/chi/v5"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/jsonapi"
	"github.com/cheeseshop/cheeseshop/internal/manage"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// apiRoutes mounts the JSON API (/pypi/<p>/json) and the owners' endpoint
// (/manage/…) that serve adds next to the upload API and the pages.
func apiRoutes(dataDir, baseURL string, store *index.Store, pages *staticgen.Generator, authn *auth.Authenticator, log *slog.Logger) (func(chi.Router), error) {
	svc, err := manage.New(manage.Config{DataDir: dataDir}, store, pages, log)
	if err != nil {
		return nil, err
	}
	api := jsonapi.New(jsonapi.Config{BaseURL: baseURL}, store, log)
	mgmt := manage.NewHandler(svc, authn, log)
	return func(r chi.Router) {
		// GET, HEAD, OPTIONS (CORS preflight); it refuses other methods itself.
		r.Handle("/pypi/*", api)
		r.Handle("/manage/*", mgmt)
	}, nil
}
