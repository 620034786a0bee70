package datadir

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
)

// Every page records the serial it was built from, so that repair, the
// page writer (pages never go backwards) and the HTTP layer
// (X-PyPI-Last-Serial) can read it back without the database. This file is
// the one writer and the one reader of that record. The rules:
//
//   - HTML: the page ends with "<!--SERIAL n-->" (Warehouse's comment),
//     optionally followed by ASCII white space (the writer adds "\n").
//     Anything else after the comment means the page records no serial.
//   - JSON: the page starts with `{"meta":{` and the meta object, which
//     ends at its first '}' (it holds no nested object), has the member
//     `"_last-serial":n`, with no white space around the colon, as the
//     writer puts it. The projects' own _last-serial members of the root
//     page are therefore never taken for it.
//   - n is a plain decimal integer: one to 19 ASCII digits (leading zeros
//     allowed), at most math.MaxInt64; no sign, fraction, exponent or space.
//   - A reader that has the whole page (ParseSerial, ReadSerial) also wants
//     a JSON page to be complete: its last byte before trailing white space
//     is '}'. A truncated HTML page fails the first rule by itself. The
//     HTTP layer, which reads only the serial's window on every request
//     (SerialDigits), does not look at the end of a JSON page.
//
// Both records sit within SerialWindow bytes of one end of the page: the
// last bytes of an HTML page, the first of a JSON page.

const (
	htmlSerialOpen  = "<!--SERIAL "
	htmlSerialClose = "-->"
	jsonMetaOpen    = `{"meta":{`
	jsonSerialKey   = `"_last-serial":`
	maxSerial       = "9223372036854775807"
)

// SerialWindow is how many bytes at one end of a page hold its serial (see
// the rules above): the longest records, `{"meta":{"api-version":"1.1",
// "_last-serial":9223372036854775807}` and the HTML comment with its line
// end, are well under it.
const SerialWindow = 128

// AppendHTMLSerial appends the serial comment that ends an HTML page,
// "<!--SERIAL n-->\n".
func AppendHTMLSerial(dst []byte, serial int64) []byte {
	dst = append(dst, htmlSerialOpen...)
	dst = strconv.AppendInt(dst, serial, 10)
	return append(dst, htmlSerialClose+"\n"...)
}

// AppendJSONMeta appends the opening of a JSON page up to and including
// its meta object, `{"meta":{"api-version":"<apiVersion>","_last-serial":n}`;
// the caller goes on with the page's other members and its closing brace.
func AppendJSONMeta(dst []byte, apiVersion string, serial int64) []byte {
	dst = append(dst, jsonMetaOpen+`"api-version":"`...)
	dst = append(dst, apiVersion...)
	dst = append(dst, `",`+jsonSerialKey...)
	dst = strconv.AppendInt(dst, serial, 10)
	return append(dst, '}')
}

// SerialDigits returns the decimal digits of the serial page p records, as
// a subslice of window, or nil when it records none. window is the page's
// last bytes (HTML) or its first (JSON): at least SerialWindow of them, or
// the whole page. It allocates nothing: the HTTP layer calls it on every
// page request.
func SerialDigits(p Page, window []byte) []byte {
	if p == JSON {
		return jsonSerialDigits(window)
	}
	return htmlSerialDigits(window)
}

func htmlSerialDigits(tail []byte) []byte {
	rest, ok := bytes.CutSuffix(trimSpace(tail), []byte(htmlSerialClose))
	if !ok {
		return nil
	}
	// The comment opens at most 19 digits before its end: look no further.
	if n := len(htmlSerialOpen) + len(maxSerial); len(rest) > n {
		rest = rest[len(rest)-n:]
	}
	i := bytes.LastIndex(rest, []byte(htmlSerialOpen))
	if i < 0 {
		return nil
	}
	return validDigits(rest[i+len(htmlSerialOpen):])
}

// trimSpace cuts trailing ASCII white space (what bytes.TrimRight with
// " \t\r\n" does, without building its set on every call).
func trimSpace(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case ' ', '\t', '\r', '\n':
			b = b[:len(b)-1]
		default:
			return b
		}
	}
	return b
}

func jsonSerialDigits(head []byte) []byte {
	meta, ok := bytes.CutPrefix(head, []byte(jsonMetaOpen))
	if !ok {
		return nil
	}
	end := bytes.IndexByte(meta, '}')
	if end < 0 {
		return nil // not closed within the window
	}
	meta = meta[:end]
	i := bytes.Index(meta, []byte(jsonSerialKey))
	if i < 0 {
		return nil
	}
	v := meta[i+len(jsonSerialKey):]
	if j := bytes.IndexByte(v, ','); j >= 0 {
		v = v[:j]
	}
	return validDigits(v)
}

// validDigits returns b if it is a serial's digits (see the rules), else nil.
func validDigits(b []byte) []byte {
	if len(b) == 0 || len(b) > len(maxSerial) {
		return nil
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return nil
		}
	}
	if len(b) == len(maxSerial) && string(b) > maxSerial {
		return nil
	}
	return b
}

// complete reports whether a whole JSON page ends as one does.
func complete(tail []byte) bool {
	tail = trimSpace(tail)
	return len(tail) > 0 && tail[len(tail)-1] == '}'
}

// ParseSerial returns the serial the whole page b of kind p records, false
// when it records none or, for JSON, is incomplete.
func ParseSerial(p Page, b []byte) (int64, bool) {
	if p == JSON && !complete(b) {
		return 0, false
	}
	return digitsValue(SerialDigits(p, b))
}

func digitsValue(d []byte) (int64, bool) {
	if d == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(d), 10, 64)
	return n, err == nil
}

// ReadSerialDigits reads the serial window of the page p open as f, whose
// size is size, into buf and returns the serial's digits (a subslice of
// buf, nil when the page records none). This is the HTTP layer's path: one
// pread, no allocation.
func ReadSerialDigits(f *os.File, size int64, p Page, buf *[SerialWindow]byte) ([]byte, error) {
	n := min(size, SerialWindow)
	off := int64(0)
	if p == HTML {
		off = size - n
	}
	b := buf[:n]
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, err
	}
	return SerialDigits(p, b), nil
}

// ReadSerial returns the serial recorded by the page file of kind p at
// path, reading only its ends (two small reads, whatever the page's size).
// It reports false when the file is missing, unreadable, not a regular file
// or records no serial, so a caller comparing serials treats such a page as
// stale.
func ReadSerial(path string, p Page) (int64, bool) {
	f, err := Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0, false
	}
	size := fi.Size()
	var buf [SerialWindow]byte
	d, err := ReadSerialDigits(f, size, p, &buf)
	if err != nil {
		return 0, false
	}
	if p == JSON {
		var tail [SerialWindow]byte
		n := min(size, SerialWindow)
		if _, err := f.ReadAt(tail[:n], size-n); err != nil && !errors.Is(err, io.EOF) {
			return 0, false
		}
		if !complete(tail[:n]) {
			return 0, false
		}
	}
	return digitsValue(d)
}
