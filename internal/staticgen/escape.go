package staticgen

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"
)

// The writers below append straight into the page buffer instead of going
// through html/template or encoding/json: pages are rebuilt on every upload
// while the project lock is held, and the reflective encoders cost several
// times more time and allocations for the same bytes (see the benchmarks).
// Both encodings are checked against the standard library in the tests.

const hexDigits = "0123456789abcdef"

// htmlSafe[c] is true for ASCII bytes that need no escaping in HTML text and
// in double- or single-quoted attribute values. Control characters other
// than HTML whitespace are not safe: HTML5 makes them parse errors.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		control := c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r' || c == 0x7f
		t[c] = !control && c != '&' && c != '<' && c != '>' && c != '"' && c != '\''
	}
	return t
}()

// jsonSafe[c] is true for ASCII bytes that appear unescaped inside a JSON
// string (RFC 8259 section 7).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

// urlSafe[c] is true for bytes kept as they are in the path of a file URL:
// RFC 3986 pchar and '/', minus the ampersand and the apostrophe so the
// result needs no further HTML escaping. Distribution filenames only ever
// use safe bytes; the rest is defence against a corrupt row breaking a page.
var urlSafe = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$()*+,;=:@/") {
		t[c] = true
	}
	return t
}()

// writeHTML writes s escaped for HTML text and quoted attribute values (the
// set html.EscapeString uses). Control characters (C0 other than
// whitespace, DEL, C1) and invalid UTF-8 become U+FFFD, so a stray byte in
// free text (a yank reason) cannot make the page invalid HTML5.
func writeHTML(buf *bytes.Buffer, s string) {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if htmlSafe[c] {
				i++
				continue
			}
			buf.WriteString(s[start:i])
			switch c {
			case '&':
				buf.WriteString("&amp;")
			case '<':
				buf.WriteString("&lt;")
			case '>':
				buf.WriteString("&gt;")
			case '"':
				buf.WriteString("&#34;")
			case '\'':
				buf.WriteString("&#39;")
			default:
				buf.WriteString("\uFFFD")
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || 0x80 <= r && r <= 0x9f {
			buf.WriteString(s[start:i])
			buf.WriteString("\uFFFD")
			i += size
			start = i
			continue
		}
		i += size
	}
	buf.WriteString(s[start:])
}

// writeJSONString writes s as a JSON string exactly as encoding/json does
// with HTML escaping off: invalid UTF-8 becomes \ufffd, and U+2028/U+2029 are
// escaped so the output is also valid JavaScript.
func writeJSONString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			buf.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				buf.WriteByte('\\')
				buf.WriteByte(c)
			case '\b':
				buf.WriteString(`\b`)
			case '\f':
				buf.WriteString(`\f`)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			case '\t':
				buf.WriteString(`\t`)
			default:
				buf.WriteString(`\u00`)
				buf.WriteByte(hexDigits[c>>4])
				buf.WriteByte(hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf.WriteString(s[start:i])
			buf.WriteString(`\ufffd`)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf.WriteString(s[start:i])
			buf.WriteString(`\u202`)
			buf.WriteByte(hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}

// writeURLPath writes a data-directory-relative path percent-encoded as a
// URL path (bytes outside urlSafe as %XX).
func writeURLPath(buf *bytes.Buffer, p string) {
	start := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if urlSafe[c] {
			continue
		}
		buf.WriteString(p[start:i])
		buf.WriteByte('%')
		buf.WriteByte("0123456789ABCDEF"[c>>4])
		buf.WriteByte("0123456789ABCDEF"[c&0xf])
		start = i + 1
	}
	buf.WriteString(p[start:])
}

func writeInt(buf *bytes.Buffer, n int64) {
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), n, 10))
}

// uploadTimeLayout is PEP 700's upload-time format with the fraction fixed at
// six digits (microseconds, PyPI's precision) so the text is the same
// whatever the stored time's precision.
const uploadTimeLayout = "2006-01-02T15:04:05.000000Z"

// writeUploadTime writes t in uploadTimeLayout. It is written out by hand
// (a page of 10,000 files formats 10,000 times, and time.Format's layout
// interpretation was a tenth of rendering one); years outside 0–9999, which
// no upload has, go through time.Format.
func writeUploadTime(buf *bytes.Buffer, t time.Time) {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		buf.Write(t.AppendFormat(buf.AvailableBuffer(), uploadTimeLayout))
		return
	}
	hour, minute, sec := t.Clock()
	b := buf.AvailableBuffer()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/1000, 6)
	b = append(b, 'Z')
	buf.Write(b)
}

// appendDigits appends n (0 <= n < 10^width) as exactly width decimal digits.
func appendDigits(b []byte, n, width int) []byte {
	var d [8]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:width]...)
}
