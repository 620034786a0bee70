package index_test

import (
	"context"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

func TestReadmeStoredAndRerendered(t *testing.T) {
	t.Parallel()
	fx := newManageFixture(t)
	ctx := context.Background()
	// A release registered with a rendered README, and one uploaded without.
	if _, err := fx.store.RegisterRelease(ctx, index.NewRelease{Project: "demo", Version: mustVersion(t, "1.0"),
		Metadata:   index.Metadata{Name: "demo", Version: "1.0", Description: "# One", DescriptionContentType: "text/markdown"},
		Readme:     index.Readme{HTML: "<h1>One</h1>", Version: 3},
		Registrant: fx.alice}); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.upload(t, fx.alice, "demo", "2.0", "demo-2.0.tar.gz"); err != nil {
		t.Fatal(err)
	}
	stale, err := fx.store.StaleReadmes(ctx, "demo", 3, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) != 1 || stale[0].Version != "2.0" {
		t.Fatalf("stale at version 3: %+v", stale)
	}
	all, err := fx.store.StaleReadmes(ctx, "", 4, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Description != "# One" || all[0].ContentType != "text/markdown" {
		t.Fatalf("stale at version 4: %+v", all)
	}
	if more, err := fx.store.StaleReadmes(ctx, "", 4, all[1].ReleaseID, 10); err != nil || len(more) != 0 {
		t.Fatalf("after the last: %+v, %v", more, err)
	}
	if ok, err := fx.store.SetReadme(ctx, stale[0], index.Readme{HTML: "<p>two</p>", Version: 3}); err != nil || !ok {
		t.Fatalf("SetReadme: %v, %v", ok, err)
	}
	if stale, err = fx.store.StaleReadmes(ctx, "demo", 3, 0, 10); err != nil || len(stale) != 0 {
		t.Fatalf("after SetReadme: %+v, %v", stale, err)
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
	register := func(project, version, description string, rd index.Readme) {
		t.Helper()
		if _, err := fx.store.RegisterRelease(ctx, index.NewRelease{Project: project, Version: mustVersion(t, version),
			Metadata:   index.Metadata{Name: project, Version: version, Description: description, DescriptionContentType: "text/markdown"},
			Readme:     rd,
			Registrant: fx.alice}); err != nil {
			t.Fatal(err)
		}
	}
	pending := index.Readme{Version: index.ReadmePending}
	register("zeta", "1.0", "# Z", pending)
	register("alpha", "1.0", "# A", pending)
	register("alpha", "2.0", "# A2", pending)
	register("done", "1.0", "# D", index.Readme{HTML: "<h1>D</h1>", Version: 1})
	register("legacy", "1.0", "# L", index.Readme{}) // rendered by nothing yet: regenerate's, not serve's
	names, err := fx.store.PendingReadmeProjects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[0] != "alpha" || names[1] != "zeta" {
		t.Fatalf("pending projects: %v", names)
	}
	srcs, err := fx.store.StaleReadmes(ctx, "alpha", 0, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 2 || srcs[0].Description != "# A" || srcs[1].Version != "2.0" {
		t.Fatalf("pending of alpha: %+v", srcs)
	}
	// 1.0's description changes before its rendering is stored.
	register("alpha", "1.0", "# A, again", pending)
	if ok, err := fx.store.SetReadme(ctx, srcs[0], index.Readme{HTML: "<h1>A</h1>", Version: 1}); err != nil || ok {
		t.Fatalf("SetReadme from a replaced description: %v, %v", ok, err)
	}
	if ok, err := fx.store.SetReadme(ctx, srcs[1], index.Readme{HTML: "<h1>A2</h1>", Version: 1}); err != nil || !ok {
		t.Fatalf("SetReadme: %v, %v", ok, err)
	}
	if srcs, err = fx.store.StaleReadmes(ctx, "alpha", 0, 0, 10); err != nil || len(srcs) != 1 || srcs[0].Description != "# A, again" {
		t.Fatalf("pending of alpha after one was stored: %+v, %v", srcs, err)
	}
}
