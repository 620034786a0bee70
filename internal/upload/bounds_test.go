package upload

// Issue 14, items 8, 10 and 12: the memory an upload takes is bounded
// whatever the shape of its form or archive, and text PostgreSQL cannot
// store (a NUL byte, invalid UTF-8) is refused at the edge with a 400.
// Every hostile body and archive is built here, smaller than the
// reproducers but of the same shape.

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// maxArchiveHeapGrowth bounds the heap's rise while one archive is checked.
// Checking keeps a few buffers (gzip's window, 32 KiB copy buffers, one
// header of at most maxMemberHeaderBytes) whatever the archive holds; the
// rest is garbage not yet collected: each member's header makes some 20 KiB
// of it, and the collector, running concurrently, lets a few MiB pile up
// even at GOGC=10 (measured: 1 to 5 MiB, not growing with the member
// count). The archives below would keep 40 MiB and more if member names,
// or the zip's directory, were kept.
const maxArchiveHeapGrowth = 8 << 20

// longNameSdist is a valid .tar.gz sdist of top/PKG-INFO and members more
// files whose PAX path names are nameLen bytes long: the reproducer's shape
// (1,000 members with 1 MiB names), scaled to names an sdist may have.
func longNameSdist(t testing.TB, top string, members, nameLen int) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	add := func(name, body string) {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: fixedTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body) //nolint:errcheck // reported by Close
	}
	i := strings.LastIndexByte(top, '-')
	add(top+"/PKG-INFO", "Metadata-Version: 1.0\nName: "+top[:i]+"\nVersion: "+top[i+1:]+"\n")
	pad := strings.Repeat("d/", nameLen/2)
	for n := range members {
		name := fmt.Sprintf("%s/%d/", top, n)
		add(name+pad[:nameLen-len(name)-4]+".txt", "")
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// manyEntryWheel is a wheel with entries members besides its .dist-info
// files, each with an empty body and the shortest names.
func manyEntryWheel(t testing.TB, dist, version string, entries int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	di := dist + "-" + version + ".dist-info/"
	for _, m := range [][2]string{
		{di + "METADATA", wheelMetadata(dist, version)},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{di + "RECORD", ""},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m[0], Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, m[1]) //nolint:errcheck
	}
	for n := range entries {
		if _, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("%x", n), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestArchiveMemoryBounded checks archives of the hostile shapes directly,
// measuring the heap: an sdist of 10,000 members with names just under the
// limit (40 MB of names, accepted) and a wheel whose central directory has
// more entries than the limit (refused before archive/zip reads it). Not
// parallel: the heap is the whole process's.
func TestArchiveMemoryBounded(t *testing.T) {
	sdist := writeTemp(t, "demo-1.0.tar.gz", longNameSdist(t, "demo-1.0", 10_000, maxMemberNameBytes-8))
	var err error
	growth := peakHeapGrowth(func() { err = inspectSdist(sdist, "demo-1.0.tar.gz") })
	if err != nil {
		t.Errorf("sdist of long names: %v", err)
	}
	t.Logf("sdist of 10,000 members with 4 KiB names: heap peak %+d KiB", growth>>10)
	if growth > maxArchiveHeapGrowth {
		t.Errorf("checking an sdist of 10,000 long member names raised the heap by %d MiB; the bound is %d MiB", growth>>20, maxArchiveHeapGrowth>>20)
	}

	const wheelName = "demo-1.0-py3-none-any.whl"
	wheel := writeTemp(t, wheelName, manyEntryWheel(t, "demo", "1.0", maxZipEntries+1))
	wf, perr := index.ParseWheelFilename(wheelName)
	if perr != nil {
		t.Fatal(perr)
	}
	growth = peakHeapGrowth(func() { _, err = inspectWheel(wheel, wheelName, wf) })
	wantInvalid(t, err, fmt.Sprintf("Invalid distribution file. The zip has more than %d members", maxZipEntries))
	t.Logf("wheel of %d entries: heap peak %+d KiB", maxZipEntries+1, growth>>10)
	if growth > maxArchiveHeapGrowth {
		t.Errorf("checking a wheel of %d entries raised the heap by %d MiB; the bound is %d MiB", maxZipEntries+1, growth>>20, maxArchiveHeapGrowth>>20)
	}
}

// TestArchiveShapeLimits covers each limit on an archive's shape with the
// smallest archive that exceeds it, and shows one just inside each passes.
func TestArchiveShapeLimits(t *testing.T) {
	t.Parallel()
	longName := "demo-1.0/" + strings.Repeat("n", maxMemberNameBytes)
	cases := []struct {
		name, filename string
		data           []byte
		want           string // "" for accepted
	}{
		{name: "tar member name at the limit", filename: "demo-1.0.tar.gz",
			data: longNameSdist(t, "demo-1.0", 2, maxMemberNameBytes)},
		{name: "tar member name over the limit", filename: "demo-1.0.tar.gz",
			data: longNameSdist(t, "demo-1.0", 2, maxMemberNameBytes+1),
			want: "Invalid distribution file. Member name 'demo-1.0/0/" + strings.Repeat("d/", 24) + "d'... is longer than 4096 bytes"},
		{name: "tar PAX header over the limit", filename: "demo-1.0.tar.gz",
			data: longNameSdist(t, "demo-1.0", 2, 512<<10),
			want: "Invalid distribution file. The header of member 2 is larger than 64 KiB"},
		{name: "zip member name over the limit", filename: "demo-1.0.zip",
			data: buildZip(t, 0, archiveMember{name: "demo-1.0/PKG-INFO", body: "Name: demo\n"}, archiveMember{name: longName}),
			want: "Invalid distribution file. Member name '" + longName[:60] + "'... is longer than 4096 bytes"},
		{name: "zip directory larger than its limit", filename: "demo-1.0.zip",
			data: buildZip(t, 0, manyLongNames(maxZipDirectoryBytes/4000+1)...),
			want: "Invalid distribution file. The zip's central directory is larger than 16 MiB"},
		{name: "zip with entries at the limit", filename: "demo-1.0.zip",
			data: zipSdistEntries(t, maxZipEntries)},
		{name: "zip with entries over the limit", filename: "demo-1.0.zip",
			data: zipSdistEntries(t, maxZipEntries+1),
			want: "Invalid distribution file. The zip has more than 100000 members"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkSdist(t, c.filename, c.data, c.want) })
	}
}

// manyLongNames are n members of an sdist with 4000-byte names.
func manyLongNames(n int) []archiveMember {
	ms := []archiveMember{{name: "demo-1.0/PKG-INFO", body: "Name: demo\n"}}
	for i := range n {
		ms = append(ms, archiveMember{name: fmt.Sprintf("demo-1.0/%d/%s", i, strings.Repeat("n", 3980)), method: zip.Store})
	}
	return ms
}

// zipSdistEntries is a .zip sdist of demo-1.0/PKG-INFO and more entries,
// entries in all.
func zipSdistEntries(t *testing.T, entries int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "demo-1.0/PKG-INFO", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Name: demo\n") //nolint:errcheck
	for n := range entries - 1 {
		if _, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("demo-1.0/%x", n), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// --- end to end: the refusals, and nothing reaches the database ---

// textGuard is the real store, and the authenticator's user lookup, with
// every argument checked on the way: a value PostgreSQL could not store as
// text must never get this far (it would be a 500, SQLSTATE 22021).
type textGuard struct {
	*index.Store
	mu  sync.Mutex
	bad []string
}

func (g *textGuard) check(method string, args ...any) {
	s := fmt.Sprint(args...)
	if p := index.TextProblem(s); p != "" {
		g.mu.Lock()
		g.bad = append(g.bad, fmt.Sprintf("%s with text that %s: %q", method, p, s))
		g.mu.Unlock()
	}
}

// reached returns and forgets what reached the store that should not have.
func (g *textGuard) reached() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	bad := g.bad
	g.bad = nil
	return bad
}

func (g *textGuard) UserByName(ctx context.Context, name string) (index.User, error) {
	g.check("UserByName", name)
	return g.Store.UserByName(ctx, name)
}

func (g *textGuard) Project(ctx context.Context, n index.Normalized) (index.Project, error) {
	g.check("Project", n)
	return g.Store.Project(ctx, n)
}

func (g *textGuard) ProjectRole(ctx context.Context, n index.Normalized, user int64) (index.Project, string, error) {
	g.check("ProjectRole", n)
	return g.Store.ProjectRole(ctx, n, user)
}

func (g *textGuard) ExistingFile(ctx context.Context, filename, blake2 string) (index.FileRef, bool, bool, error) {
	g.check("ExistingFile", filename, blake2)
	return g.Store.ExistingFile(ctx, filename, blake2)
}

func (g *textGuard) AddFile(ctx context.Context, nf index.NewFile) (index.AddResult, error) {
	g.check("AddFile", nf.Project, nf.Version, nf.Metadata, nf.File)
	return g.Store.AddFile(ctx, nf)
}

func (g *textGuard) RegisterRelease(ctx context.Context, nr index.NewRelease) (index.AddResult, error) {
	g.check("RegisterRelease", nr.Project, nr.Version, nr.Metadata)
	return g.Store.RegisterRelease(ctx, nr)
}

// newGuardedHarness is newHarness (with the default file size limit) with
// the store behind a textGuard; it also returns the routes its server
// serves, for calling in-process.
func newGuardedHarness(t testing.TB) (*harness, *textGuard, http.Handler) {
	t.Helper()
	var guard *textGuard
	h, routes, _ := startHarness(t, Config{}, harnessOptions{wrap: func(s *index.Store) handlerStore {
		guard = &textGuard{Store: s}
		return guard
	}})
	return h, guard, routes
}

// boundsRefusals are the requests of items 8, 10 and 12, each a valid
// upload (or register) but for one defect, and the answer each must get.
func boundsRefusals(t *testing.T) []refusal {
	const w2name, s2name = "demo-2.0-py3-none-any.whl", "demo-2.0.tar.gz"
	w2 := wheelSpec{dist: "demo", version: "2.0"}.build(t)
	wheel2 := func() form { return twineForm("demo", "2.0", "bdist_wheel", "py3", w2name, w2) }
	sdistAs := func(data []byte) form { return twineForm("demo", "2.0", "sdist", "", s2name, data) }
	submit := func() form {
		return form{{name: ":action", value: "submit"}, {name: "metadata_version", value: "1.0"},
			{name: "name", value: "demo"}, {name: "version", value: "2.0"}}
	}
	// 1,001 parts with no name (the reproducer sent a million), after a
	// valid form.
	manyParts := wheel2()
	for range maxParts + 1 - len(manyParts) {
		manyParts = append(manyParts, part{})
	}
	longPAX := longNameSdist(t, "demo-2.0", 20, 256<<10)
	return []refusal{
		// Item 8: archives whose shape would take memory.
		{name: "item 8: sdist with 256 KiB PAX names", req: uploadRequest{form: sdistAs(longPAX)},
			status: 400, msg: "Invalid distribution file. The header of member 2 is larger than 64 KiB"},
		{name: "item 8: sdist with a 5000-byte member name", req: uploadRequest{form: sdistAs(longNameSdist(t, "demo-2.0", 3, 5000))},
			status: 400, msg: "Invalid distribution file. Member name 'demo-2.0/0/" + strings.Repeat("d/", 24) + "d'... is longer than 4096 bytes"},
		{name: "item 8: wheel with too many entries", req: uploadRequest{form: wheel2().withFile(w2name, manyEntryWheel(t, "demo", "2.0", maxZipEntries+1))},
			status: 400, msg: "Invalid distribution file. The zip has more than 100000 members"},

		// Item 10: NUL and invalid UTF-8.
		{name: "item 10: NUL in the user name", req: uploadRequest{form: wheel2(), user: "al\x00ice", password: alicePassword},
			status: 400, msg: "The user name in the credentials contains a NUL byte."},
		{name: "item 10: invalid UTF-8 in the user name", req: uploadRequest{form: wheel2(), user: "alice\xff", password: alicePassword},
			status: 400, msg: "The user name in the credentials is not valid UTF-8."},
		{name: "item 10: invalid UTF-8 in the user name, no password", req: uploadRequest{form: wheel2(), user: "\xc3", password: ""},
			status: 400, msg: "The user name in the credentials is not valid UTF-8."},
		{name: "item 10: invalid UTF-8 in a field", req: uploadRequest{form: wheel2().with("summary", "caf\xe9")},
			status: 400, msg: "The value of form field 'summary' is not valid UTF-8."},
		{name: "item 10: invalid UTF-8 in the description", req: uploadRequest{form: wheel2().with("description", "ok\n\xff\xfe")},
			status: 400, msg: "The value of form field 'description' is not valid UTF-8."},
		{name: "item 10: invalid UTF-8 in an unknown field", req: uploadRequest{form: wheel2().with("x_extra", "\xff")},
			status: 400, msg: "The value of form field 'x_extra' is not valid UTF-8."},
		{name: "item 10: invalid UTF-8 in a field name", req: uploadRequest{form: wheel2().with("summ\xffary", "x")},
			status: 400, msg: "The name of a form field is not valid UTF-8."},
		{name: "item 10: invalid UTF-8 in the filename", req: uploadRequest{form: wheel2().withFile("demo-2.0-py3-none-any\xff.whl", w2)},
			status: 400, msg: "The filename is not valid UTF-8."},
		{name: "item 10: invalid UTF-8 in the filename, RFC 2231", req: uploadRequest{form: wheel2().withFileStar("demo-2.0-py3-none-\xe9any.whl", w2)},
			status: 400, msg: "The filename is not valid UTF-8."},
		{name: "item 10: NUL in the filename, RFC 2231", req: uploadRequest{form: wheel2().withFileStar("demo-2.0-py3-none-any\x00.whl", w2)},
			status: 400, msg: pypiNonPrintable},
		{name: "item 10: register with invalid UTF-8", req: uploadRequest{form: submit().with("summary", "\xff"), distutils: true},
			status: 400, msg: "The value of form field 'summary' is not valid UTF-8."},

		// Item 12: the form's shape.
		{name: "item 12: 1,001 parts", req: uploadRequest{form: manyParts},
			status: 400, msg: "Too many parts in the form: more than 1000."},
		{name: "item 12: a 257-byte field name", req: uploadRequest{form: wheel2().with(strings.Repeat("f", 257), "")},
			status: 400, msg: "Form field name too long: more than 256 bytes."},
	}
}

// TestBoundsRefusals sends each hostile request to one server: each gets a
// 400 saying what was wrong, and changes nothing (no file in packages/ or
// tmp/, no row, no page), and no value PostgreSQL cannot store reaches the
// store.
func TestBoundsRefusals(t *testing.T) {
	t.Parallel()
	h, guard, _ := newGuardedHarness(t)
	h.mustUpload(uploadRequest{form: twineForm("demo", "1.0", "bdist_wheel", "py3", "demo-1.0-py3-none-any.whl", wheelSpec{dist: "demo", version: "1.0"}.build(t))})
	h.refuseAll(t, boundsRefusals(t), func(t *testing.T) {
		for _, bad := range guard.reached() {
			t.Errorf("reached the store: %s", bad)
		}
	})

	// The limits leave room for what clients send: a form at the part
	// limit, a field name at its limit, a NUL in a field (escaped, as
	// Warehouse does), and an sdist of long member names.
	f := twineForm("demo", "2.0", "bdist_wheel", "py3", "demo-2.0-py3-none-any.whl", wheelSpec{dist: "demo", version: "2.0"}.build(t)).
		with(strings.Repeat("f", maxFieldNameBytes), "").with("summary", "nul\x00here")
	for len(f) < maxParts {
		f = append(f, part{name: "keywords", value: "k"})
	}
	h.mustUpload(uploadRequest{form: f})
	if got := h.query(`SELECT r.metadata->>'summary' FROM releases r JOIN projects p ON p.id = r.project_id WHERE p.normalized = 'demo' AND r.version = '2.0'`); got != `nul\x00here` {
		t.Errorf("summary stored as %q", got)
	}
	h.mustUpload(uploadRequest{form: twineForm("demo", "2.0", "sdist", "", "demo-2.0.tar.gz", longNameSdist(t, "demo-2.0", 200, maxMemberNameBytes))})
	for _, bad := range guard.reached() {
		t.Errorf("reached the store: %s", bad)
	}
}
