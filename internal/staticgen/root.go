package staticgen

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"sync"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// rootPage is a RootState's projects in normalized-name order. The
// caller's slice is left untouched; entries are reused through rootPagePool
// (the root has hundreds of thousands of them).
type rootPage struct {
	entries []rootEntry
}

// rootEntry keeps the sort key inline: the first 8 bytes of the name as a
// big-endian integer decide most comparisons without touching the string
// bytes or the Project, which is what makes sorting 700,000 names cheap.
type rootEntry struct {
	key  uint64
	name string
	p    *index.Project
}

func prefixKey(s string) uint64 {
	var k uint64
	for i := range 8 {
		k <<= 8
		if i < len(s) {
			k |= uint64(s[i])
		}
	}
	return k
}

// compareRootEntries is byte order of the normalized names (zero padding
// sorts a name before its extensions, as byte order does; equal keys fall
// back to the full names), then ID so the order is total.
func compareRootEntries(a, b rootEntry) int {
	if a.key != b.key {
		return cmp.Compare(a.key, b.key)
	}
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	return cmp.Compare(a.p.ID, b.p.ID)
}

var rootPagePool = sync.Pool{New: func() any { return new(rootPage) }}

func newRootPage(st index.RootState) *rootPage {
	p := rootPagePool.Get().(*rootPage)
	p.entries = slices.Grow(p.entries[:0], len(st.Projects))
	for i := range st.Projects {
		pr := &st.Projects[i]
		p.entries = append(p.entries, rootEntry{key: prefixKey(string(pr.Normalized)), name: string(pr.Normalized), p: pr})
	}
	// The store reads in name order, which is byte order only under the C
	// collation; checking is O(n) and skips the sort when it is.
	if !slices.IsSortedFunc(p.entries, compareRootEntries) {
		slices.SortFunc(p.entries, compareRootEntries)
	}
	return p
}

func (p *rootPage) release() {
	clear(p.entries)
	rootPagePool.Put(p)
}

// RenderRootHTML appends the PEP 503 root page to buf: one link per project,
// sorted by normalized name, href relative to /simple/ ("<normalized>/"),
// text the display name, ending in "<!--SERIAL n-->" with n = st.Serial.
func RenderRootHTML(buf *bytes.Buffer, st index.RootState) {
	p := newRootPage(st)
	p.writeHTML(buf, st.Serial)
	p.release()
}

// RenderRootJSON appends the PEP 691 root page to buf, followed by a newline.
// Each entry carries the project's _last-serial, which bandersnatch 8 uses to
// find changed projects.
func RenderRootJSON(buf *bytes.Buffer, st index.RootState) {
	p := newRootPage(st)
	p.writeJSON(buf, st.Serial)
	p.release()
}

func (p *rootPage) writeHTML(buf *bytes.Buffer, serial int64) {
	buf.Grow(200 + 64*len(p.entries))
	writeRootHTMLHead(buf)
	for _, e := range p.entries {
		writeRootHTMLEntry(buf, string(e.p.Normalized), displayName(e.p))
	}
	writeHTMLTail(buf, serial)
}

func (p *rootPage) writeJSON(buf *bytes.Buffer, serial int64) {
	buf.Grow(200 + 56*len(p.entries))
	writeRootJSONHead(buf, serial)
	for i, e := range p.entries {
		writeRootJSONEntry(buf, i == 0, displayName(e.p), e.p.LastSerial)
	}
	writeRootJSONTail(buf)
}

// The root pages piece by piece, shared by the rendering above and by the
// streaming writer (rootstream.go), so both give the same bytes.

func writeRootHTMLHead(buf *bytes.Buffer) {
	buf.WriteString(htmlHead)
	buf.WriteString("Simple index</title>\n  </head>\n  <body>\n")
}

func writeRootHTMLEntry(buf *bytes.Buffer, normalized, display string) {
	buf.WriteString(`    <a href="`)
	writeURLPath(buf, normalized)
	buf.WriteString(`/">`)
	writeHTML(buf, display)
	buf.WriteString("</a><br />\n")
}

func writeRootJSONHead(buf *bytes.Buffer, serial int64) {
	writeJSONMeta(buf, serial)
	buf.WriteString(`,"projects":[`)
}

func writeRootJSONEntry(buf *bytes.Buffer, first bool, display string, lastSerial int64) {
	if !first {
		buf.WriteByte(',')
	}
	buf.WriteString(`{"name":`)
	writeJSONString(buf, display)
	buf.WriteString(`,"_last-serial":`)
	writeInt(buf, lastSerial)
	buf.WriteByte('}')
}

func writeRootJSONTail(buf *bytes.Buffer) {
	buf.WriteString("]}\n")
}
