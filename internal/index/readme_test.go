package index_test

import (
	"context"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// registerReadme registers a release of project whose Markdown description
// was rendered as rd.
func (fx *manageFixture) registerReadme(t *testing.T, project, version, description string, rd index.Readme) {
	t.Helper()
	if _, err := fx.store.RegisterRelease(context.Background(), index.NewRelease{Project: project, Version: mustVersion(t, version),
		Metadata:   index.Metadata{Name: project, Version: version, Description: description, DescriptionContentType: "text/markdown"},
		Readme:     rd,
		Registrant: fx.alice}); err != nil {
		t.Fatal(err)
	}
}

// staleReadmes is StaleReadmes, up to 10, failing the test on an error.
func (fx *manageFixture) staleReadmes(t *testing.T, name index.Normalized, version int, after int64) []index.ReadmeSource {
	t.Helper()
	srcs, err := fx.store.StaleReadmes(context.Background(), name, version, after, 10)
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}

func TestReadmeStoredAndRerendered(t *testing.T) {
	t.Parallel()
	fx := newManageFixture(t)
	ctx := context.Background()
	// A release registered with a rendered README, and one uploaded without.
	fx.registerReadme(t, "demo", "1.0", "# One", index.Readme{HTML: "<h1>One</h1>", Version: 3})
	if _, err := fx.upload(t, fx.alice, "demo", "2.0", "demo-2.0.tar.gz"); err != nil {
		t.Fatal(err)
	}
	stale := fx.staleReadmes(t, "demo", 3, 0)
	if len(stale) != 1 || stale[0].Version != "2.0" {
		t.Fatalf("stale at version 3: %+v", stale)
	}
	all := fx.staleReadmes(t, "", 4, 0)
	if len(all) != 2 || all[0].Description != "# One" || all[0].ContentType != "text/markdown" {
		t.Fatalf("stale at version 4: %+v", all)
	}
	if more := fx.staleReadmes(t, "", 4, all[1].ReleaseID); len(more) != 0 {
		t.Fatalf("after the last: %+v", more)
	}
	if ok, err := fx.store.SetReadme(ctx, stale[0], index.Readme{HTML: "<p>two</p>", Version: 3}); err != nil || !ok {
		t.Fatalf("SetReadme: %v, %v", ok, err)
	}
	if stale = fx.staleReadmes(t, "demo", 3, 0); len(stale) != 0 {
		t.Fatalf("after SetReadme: %+v", stale)
	}
}

// TestReadmePending: a release stored with its README left to render is
// found by PendingReadmeProjects and by StaleReadmes below version 0;
// a README rendered from a description a register replaced meanwhile is
// not stored.
func TestReadmePending(t *testing.T) {
	t.Parallel()
	fx := newManageFixture(t)
	ctx := context.Background()
	pending := index.Readme{Version: index.ReadmePending}
	fx.registerReadme(t, "zeta", "1.0", "# Z", pending)
	fx.registerReadme(t, "alpha", "1.0", "# A", pending)
	fx.registerReadme(t, "alpha", "2.0", "# A2", pending)
	fx.registerReadme(t, "done", "1.0", "# D", index.Readme{HTML: "<h1>D</h1>", Version: 1})
	fx.registerReadme(t, "legacy", "1.0", "# L", index.Readme{}) // rendered by nothing yet: regenerate's, not serve's
	names, err := fx.store.PendingReadmeProjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[0] != "alpha" || names[1] != "zeta" {
		t.Fatalf("pending projects: %v", names)
	}
	srcs := fx.staleReadmes(t, "alpha", 0, 0)
	if len(srcs) != 2 || srcs[0].Description != "# A" || srcs[1].Version != "2.0" {
		t.Fatalf("pending of alpha: %+v", srcs)
	}
	// 1.0's description changes before its rendering is stored.
	fx.registerReadme(t, "alpha", "1.0", "# A, again", pending)
	if ok, err := fx.store.SetReadme(ctx, srcs[0], index.Readme{HTML: "<h1>A</h1>", Version: 1}); err != nil || ok {
		t.Fatalf("SetReadme from a replaced description: %v, %v", ok, err)
	}
	if ok, err := fx.store.SetReadme(ctx, srcs[1], index.Readme{HTML: "<h1>A2</h1>", Version: 1}); err != nil || !ok {
		t.Fatalf("SetReadme: %v, %v", ok, err)
	}
	if srcs = fx.staleReadmes(t, "alpha", 0, 0); len(srcs) != 1 || srcs[0].Description != "# A, again" {
		t.Fatalf("pending of alpha after one was stored: %+v", srcs)
	}
}
