package main

import (
	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/jsonapi"
	"github.com/cheeseshop/cheeseshop/internal/manage"
	"github.com/cheeseshop/cheeseshop/internal/mirror"
	"github.com/cheeseshop/cheeseshop/internal/repair"
	"github.com/cheeseshop/cheeseshop/internal/static"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
	"github.com/cheeseshop/cheeseshop/internal/upload"
	"github.com/cheeseshop/cheeseshop/internal/upstream"
)

// Compile-time checks that the real things cmd passes (the store, the page
// generator, the authenticator, the upstream cache) satisfy the small
// interfaces each package declares for what it needs from another. They are
// kept together because cmd is the only place where those packages meet.
var (
	// serve: the upload API, the page generator and the authenticator.
	_ upload.Store    = (*index.Store)(nil)
	_ upload.Pages    = (*staticgen.Generator)(nil)
	_ staticgen.Store = (*index.Store)(nil)
	_ auth.Users      = (*index.Store)(nil)

	// The JSON API and the owners' endpoints (apiroutes.go), and the
	// commands that change a project (yank.go).
	_ jsonapi.Store        = (*index.Store)(nil)
	_ manage.Authenticator = (*auth.Authenticator)(nil)
	_ manage.Store         = (*index.Store)(nil)
	_ manage.Pages         = (*staticgen.Generator)(nil)

	// Start-up repair, the sweep, check and regenerate.
	_ repair.Store          = (*index.Store)(nil)
	_ repair.CheckStore     = (*index.Store)(nil)
	_ repair.Pages          = (*staticgen.Generator)(nil)
	_ repair.Renderer       = staticgen.Renderer{}
	_ repair.PeopleRenderer = staticgen.Renderer{}

	// The mirror worker.
	_ mirror.Store = (*index.Store)(nil)
	_ mirror.Pages = (*staticgen.Generator)(nil)

	// The upstream cache.
	_ upstream.Store      = (*index.Store)(nil)
	_ upstream.AdminStore = (*index.Store)(nil)
	_ static.Cache        = (*upstream.Cache)(nil)

	// Serve's README worker (readme.go).
	_ readmeStore = (*index.Store)(nil)
	_ readmePages = (*staticgen.Generator)(nil)
)
