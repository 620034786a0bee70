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
	if err := fx.store.SetReadme(ctx, stale[0].ReleaseID, index.Readme{HTML: "<p>two</p>", Version: 3}); err != nil {
		t.Fatal(err)
	}
	if stale, err = fx.store.StaleReadmes(ctx, "demo", 3, 0, 10); err != nil || len(stale) != 0 {
		t.Fatalf("after SetReadme: %+v, %v", stale, err)
	}
}
