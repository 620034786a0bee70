package upstream

import (
	"bytes"
	"encoding/json"
	"html"
	"strconv"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// packagesPrefix makes a cached file's URL relative to its page
// /simple/<name>/, as staticgen does for local files: the page works under
// any base URL and when a web server serves it from disk.
const packagesPrefix = "../../packages/"

// cachedPage is an upstream page rewritten for this server: both
// representations and the files they link.
type cachedPage struct {
	html, json []byte
	files      []index.UpstreamFile
}

// rewrite turns the upstream page p of name into this server's pages.
// Files the upstream gives no sha256 for are left out: a cached file is
// only ever kept after its bytes were checked against the upstream's
// digest. So are names that could not be a file's (see keep).
func rewrite(name index.Normalized, p page) cachedPage {
	display := p.name
	if display == "" || index.Normalize(display) != name {
		display = string(name)
	}
	var out cachedPage
	seen := make(map[string]bool, len(p.files))
	var kept []entry
	var rels []string
	for _, e := range p.files {
		if !keep(e) {
			continue
		}
		rel := datadir.PackagePath(e.sha256, e.filename)
		if seen[rel] {
			continue
		}
		seen[rel] = true
		kept = append(kept, e)
		rels = append(rels, rel)
		out.files = append(out.files, index.UpstreamFile{
			Path: rel, Project: name, Filename: e.filename, SHA256: e.sha256, URL: e.url.String(),
			Metadata: e.metadata, MetadataSHA256: e.metadataSHA256,
		})
	}
	out.html = renderHTML(display, kept, rels, p.serial)
	out.json = renderJSON(display, kept, rels, p)
	return out
}

// keep reports whether an upstream file can be cached: a sha256 to verify
// it by, and a name that is one harmless path element and not a sidecar's.
func keep(e entry) bool {
	if len(e.sha256) != 64 || strings.Trim(e.sha256, "0123456789abcdef") != "" {
		return false
	}
	return index.ServableFilename(e.filename) && !strings.HasSuffix(e.filename, datadir.MetadataSuffix) &&
		!strings.ContainsAny(e.filename, "?#%\"'<>&")
}

func fileURL(rel string) string { return packagesPrefix + rel }

// renderHTML writes a PEP 503 page with the data-requires-python, PEP 592
// and PEP 714 attributes the upstream gave,
// ending in the serial comment datadir reads.
func renderHTML(name string, files []entry, rels []string, serial int64) []byte {
	var b bytes.Buffer
	title := html.EscapeString(name)
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n" +
		"    <meta name=\"pypi:repository-version\" content=\"1.1\">\n    <title>Links for ")
	b.WriteString(title)
	b.WriteString("</title>\n  </head>\n  <body>\n    <h1>Links for ")
	b.WriteString(title)
	b.WriteString("</h1>\n")
	for i, e := range files {
		b.WriteString(`    <a href="`)
		b.WriteString(fileURL(rels[i]))
		b.WriteString("#sha256=")
		b.WriteString(e.sha256)
		b.WriteByte('"')
		if e.requiresPython != "" {
			b.WriteString(` data-requires-python="`)
			b.WriteString(html.EscapeString(e.requiresPython))
			b.WriteByte('"')
		}
		if e.yanked {
			b.WriteString(` data-yanked="`)
			b.WriteString(html.EscapeString(e.yankedReason))
			b.WriteByte('"')
		}
		if e.metadata {
			v := "true"
			if e.metadataSHA256 != "" {
				v = "sha256=" + html.EscapeString(e.metadataSHA256)
			}
			// PEP 714's name only, as staticgen writes it: pip 22.3-23.1
			// crash on data-dist-info-metadata (PROTOCOL.md 5.1).
			b.WriteString(` data-core-metadata="` + v + `"`)
		}
		b.WriteByte('>')
		b.WriteString(html.EscapeString(e.filename))
		b.WriteString("</a><br>\n")
	}
	b.WriteString("  </body>\n</html>\n")
	return datadir.AppendHTMLSerial(b.Bytes(), serial)
}

// renderJSON writes the PEP 691 twin. It claims api-version 1.1 (PEP 700)
// only when the upstream listed the versions; an HTML upstream gives 1.0.
func renderJSON(name string, files []entry, rels []string, p page) []byte {
	v11 := p.versions != nil
	api := "1.0"
	if v11 {
		api = "1.1"
	}
	b := datadir.AppendJSONMeta(nil, api, p.serial)
	b = append(b, `,"name":`...)
	b = appendJSON(b, name)
	b = append(b, `,"files":[`...)
	for i, e := range files {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"filename":`...)
		b = appendJSON(b, e.filename)
		b = append(b, `,"url":`...)
		b = appendJSON(b, fileURL(rels[i]))
		b = append(b, `,"hashes":{"sha256":"`...)
		b = append(b, e.sha256...)
		b = append(b, `"}`...)
		if e.requiresPython != "" {
			b = append(b, `,"requires-python":`...)
			b = appendJSON(b, e.requiresPython)
		}
		if e.metadata {
			md := []byte("true")
			if e.metadataSHA256 != "" {
				md = appendJSON([]byte(`{"sha256":`), e.metadataSHA256)
				md = append(md, '}')
			}
			// Never "dist-info-metadata": pip 22.3-23.1 crash on it.
			b = append(b, `,"core-metadata":`...)
			b = append(b, md...)
		}
		if e.yanked {
			b = append(b, `,"yanked":`...)
			if e.yankedReason != "" {
				b = appendJSON(b, e.yankedReason)
			} else {
				b = append(b, "true"...)
			}
		}
		if v11 {
			if e.size >= 0 {
				b = append(b, `,"size":`...)
				b = strconv.AppendInt(b, e.size, 10)
			}
			if e.uploadTime != "" {
				b = append(b, `,"upload-time":`...)
				b = appendJSON(b, e.uploadTime)
			}
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if v11 {
		b = append(b, `,"versions":`...)
		vs, _ := json.Marshal(p.versions)
		b = append(b, vs...)
	}
	return append(b, "}\n"...)
}

// appendJSON appends s as a JSON string, without json.Marshal's escaping
// of <, > and & (">=3.8" stays readable, as PyPI writes it).
func appendJSON(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) //nolint:errcheck // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
