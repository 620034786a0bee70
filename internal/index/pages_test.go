package index_test

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

func (fx *mirrorFixture) pageSerial(t *testing.T, name string) int64 {
	t.Helper()
	var s int64
	if err := fx.store.Pool().QueryRow(context.Background(),
		`SELECT coalesce(page_serial, -1) FROM projects WHERE normalized = $1`, name).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// LockedProject records the serial fn saw once fn succeeds; InspectProject
// and a failing fn record nothing; StalePages lists exactly the projects
// whose record trails their last serial; MarkPageSerials only moves forward
// and never past the last serial.
func TestPageSerials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	fx.add(t, "alpha", 1)
	fx.add(t, "beta", 1)
	stale, err := fx.store.StalePages(ctx)
	if err != nil || len(stale) != 2 || stale[0].Name != "alpha" || stale[0].PageSerial != -1 {
		t.Fatalf("StalePages = %+v, %v", stale, err)
	}

	if err := fx.store.InspectProject(ctx, "alpha", func(index.ProjectState) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := fx.store.LockedProject(ctx, "alpha", func(index.ProjectState) error { return fmt.Errorf("disk full") }); err == nil {
		t.Fatal("fn's error was lost")
	}
	if got := fx.pageSerial(t, "alpha"); got != -1 {
		t.Fatalf("page_serial after a read and a failed write: %d", got)
	}
	var seen int64
	if err := fx.store.LockedProject(ctx, "alpha", func(st index.ProjectState) error {
		seen = st.Project.LastSerial
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := fx.pageSerial(t, "alpha"); got != seen || seen == 0 {
		t.Fatalf("page_serial %d, fn saw %d", got, seen)
	}
	stale, err = fx.store.StalePages(ctx)
	if err != nil || len(stale) != 1 || stale[0].Name != "beta" {
		t.Fatalf("StalePages = %+v, %v", stale, err)
	}

	beta, err := fx.store.Project(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	marks := []index.PageMark{{Name: "beta", Serial: beta.LastSerial + 5}} // ahead of the database: ignored
	if err := fx.store.MarkPageSerials(ctx, marks); err != nil {
		t.Fatal(err)
	}
	if got := fx.pageSerial(t, "beta"); got != -1 {
		t.Fatalf("a mark ahead of last_serial was taken: %d", got)
	}
	if err := fx.store.MarkPageSerials(ctx, []index.PageMark{{Name: "beta", Serial: beta.LastSerial}}); err != nil {
		t.Fatal(err)
	}
	if err := fx.store.MarkPageSerials(ctx, []index.PageMark{{Name: "beta", Serial: 1}}); err != nil {
		t.Fatal(err)
	}
	if got := fx.pageSerial(t, "beta"); got != beta.LastSerial {
		t.Fatalf("page_serial %d after marks, want %d", got, beta.LastSerial)
	}
	if stale, err := fx.store.StalePages(ctx); err != nil || len(stale) != 0 {
		t.Fatalf("StalePages = %+v, %v", stale, err)
	}
}

// Uploads and page rewrites racing on one project: every rewrite sees a
// state at least as new as the previous rewrite's, and the last rewrite
// after the last commit sees every file. That is the guarantee pages rest
// on; the advisory lock gives it across processes, as it does here across
// connections.
func TestLockedProjectNeverGoesBackwards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	fx.add(t, "race", 0)
	var (
		mu      sync.Mutex
		serials []int64 // in the order the rewrites ran, under the lock
		files   []int
	)
	rewrite := func() {
		err := fx.store.LockedProject(ctx, "race", func(st index.ProjectState) error {
			mu.Lock()
			serials = append(serials, st.Project.LastSerial)
			files = append(files, len(st.Files))
			mu.Unlock()
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
	const n = 40
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			fx.add(t, "race", i)
			rewrite()
		})
	}
	wg.Wait()
	for i := 1; i < len(serials); i++ {
		if serials[i] < serials[i-1] || files[i] < files[i-1] {
			t.Fatalf("rewrite %d saw serial %d with %d files after serial %d with %d files", i, serials[i], files[i], serials[i-1], files[i-1])
		}
	}
	if got := files[len(files)-1]; got != n+1 {
		t.Fatalf("the last rewrite saw %d files, want %d", got, n+1)
	}
	p, err := fx.store.Project(ctx, "race")
	if err != nil {
		t.Fatal(err)
	}
	if got := fx.pageSerial(t, "race"); got != p.LastSerial {
		t.Fatalf("page_serial %d, last_serial %d", got, p.LastSerial)
	}
}

// StreamRoot hands over every project in byte order of its normalized name
// (not the database collation's order), with its display name and last
// serial; LockedRoot, built on it, agrees; stopping early is clean.
func TestStreamRoot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	// Names of different lengths (fx.add derives the hash from it); "a-b"
	// and "a0" sort differently in byte order and in most collations.
	for _, p := range []string{"b", "Alpha", "a-b", "a0", "zeta", "Zz_Top", "1up.x.y"} {
		fx.add(t, p, 1)
	}
	fx.add(t, "b", 2)
	want := map[string]int64{}
	rows, err := fx.store.Pool().Query(ctx, `SELECT normalized, last_serial FROM projects`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		var s int64
		if err := rows.Scan(&n, &s); err != nil {
			t.Fatal(err)
		}
		want[n] = s
	}
	rows.Close()

	var got []index.Project
	var serial int64
	err = fx.store.StreamRoot(ctx, func(s int64, projects iter.Seq2[index.RootRow, error]) error {
		serial = s
		for r, err := range projects {
			if err != nil {
				return err
			}
			got = append(got, index.Project{Name: string(r.Name), Normalized: index.Normalized(r.Normalized), LastSerial: r.LastSerial})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, string(p.Normalized))
		if p.LastSerial != want[string(p.Normalized)] || p.LastSerial == 0 {
			t.Errorf("%s: last serial %d, want %d", p.Normalized, p.LastSerial, want[string(p.Normalized)])
		}
	}
	wantNames := []string{"1up-x-y", "a-b", "a0", "alpha", "b", "zeta", "zz-top"}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("order %v, want byte order %v", names, wantNames)
	}
	if got[3].Name != "Alpha" || got[6].Name != "Zz_Top" {
		t.Errorf("display names %q, %q", got[3].Name, got[6].Name)
	}
	var maxSerial int64
	for _, s := range want {
		maxSerial = max(maxSerial, s)
	}
	if serial < maxSerial {
		t.Errorf("global serial %d below a project's %d", serial, maxSerial)
	}

	if err := fx.store.LockedRoot(ctx, func(st index.RootState) error {
		if st.Serial != serial || !slices.Equal(st.Projects, got) {
			t.Errorf("LockedRoot = %d %+v, StreamRoot %d %+v", st.Serial, st.Projects, serial, got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Breaking out of the sequence ends the read; the store stays usable.
	if err := fx.store.StreamRoot(ctx, func(_ int64, projects iter.Seq2[index.RootRow, error]) error {
		for range projects {
			break
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.StalePages(ctx); err != nil {
		t.Fatal(err)
	}
}

// Page reads decode file rows from the driver's raw values; they must give
// exactly what the ordinary scan gives for every column pages use,
// including the upload time to the microsecond and non-ASCII text.
func TestPageReadMatchesScan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	a := fx.add(t, "alpha", 1)
	b := fx.add(t, "alpha", 2)
	if _, err := fx.store.Pool().Exec(ctx, `UPDATE files SET requires_python = '>=3.8, ≠3.9.*',
		metadata_sha256 = repeat('ab', 32), cdn_url = 'https://cdn.example/x/ü',
		upload_time = '1999-12-31 23:59:59.123456+00' WHERE filename = $1`, a); err != nil {
		t.Fatal(err)
	}
	full, err := fx.store.FilesByFilename(ctx, []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	var page []index.File
	if err := fx.store.InspectProject(ctx, "alpha", func(st index.ProjectState) error {
		page = slices.Clone(st.Files)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 {
		t.Fatalf("page read %d files, want 2", len(page))
	}
	if n := index.RawFallbacks(); n != 0 {
		t.Errorf("%d page reads fell back to the ordinary scan", n)
	}
	for _, p := range page {
		f := full[p.Filename]
		if p.ID != f.ID || p.ReleaseID != f.ReleaseID || p.ProjectID != f.ProjectID || p.Size != f.Size ||
			p.SHA256 != f.SHA256 || p.RequiresPython != f.RequiresPython || p.Path != f.Path ||
			p.MetadataSHA256 != f.MetadataSHA256 || p.CDNURL != f.CDNURL || !p.UploadTime.Equal(f.UploadTime) {
			t.Errorf("page read\n%+v\nscan\n%+v", p, f)
		}
	}
	want := time.Date(1999, 12, 31, 23, 59, 59, 123456000, time.UTC)
	for _, p := range page {
		if p.Filename == a && !p.UploadTime.Equal(want) {
			t.Errorf("upload time %v, want %v", p.UploadTime, want)
		}
	}
}

// AddFile's transaction (BEGIN pipelined with its first reads) commits
// only when everything, BeforeCommit last, succeeded: a failing
// BeforeCommit leaves no project, release, file or journal entry, and the
// pool's connections come back usable however often that happens.
func TestAddFileBeforeCommitRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	count := func() (n int) {
		if err := fx.store.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM projects) + (SELECT count(*) FROM releases)
			+ (SELECT count(*) FROM files) + (SELECT count(*) FROM journal)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	v, _ := index.ParseVersion("1.0")
	h := fmt.Sprintf("%064x", 77)
	nf := index.NewFile{Project: "rolled-back", Version: v, Uploader: fx.user,
		File: index.File{Filename: "rolled_back-1.0.tar.gz", Type: index.Sdist, PythonVersion: "source", Size: 3,
			SHA256: h, MD5: h[:32], Blake2b256: h, Path: datadir.PackagePath(h, "rolled_back-1.0.tar.gz")}}
	calls := 0
	nf.BeforeCommit = func() error { calls++; return fmt.Errorf("injected: the file did not reach the disk") }
	for range 20 {
		if _, err := fx.store.AddFile(ctx, nf); err == nil || !strings.Contains(err.Error(), "injected") {
			t.Fatalf("AddFile = %v, want the BeforeCommit error", err)
		}
	}
	if calls != 20 {
		t.Errorf("BeforeCommit called %d times, want 20", calls)
	}
	if n := count(); n != before {
		t.Fatalf("rows after failed commits: %d, before %d", n, before)
	}
	nf.BeforeCommit = func() error { calls++; return nil }
	res, err := fx.store.AddFile(ctx, nf)
	if err != nil || !res.NewProject {
		t.Fatalf("AddFile after the failures = %+v, %v", res, err)
	}
	if n := count(); n <= before {
		t.Errorf("the successful upload committed nothing")
	}
}

// ProjectNames lists by name (the order of a directory listing);
// ProjectNamesByAge in the order the projects were created.
func TestProjectNamesOrders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newMirrorFixture(t)
	created := []string{"zeta", "a", "mu", "beta-22", "bet"} // distinct lengths: fx.add's digests differ
	for _, n := range created {
		fx.add(t, n, 1)
	}
	tests := []struct {
		name string
		list func(context.Context) ([]index.Normalized, error)
		want []string
	}{
		{"by name", fx.store.ProjectNames, []string{"a", "bet", "beta-22", "mu", "zeta"}},
		{"by age", fx.store.ProjectNamesByAge, created},
	}
	for _, tt := range tests {
		got, err := tt.list(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range got {
			names = append(names, string(n))
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, names, tt.want)
		}
	}
}

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
		// A release's serial is the last journal entry naming it: every
		// release has one, and the release changed last has the
		// project's.
		var last int64
		for _, r := range st.Releases {
			if r.Serial <= 0 || r.Serial > st.Project.LastSerial {
				t.Errorf("%s %s: serial %d, project's %d", st.Project.Normalized, r.Version, r.Serial, st.Project.LastSerial)
			}
			last = max(last, r.Serial)
		}
		if last != st.Project.LastSerial {
			t.Errorf("%s: newest release serial %d, want the project's %d", st.Project.Normalized, last, st.Project.LastSerial)
		}
	}
}
