package index_test

import (
	"context"
	"errors"
	stdmaps "maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

func TestSelectPrune(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	// rel makes a release uploaded daysAgo days before now.
	rel := func(id int64, version string, daysAgo int) index.Release {
		return index.Release{ID: id, Version: version, CreatedAt: now.AddDate(0, 0, -daysAgo)}
	}
	releases := []index.Release{
		rel(1, "1.0", 30), rel(2, "1.1.dev1", 29), rel(3, "1.1.dev2", 28), rel(4, "1.1a1", 27),
		rel(5, "1.1.dev3", 26), rel(6, "1.1rc1", 25), rel(7, "1.1", 20), rel(8, "2.0.dev1", 10),
		rel(9, "2.0.dev2", 1), rel(10, "not a version", 30),
	}
	tests := []struct {
		name   string
		policy index.Retention
		want   []string
	}{
		{"dev keep 0 any age: all dev but the latest", index.Retention{Keep: 0, Match: index.MatchDev}, []string{"2.0.dev1", "1.1.dev3", "1.1.dev2", "1.1.dev1"}},
		{"dev keep 2", index.Retention{Keep: 2, Match: index.MatchDev}, []string{"1.1.dev3", "1.1.dev2", "1.1.dev1"}},
		{"dev keep 1 older than 27 days", index.Retention{Keep: 1, Match: index.MatchDev, OlderThan: 27 * 24 * time.Hour}, []string{"1.1.dev2", "1.1.dev1"}},
		{"pre keep 2", index.Retention{Keep: 2, Match: index.MatchPre}, []string{"1.1rc1", "1.1a1", "1.1.dev3", "1.1.dev2", "1.1.dev1"}},
		{"all keep 3", index.Retention{Keep: 3, Match: index.MatchAll}, []string{"1.1rc1", "1.1a1", "1.1.dev3", "1.1.dev2", "1.1.dev1", "1.0"}},
		{"keep more than there are", index.Retention{Keep: 50, Match: index.MatchAll}, nil},
		{"all too young", index.Retention{Keep: 0, Match: index.MatchAll, OlderThan: 365 * 24 * time.Hour}, nil},
		{"all keep 0: only the latest stays", index.Retention{Keep: 0, Match: index.MatchAll},
			[]string{"2.0.dev1", "1.1", "1.1rc1", "1.1a1", "1.1.dev3", "1.1.dev2", "1.1.dev1", "1.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, r := range index.SelectPrune(releases, tt.policy, now) {
				got = append(got, r.Version)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("pruned %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRetentionCheck(t *testing.T) {
	t.Parallel()
	for _, r := range []index.Retention{
		{Keep: -1, Match: index.MatchDev},
		{Keep: 1, Match: "nightly"},
		{Keep: 1, Match: index.MatchDev, OlderThan: -time.Second},
	} {
		if err := r.Check(); !errors.Is(err, index.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", r, err)
		}
	}
	if err := (index.Retention{Keep: 0, Match: index.MatchAll}).Check(); err != nil {
		t.Errorf("keep 0, all: %v", err)
	}
}

// tableCounts counts the rows a prune touches, to show a dry run touches none.
func tableCounts(t *testing.T, fx *manageFixture) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range []string{"releases", "files", "journal", "deleted_filenames", "projects WHERE last_serial > 0"} {
		var n int64
		q := "SELECT count(*) FROM " + table
		if table == "journal" {
			q = "SELECT coalesce(max(id), 0) + count(*) FROM journal"
		}
		if err := fx.store.Pool().QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	var serial int64
	if err := fx.store.Pool().QueryRow(context.Background(), `SELECT last_serial FROM projects WHERE normalized = 'nightly'`).Scan(&serial); err != nil {
		t.Fatal(err)
	}
	out["serial"] = serial
	return out
}

func TestPruneProject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newManageFixture(t)
	versions := []string{"1.0", "2.0", "3.0.dev1", "3.0.dev2", "3.0.dev3", "3.0.dev4"}
	for _, v := range versions {
		for _, suffix := range []string{".tar.gz", "-py3-none-any.whl"} {
			if _, err := fx.upload(t, fx.alice, "nightly", v, "nightly-"+v+suffix); err != nil {
				t.Fatal(err)
			}
		}
	}
	policy := index.Retention{Keep: 1, Match: index.MatchDev}

	before := tableCounts(t, fx)
	dry, err := fx.store.PruneProject(ctx, "nightly", policy, true, "")
	if err != nil {
		t.Fatal(err)
	}
	if after := tableCounts(t, fx); !stdmaps.Equal(before, after) {
		t.Errorf("dry run changed the database: %v, then %v", before, after)
	}
	if dry.Changed || len(dry.Removed) != 0 {
		t.Errorf("dry run: changed %v, removed %v", dry.Changed, dry.Removed)
	}
	var got []string
	for _, r := range dry.Releases {
		got = append(got, r.Version+":"+strings.Join(fileNames(r.Files), ","))
	}
	want := []string{
		"3.0.dev3:nightly-3.0.dev3-py3-none-any.whl,nightly-3.0.dev3.tar.gz",
		"3.0.dev2:nightly-3.0.dev2-py3-none-any.whl,nightly-3.0.dev2.tar.gz",
		"3.0.dev1:nightly-3.0.dev1-py3-none-any.whl,nightly-3.0.dev1.tar.gz",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("dry run lists %q, want %q", got, want)
	}

	res, err := fx.store.PruneProject(ctx, "nightly", policy, false, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || len(res.Removed) != 6 || len(res.Releases) != 3 {
		t.Fatalf("prune: changed %v, %d files, %d releases", res.Changed, len(res.Removed), len(res.Releases))
	}
	after := tableCounts(t, fx)
	if after["releases"] != before["releases"]-3 || after["files"] != before["files"]-6 || after["deleted_filenames"] != before["deleted_filenames"]+6 {
		t.Errorf("rows before %v, after %v", before, after)
	}
	if res.Project.LastSerial != after["serial"] || after["serial"] <= before["serial"] {
		t.Errorf("serial %d, project's %d, before %d", res.Project.LastSerial, after["serial"], before["serial"])
	}
	// One journal entry per file and one per release, by whoever pruned.
	var entries int
	if err := fx.store.Pool().QueryRow(ctx, `SELECT count(*) FROM journal WHERE name = 'nightly' AND submitted_by = 'alice'
		AND (action = 'remove release' OR action LIKE 'remove file nightly-3.0.dev%')`).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if entries != 9 {
		t.Errorf("%d journal entries, want 9", entries)
	}
	// Filenames are tombstoned: the same bytes under the same name are refused.
	if _, err := fx.upload(t, fx.alice, "nightly", "3.0.dev1", "nightly-3.0.dev1.tar.gz"); !errors.Is(err, index.ErrInvalid) && !errors.Is(err, index.ErrExists) {
		t.Errorf("re-upload of a pruned filename: %v", err)
	}
	again, err := fx.store.PruneProject(ctx, "nightly", policy, false, "")
	if err != nil || again.Changed || len(again.Releases) != 0 {
		t.Errorf("second prune: %+v, %v", again, err)
	}
	if _, err := fx.store.PruneProject(ctx, "nope", policy, true, ""); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("unknown project: %v", err)
	}
}

func TestRetentionPolicies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newManageFixture(t)
	for _, p := range []string{"beta", "alpha"} {
		if _, err := fx.upload(t, fx.alice, p, "1.0", p+"-1.0.tar.gz"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fx.store.SetRetention(ctx, "nope", index.Retention{Match: index.MatchDev}); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("unknown project: %v", err)
	}
	if _, err := fx.store.SetRetention(ctx, "alpha", index.Retention{Keep: -2, Match: index.MatchDev}); !errors.Is(err, index.ErrInvalid) {
		t.Errorf("bad policy: %v", err)
	}
	a := index.Retention{Keep: 3, Match: index.MatchDev, OlderThan: 720 * time.Hour}
	b := index.Retention{Keep: 0, Match: index.MatchPre}
	for p, r := range map[index.Normalized]index.Retention{"alpha": {Keep: 9, Match: index.MatchAll}, "beta": b} {
		if _, err := fx.store.SetRetention(ctx, p, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fx.store.SetRetention(ctx, "alpha", a); err != nil { // replaces
		t.Fatal(err)
	}
	list, err := fx.store.RetentionPolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []index.ProjectRetention{{Project: "alpha", Retention: a}, {Project: "beta", Retention: b}}; !slices.Equal(list, want) {
		t.Errorf("policies %+v, want %+v", list, want)
	}
	if had, err := fx.store.ClearRetention(ctx, "alpha"); err != nil || !had {
		t.Errorf("clear: %v, %v", had, err)
	}
	if had, err := fx.store.ClearRetention(ctx, "alpha"); err != nil || had {
		t.Errorf("clear again: %v, %v", had, err)
	}
	if _, ok, err := fx.store.RetentionPolicy(ctx, "alpha"); err != nil || ok {
		t.Errorf("alpha's policy after clear: %v, %v", ok, err)
	}
	if r, ok, err := fx.store.RetentionPolicy(ctx, "beta"); err != nil || !ok || r != b {
		t.Errorf("beta's policy: %+v, %v, %v", r, ok, err)
	}
}

func fileNames(refs []index.FileRef) []string {
	var out []string
	for _, f := range refs {
		out = append(out, f.Filename)
	}
	return out
}
