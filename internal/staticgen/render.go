package staticgen

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"sync"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// apiVersion is the simple API version the pages declare: 1.4 because
// project pages carry the PEP 792 project status (1.1, PEP 700: versions,
// size and upload-time, as before). Nothing from 1.3 (PEP 740 provenance)
// is emitted: attestations are not verified, so none are advertised. The
// root declares the same version, as Warehouse's does.
const apiVersion = "1.4"

// packagesPrefix turns a File.Path into a URL relative to the project page
// /simple/<name>/, so it works under any base URL and when nginx serves the
// tree directly.
const packagesPrefix = "../../packages/"

// htmlHead is the shared page start. The charset declaration is not required
// by PEP 503 but keeps browsers from guessing for non-ASCII names.
const htmlHead = htmlHeadMeta + "    <title>"

// htmlHeadMeta is htmlHead up to the head's meta elements; a project page
// adds its PEP 792 status meta elements after it.
const htmlHeadMeta = "<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n" +
	"    <meta name=\"pypi:repository-version\" content=\"" + apiVersion + "\">\n"

// releaseEntry is a release with its parsed version, in page order.
type releaseEntry struct {
	r  *index.Release
	v  index.Version
	ok bool // v holds the parsed version
}

// fileEntry is a file with the page-order rank of its release; rank is
// len(releases) for a file whose release is missing from the state.
type fileEntry struct {
	f    *index.File
	rank int
}

// idRank maps a release ID to its rank; kept sorted by id for binary search
// (cheaper than a map for the typical handful of releases, and reusable).
type idRank struct {
	id   int64
	rank int
}

// projectPage is a ProjectState put in page order. Its slices are reused
// through projectPagePool, so in the steady state preparing a page
// allocates only what index.ParseVersion does (once per release).
type projectPage struct {
	project  index.Project
	releases []releaseEntry
	files    []fileEntry
	ids      []idRank
}

var projectPagePool = sync.Pool{New: func() any { return new(projectPage) }}

func newProjectPage(st index.ProjectState) *projectPage {
	p := projectPagePool.Get().(*projectPage)
	p.prepare(st)
	return p
}

func (p *projectPage) release() {
	p.project = index.Project{}
	clear(p.releases) // drop pointers into the caller's state
	clear(p.files)
	projectPagePool.Put(p)
}

// prepare sorts releases by PEP 440 version and files by (version, filename).
// Versions are parsed once per release, not once per comparison.
func (p *projectPage) prepare(st index.ProjectState) {
	p.project = st.Project
	p.releases = p.releases[:0]
	for i := range st.Releases {
		r := &st.Releases[i]
		v, err := index.ParseVersion(r.Version)
		p.releases = append(p.releases, releaseEntry{r: r, v: v, ok: err == nil})
	}
	slices.SortFunc(p.releases, compareReleases)

	p.ids = p.ids[:0]
	for i, e := range p.releases {
		p.ids = append(p.ids, idRank{id: e.r.ID, rank: i})
	}
	slices.SortFunc(p.ids, func(a, b idRank) int { return cmp.Compare(a.id, b.id) })

	p.files = p.files[:0]
	for i := range st.Files {
		f := &st.Files[i]
		rank := len(p.releases)
		if j, found := slices.BinarySearchFunc(p.ids, f.ReleaseID, func(e idRank, id int64) int {
			return cmp.Compare(e.id, id)
		}); found {
			rank = p.ids[j].rank
		}
		p.files = append(p.files, fileEntry{f: f, rank: rank})
	}
	slices.SortFunc(p.files, func(a, b fileEntry) int {
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		if c := strings.Compare(a.f.Filename, b.f.Filename); c != 0 {
			return c
		}
		return cmp.Compare(a.f.ID, b.f.ID)
	})
}

// compareReleases orders by PEP 440 version; equal versions spelt
// differently, and versions that do not parse (which the upload path never
// stores), fall back to the string and then the ID so the order is total.
func compareReleases(a, b releaseEntry) int {
	switch {
	case a.ok && b.ok:
		if c := a.v.Compare(b.v); c != 0 {
			return c
		}
	case a.ok != b.ok:
		if a.ok {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.r.Version, b.r.Version); c != 0 {
		return c
	}
	return cmp.Compare(a.r.ID, b.r.ID)
}

// offered returns the files the page lists: none for a quarantined
// project (PEP 792: the index must not offer any of its files), all of
// them otherwise. The versions stay listed.
func (p *projectPage) offered() []fileEntry {
	if !p.project.Status.OffersFiles() {
		return nil
	}
	return p.files
}

// fileRelease returns the release of a file, or nil when the state lacks it.
func (p *projectPage) fileRelease(e fileEntry) *index.Release {
	if e.rank < len(p.releases) {
		return p.releases[e.rank].r
	}
	return nil
}

// writeFileURL writes the file's download URL without a fragment, as
// index.AppendFileURL makes it (the JSON API uses the same function): the
// CDN copy once the mirror worker has verified one, else the local copy.
func writeFileURL(buf *bytes.Buffer, f *index.File, inJSON bool) {
	if f.CDNURL != "" {
		u := index.FileURL(packagesPrefix, f)
		if inJSON {
			writeJSONString(buf, u)
		} else {
			writeHTML(buf, u)
		}
		return
	}
	// The local URL needs no escaping in either syntax: it is written
	// straight into the page.
	if inJSON {
		buf.WriteByte('"')
	}
	buf.Write(index.AppendFileURL(buf.AvailableBuffer(), packagesPrefix, f))
	if inJSON {
		buf.WriteByte('"')
	}
}

// displayName is the name shown in titles and root links.
func displayName(p *index.Project) string {
	if p.Name != "" {
		return p.Name
	}
	return string(p.Normalized)
}

// RenderProjectHTML appends the project's PEP 503 page to buf: one link per
// file, in (version, filename) order, with PEP 592 data-yanked, PEP 503
// data-requires-python and PEP 714 data-core-metadata attributes, ending in
// "<!--SERIAL n-->" with n = st.Project.LastSerial.
func RenderProjectHTML(buf *bytes.Buffer, st index.ProjectState) {
	p := newProjectPage(st)
	p.writeHTML(buf)
	p.release()
}

// RenderProjectJSON appends the project's PEP 691 (api-version 1.4: PEP 700, PEP 792)
// page to buf, followed by a newline.
func RenderProjectJSON(buf *bytes.Buffer, st index.ProjectState) {
	p := newProjectPage(st)
	p.writeJSON(buf)
	p.release()
}

// Renderer renders either page of a project or of the root, for callers
// that name the page by its datadir kind (repair's Check). The zero value
// is ready to use.
type Renderer struct{}

// Project appends the project's page of kind p to buf.
func (Renderer) Project(buf *bytes.Buffer, p datadir.Page, st index.ProjectState) {
	if p == datadir.JSON {
		RenderProjectJSON(buf, st)
		return
	}
	RenderProjectHTML(buf, st)
}

// Root appends the root page of kind p to buf.
func (Renderer) Root(buf *bytes.Buffer, p datadir.Page, st index.RootState) {
	if p == datadir.JSON {
		RenderRootJSON(buf, st)
		return
	}
	RenderRootHTML(buf, st)
}

func (p *projectPage) writeHTML(buf *bytes.Buffer) {
	// ~250 bytes per link; growing once avoids repeated copying of big pages.
	buf.Grow(400 + 250*len(p.files))
	name := displayName(&p.project)
	buf.WriteString(htmlHeadMeta)
	// PEP 792: the status is always stated (Warehouse does too); the reason
	// only when there is one.
	buf.WriteString(`    <meta name="pypi:project-status" content="`)
	writeHTML(buf, p.project.Status.String())
	buf.WriteString("\">\n")
	if p.project.StatusReason != "" {
		buf.WriteString(`    <meta name="pypi:project-status-reason" content="`)
		writeHTML(buf, p.project.StatusReason)
		buf.WriteString("\">\n")
	}
	buf.WriteString("    <title>Links for ")
	writeHTML(buf, name)
	buf.WriteString("</title>\n  </head>\n  <body>\n    <h1>Links for ")
	writeHTML(buf, name)
	buf.WriteString("</h1>\n")
	for _, e := range p.offered() {
		f := e.f
		buf.WriteString(`    <a href="`)
		writeFileURL(buf, f, false)
		if f.SHA256 != "" {
			buf.WriteString("#sha256=")
			writeHTML(buf, f.SHA256)
		}
		buf.WriteByte('"')
		if f.RequiresPython != "" {
			buf.WriteString(` data-requires-python="`)
			writeHTML(buf, f.RequiresPython)
			buf.WriteByte('"')
		}
		// PEP 592: presence means yanked; the value is the reason, possibly
		// empty. Yanking is per release, as in Warehouse.
		if r := p.fileRelease(e); r != nil && r.Yanked {
			buf.WriteString(` data-yanked="`)
			writeHTML(buf, r.YankedReason)
			buf.WriteByte('"')
		}
		// PEP 714 name only: data-dist-info-metadata crashes or misleads pip
		// 22.3-23.1 (PROTOCOL.md 5.1), and absence, never "false", is how
		// "no metadata file" is said, since pip reads any other value as
		// "present".
		if f.MetadataSHA256 != "" {
			buf.WriteString(` data-core-metadata="sha256=`)
			writeHTML(buf, f.MetadataSHA256)
			buf.WriteByte('"')
		}
		buf.WriteByte('>')
		writeHTML(buf, f.Filename)
		buf.WriteString("</a><br />\n")
	}
	writeHTMLTail(buf, p.project.LastSerial)
}

// writeHTMLTail ends a page with Warehouse's serial comment, written (and
// read back) by datadir.
func writeHTMLTail(buf *bytes.Buffer, serial int64) {
	buf.WriteString("  </body>\n</html>\n")
	buf.Write(datadir.AppendHTMLSerial(buf.AvailableBuffer(), serial))
}

// writeJSONMeta writes the opening brace and the meta object, with the
// page's serial, shared by every JSON page.
func writeJSONMeta(buf *bytes.Buffer, serial int64) {
	buf.Write(datadir.AppendJSONMeta(buf.AvailableBuffer(), apiVersion, serial))
}

func (p *projectPage) writeJSON(buf *bytes.Buffer) {
	buf.Grow(200 + 350*len(p.files) + 16*len(p.releases))
	writeJSONMeta(buf, p.project.LastSerial)
	buf.WriteString(`,"name":`)
	writeJSONString(buf, string(p.project.Normalized))
	// PEP 792 (api 1.4): top-level "project-status" with Warehouse's key
	// "status" (the PEP's prose says "state"; PROTOCOL.md 4.4).
	buf.WriteString(`,"project-status":{"status":`)
	writeJSONString(buf, p.project.Status.String())
	if p.project.StatusReason != "" {
		buf.WriteString(`,"reason":`)
		writeJSONString(buf, p.project.StatusReason)
	}
	buf.WriteByte('}')

	// PEP 700: every release, including ones without files (after a
	// register), as a set: equal strings are adjacent after sorting.
	buf.WriteString(`,"versions":[`)
	prev := ""
	for i, e := range p.releases {
		if i > 0 && e.r.Version == prev {
			continue
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		writeJSONString(buf, e.r.Version)
		prev = e.r.Version
	}

	buf.WriteString(`],"files":[`)
	for i, e := range p.offered() {
		f := e.f
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"filename":`)
		writeJSONString(buf, f.Filename)
		buf.WriteString(`,"url":`)
		writeFileURL(buf, f, true)
		// Only sha256: PROTOCOL.md 4.4 warns against publishing BLAKE2b-256
		// under hashlib's "blake2b" (512-bit) name, and md5 adds nothing.
		buf.WriteString(`,"hashes":{`)
		if f.SHA256 != "" {
			buf.WriteString(`"sha256":`)
			writeJSONString(buf, f.SHA256)
		}
		buf.WriteString(`},"requires-python":`)
		if f.RequiresPython != "" {
			writeJSONString(buf, f.RequiresPython)
		} else {
			buf.WriteString("null")
		}
		buf.WriteString(`,"size":`)
		writeInt(buf, f.Size)
		if !f.UploadTime.IsZero() {
			buf.WriteString(`,"upload-time":"`)
			writeUploadTime(buf, f.UploadTime)
			buf.WriteByte('"')
		}
		buf.WriteString(`,"yanked":`)
		switch r := p.fileRelease(e); {
		case r == nil || !r.Yanked:
			buf.WriteString("false")
		case r.YankedReason == "":
			buf.WriteString("true")
		default:
			writeJSONString(buf, r.YankedReason)
		}
		// Never "dist-info-metadata": pip 22.3-23.1 crash on any value of it.
		buf.WriteString(`,"core-metadata":`)
		if f.MetadataSHA256 != "" {
			buf.WriteString(`{"sha256":`)
			writeJSONString(buf, f.MetadataSHA256)
			buf.WriteByte('}')
		} else {
			buf.WriteString("false")
		}
		buf.WriteByte('}')
	}
	buf.WriteString("]}\n")
}
