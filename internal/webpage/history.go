package webpage

import (
	"html/template"
	"strings"
)

// historyHTML renders a project's release history, one <li> per row, by
// hand. A project page lists every release; through html/template each row
// cost about 14 µs of reflection and escaper calls, most of a 250-release
// page's render and more than the rest of an upload's page rewrite. The
// bytes are those the template gave (TestHistoryHTMLMatchesTemplate holds
// them equal over hostile values): text and attribute values go through
// html/template's HTML escaping, URL path parts through its URL
// normalisation first.
func historyHTML(normalized string, rows []HistoryRow) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 120)
	for _, r := range rows {
		b.WriteString(`<li><a href="/project/`)
		escapeURLPart(&b, normalized)
		b.WriteByte('/')
		escapeURLPart(&b, r.Version)
		b.WriteString(`/">`)
		escapeHTML(&b, r.Version)
		b.WriteString(`</a> <span class="muted">`)
		escapeHTML(&b, r.Date)
		b.WriteString(`</span>`)
		if r.Pre {
			b.WriteString(` <span class="badge">pre-release</span>`)
		}
		if r.Yanked {
			b.WriteString(` <span class="badge yanked">yanked</span>`)
			if r.YankedReason != "" {
				b.WriteString(` <span class="muted">`)
				escapeHTML(&b, r.YankedReason)
				b.WriteString(`</span>`)
			}
		}
		b.WriteString("</li>\n")
	}
	return template.HTML(b.String()) // escaped above
}

// escapeHTML writes s as html/template escapes text and quoted attribute
// values: its five entities, '+' as "&#43;" and NUL as U+FFFD.
func escapeHTML(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case 0:
			rep = "\uFFFD"
		case '"':
			rep = "&#34;"
		case '&':
			rep = "&amp;"
		case '\'':
			rep = "&#39;"
		case '+':
			rep = "&#43;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(rep)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// escapeURLPart writes s as html/template writes a value in the path of a
// quoted URL attribute: bytes outside RFC 3986's unreserved and reserved
// sets percent-encoded (an escape already there kept), then HTML-escaped.
func escapeURLPart(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	var u strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!#$&*+,/:;=?@[]", c) >= 0,
			c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]): // an escape stays
			u.WriteByte(c)
		default:
			u.WriteByte('%')
			u.WriteByte(hex[c>>4])
			u.WriteByte(hex[c&15])
		}
	}
	escapeHTML(b, u.String())
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
