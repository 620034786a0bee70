package index_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// searchProject is a project with one release per summary, oldest first.
func searchProject(name string, summaries ...string) index.ProjectState {
	st := index.ProjectState{Project: index.Project{Name: name, Normalized: index.Normalize(name), CreatedAt: time.Now()}}
	for i, s := range summaries {
		v := fmt.Sprintf("%d.0", i+1)
		st.Releases = append(st.Releases, index.Release{ID: int64(i + 1), Version: v, Canonical: fmt.Sprint(i + 1),
			CreatedAt: time.Now(), Metadata: index.Metadata{Name: name, Version: v, Summary: s}})
	}
	return st
}

func newSearchStore(t *testing.T) *index.Store {
	t.Helper()
	fx := newManageFixture(t)
	states := []index.ProjectState{
		searchProject("requests", "Python HTTP for Humans."),
		searchProject("requests-toolbelt", "A utility belt for advanced users of python-requests"),
		searchProject("httpx", "The next generation HTTP client."),
		searchProject("Django", "A high-level Python web framework"),
		searchProject("django-rest-framework", "Web APIs for Django, made easy."),
		searchProject("flask", "Old summary about cheese", "A simple framework for building complex web applications."),
		searchProject("cheese.shop", "Sells wensleydale"),
	}
	for i := range 45 {
		states = append(states, searchProject(fmt.Sprintf("page-%02d", i), "paging fixture"))
	}
	if err := fx.store.BulkInsert(context.Background(), states); err != nil {
		t.Fatal(err)
	}
	return fx.store
}

func hitNames(r index.SearchResult) []string {
	var out []string
	for _, h := range r.Hits {
		out = append(out, string(h.Normalized))
	}
	return out
}

func TestSearch(t *testing.T) {
	t.Parallel()
	store := newSearchStore(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		q       string
		page    int
		perPage int
		first   []string // the first hits, in order
		has     []string // hits anywhere
		hasNot  []string
		total   int // -1: don't check
	}{
		{name: "exact first", q: "requests", first: []string{"requests", "requests-toolbelt"}, total: 2},
		{name: "exact, not normalised", q: "Cheese_Shop", first: []string{"cheese-shop"}, total: -1},
		{name: "exact beats name words", q: "django", first: []string{"django", "django-rest-framework"}, total: 2},
		{name: "summary words", q: "humans", first: []string{"requests"}, total: 1},
		{name: "summary stemmed", q: "framework", has: []string{"django", "flask", "django-rest-framework"}, total: 3},
		{name: "name before summary", q: "http", first: []string{"httpx", "requests"}, total: 2},
		{name: "latest summary only", q: "cheese", first: []string{"cheese-shop"}, hasNot: []string{"flask"}, total: -1},
		{name: "several words", q: "web framework python", first: []string{"django"}, total: 1},
		{name: "negation", q: `framework -django`, first: []string{"flask"}, total: 1},
		{name: "phrase", q: `"complex web"`, first: []string{"flask"}, total: 1},
		{name: "typo in name", q: "reqests", has: []string{"requests", "requests-toolbelt"}, total: -1},
		{name: "typo, prefix", q: "djang", has: []string{"django"}, total: -1},
		{name: "nothing", q: "zzzyzzx", total: 0},
		{name: "blank", q: "   ", total: 0},
		{name: "stop words only", q: "the and", total: 0},
		{name: "syntax", q: `"" - or ! & | : * ( ) \ '`, total: -1},
		{name: "sql", q: `'; DROP TABLE projects; --`, total: -1},
		{name: "unicode", q: "Käse 日本語 🧀", total: 0},
		{name: "page 1", q: "paging", perPage: 20, first: []string{"page-00", "page-01"}, total: 45},
		{name: "page 3", q: "paging", page: 3, perPage: 20, first: []string{"page-40", "page-41", "page-42", "page-43", "page-44"}, total: 45},
		{name: "past the end", q: "paging", page: 4, perPage: 20, total: 45},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, perPage := max(tc.page, 1), cmpOr(tc.perPage, 20)
			res, err := store.Search(ctx, tc.q, page, perPage)
			if err != nil {
				t.Fatal(err)
			}
			got := hitNames(res)
			if len(got) < len(tc.first) || !slices.Equal(got[:len(tc.first)], tc.first) {
				t.Errorf("hits %v, want first %v", got, tc.first)
			}
			for _, n := range tc.has {
				if !slices.Contains(got, n) {
					t.Errorf("hits %v lack %s", got, n)
				}
			}
			for _, n := range tc.hasNot {
				if slices.Contains(got, n) {
					t.Errorf("hits %v have %s", got, n)
				}
			}
			if tc.total >= 0 && res.Total != tc.total {
				t.Errorf("total %d, want %d (hits %v)", res.Total, tc.total, got)
			}
			if len(res.Hits) > perPage {
				t.Errorf("%d hits on a page of %d", len(res.Hits), perPage)
			}
			if tc.page == 3 && len(got) != 5 {
				t.Errorf("last page has %v", got)
			}
		})
	}
	res, err := store.Search(ctx, "requests", 1, 20)
	if err != nil {
		t.Fatal(err)
	}
	if h := res.Hits[0]; h.Name != "requests" || h.Version != "1.0" || h.Summary != "Python HTTP for Humans." {
		t.Errorf("first hit %+v", h)
	}
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func TestSearchRefuses(t *testing.T) {
	t.Parallel()
	store := newSearchStore(t)
	for _, tc := range []struct {
		name          string
		q             string
		page, perPage int
		msg           string
	}{
		{"NUL", "req\x00uests", 1, 20, "The search query contains a NUL byte."},
		{"invalid UTF-8", "req\xffuests", 1, 20, "The search query is not valid UTF-8."},
		{"too long", strings.Repeat("é", index.MaxSearchQuery+1), 1, 20, "at most 200 are searched for"},
		{"page 0", "x", 0, 20, "The page must be a number from 1 to 25."},
		{"page too far", "x", 26, 20, "The page must be a number from 1 to 25."},
		{"page negative", "x", -1 << 62, 20, "from 1 to"},
		{"page huge", "x", 1 << 62, 20, "from 1 to"},
		{"per page 0", "x", 1, 0, "1 to 100 projects"},
		{"per page huge", "x", 1, 1 << 30, "1 to 100 projects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Search(context.Background(), tc.q, tc.page, tc.perPage)
			if !errors.Is(err, index.ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
			if msg, _ := index.PublicMessage(err); !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q, want %q", msg, tc.msg)
			}
		})
	}
	// The longest query allowed is searched for.
	if _, err := store.Search(context.Background(), strings.Repeat("ab ", index.MaxSearchQuery/3), 1, 20); err != nil {
		t.Errorf("longest query: %v", err)
	}
}

// TestSearchFollowsReleases: the summary and version searched are the
// latest release's, kept up to date by the transactions that change
// releases.
func TestSearchFollowsReleases(t *testing.T) {
	t.Parallel()
	fx := newManageFixture(t)
	ctx := context.Background()
	register := func(version, summary string) {
		t.Helper()
		if _, err := fx.store.RegisterRelease(ctx, index.NewRelease{Project: "brie", Version: mustVersion(t, version),
			Metadata: index.Metadata{Name: "brie", Version: version, Summary: summary}, Registrant: fx.alice}); err != nil {
			t.Fatal(err)
		}
	}
	want := func(q, version string) {
		t.Helper()
		res, err := fx.store.Search(ctx, q, 1, 20)
		if err != nil {
			t.Fatal(err)
		}
		if version == "" {
			if len(res.Hits) != 0 {
				t.Errorf("%q: hits %+v, want none", q, res.Hits)
			}
			return
		}
		if len(res.Hits) != 1 || res.Hits[0].Version != version {
			t.Errorf("%q: hits %+v, want brie %s", q, res.Hits, version)
		}
	}
	register("1.0", "soft cheese")
	want("soft", "1.0")
	register("2.0", "creamy cheese")
	want("creamy", "2.0")
	want("soft", "")
	register("1.5", "backport")
	want("creamy", "2.0") // an older version uploaded later is not the latest
	register("3.0rc1", "pre-release")
	want("creamy", "2.0") // nor is a pre-release
	if _, err := fx.store.YankRelease(ctx, "brie", "2.0", "bad", "alice"); err != nil {
		t.Fatal(err)
	}
	want("backport", "1.5")
	if _, err := fx.store.DeleteRelease(ctx, "brie", "1.5", "alice"); err != nil {
		t.Fatal(err)
	}
	want("soft", "1.0")
	// The display name follows the last upload's.
	if _, err := fx.store.RegisterRelease(ctx, index.NewRelease{Project: "Brie", Version: mustVersion(t, "1.1"),
		Metadata: index.Metadata{Name: "Brie", Version: "1.1", Summary: "soft again"}, Registrant: fx.alice}); err != nil {
		t.Fatal(err)
	}
	if res, err := fx.store.Search(ctx, "brie", 1, 20); err != nil || len(res.Hits) != 1 || res.Hits[0].Name != "Brie" || res.Hits[0].Version != "1.1" {
		t.Errorf("after a new display name: %+v, %v", res.Hits, err)
	}
	// Release segments compare as numbers, and an epoch above all.
	register("9.0", "nine")
	register("10.0", "ten")
	want("ten", "10.0")
	register("1!0.1", "epoch")
	want("epoch", "1!0.1")
}

// ReleaseDetails gives each asked release's own metadata, once.
func TestReleaseDetails(t *testing.T) {
	t.Parallel()
	fx := newManageFixture(t)
	ctx := context.Background()
	for _, v := range []string{"1.0", "2.0", "1.5"} {
		if _, err := fx.store.RegisterRelease(ctx, index.NewRelease{Project: "brie", Version: mustVersion(t, v),
			Metadata: index.Metadata{Name: "brie", Version: v, Summary: "summary of " + v}, Registrant: fx.alice}); err != nil {
			t.Fatal(err)
		}
	}
	if err := fx.store.InspectProject(ctx, "brie", func(st index.ProjectState) error {
		byVersion := map[string]int64{}
		var all []int64
		for _, r := range st.Releases {
			byVersion[r.Version] = r.ID
			all = append(all, r.ID)
		}
		for _, ids := range [][]int64{all, {byVersion["1.0"]}, {byVersion["2.0"], byVersion["1.5"]}, nil} {
			ds, err := st.ReleaseDetails(ctx, ids)
			if err != nil {
				return err
			}
			got := map[int64]string{}
			for _, d := range ds {
				got[d.ID] = d.Metadata.Summary
			}
			if len(ds) != len(ids) || len(got) != len(ids) {
				t.Errorf("asked for %d releases, got %d details (%d distinct)", len(ids), len(ds), len(got))
			}
			for v, id := range byVersion {
				if s, ok := got[id]; ok && s != "summary of "+v {
					t.Errorf("release %s: summary %q", v, s)
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
