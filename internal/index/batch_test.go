package index_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// LockedProjects reads the same state LockedProject does for each project,
// leaves out names that do not exist, records every page serial when fn
// succeeds, and nothing when it fails.
func TestLockedProjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	fx.add(t, "alpha", 1)
	fx.add(t, "alpha", 2)
	fx.add(t, "beta", 1)
	fx.add(t, "gamma-delta", 3)
	names := []index.Normalized{"gamma-delta", "alpha", "missing", "beta", "alpha"}

	if err := fx.store.LockedProjects(ctx, names, func([]index.ProjectState) error { return fmt.Errorf("disk full") }); err == nil {
		t.Fatal("fn's error was lost")
	}
	if got := fx.pageSerial(t, "alpha"); got != -1 {
		t.Fatalf("page_serial after a failed batch: %d", got)
	}
	var got []index.ProjectState
	if err := fx.store.LockedProjects(ctx, names, func(sts []index.ProjectState) error {
		got = sts
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Project.Normalized != "alpha" || got[1].Project.Normalized != "beta" || got[2].Project.Normalized != "gamma-delta" {
		t.Fatalf("states for %v", got)
	}
	for _, st := range got {
		var one index.ProjectState
		if err := fx.store.InspectProject(ctx, st.Project.Normalized, func(s index.ProjectState) error {
			one = s // fn may not keep the slices: they are reused after it returns
			one.Releases, one.Files = slices.Clone(s.Releases), slices.Clone(s.Files)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// Both reads leave the order of releases and files to the renderer.
		for _, s := range []*index.ProjectState{&one, &st} {
			slices.SortFunc(s.Releases, func(a, b index.Release) int { return cmp.Compare(a.ID, b.ID) })
			slices.SortFunc(s.Files, func(a, b index.File) int { return cmp.Compare(a.ID, b.ID) })
		}
		if fmt.Sprint(index.WithoutDetails(one)) != fmt.Sprint(index.WithoutDetails(st)) {
			t.Errorf("%s: batch read\n%+v\nsingle read\n%+v", st.Project.Normalized, st, one)
		}
		if ps := fx.pageSerial(t, string(st.Project.Normalized)); ps != st.Project.LastSerial {
			t.Errorf("%s: page_serial %d, want %d", st.Project.Normalized, ps, st.Project.LastSerial)
		}
	}
}
