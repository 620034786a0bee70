package staticgen

import (
	"bytes"
	"encoding/json"
	"html"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

var escapeSeeds = []string{
	"", "plain", ">=3.8,<4", `a"b'c&d<e>f`, "Café ☕", "line\u2028sep\u2029", "\x00\x01\x1f\x7f",
	"\b\f\n\r\t", "bad \xff\xfe utf8", "\xc3", "\u0085 C1", `back\slash`, "&amp; already", "🐍",
}

func TestWriteJSONStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range escapeSeeds {
		checkJSONString(t, s)
	}
}

func TestWriteHTMLMatchesHTMLEscape(t *testing.T) {
	t.Parallel()
	for _, s := range escapeSeeds {
		checkHTMLString(t, s)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkJSONString(t, s)
		checkHTMLString(t, s)
		checkURLPath(t, s)
	})
}

func checkJSONString(t *testing.T, s string) {
	t.Helper()
	var got bytes.Buffer
	writeJSONString(&got, s)
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	if w := bytes.TrimSuffix(want.Bytes(), []byte("\n")); !bytes.Equal(got.Bytes(), w) {
		t.Errorf("writeJSONString(%q) = %s, encoding/json gives %s", s, got.Bytes(), w)
	}
}

// checkHTMLString compares with html.EscapeString after the documented
// replacement of controls and invalid UTF-8 by U+FFFD.
func checkHTMLString(t *testing.T, s string) {
	t.Helper()
	var got bytes.Buffer
	writeHTML(&got, s)
	if want := html.EscapeString(htmlText(s)); got.String() != want {
		t.Errorf("writeHTML(%q) = %q, want %q", s, got.String(), want)
	}
	if !utf8.Valid(got.Bytes()) || strings.ContainsFunc(got.String(), func(r rune) bool {
		return unicode.IsControl(r) && !strings.ContainsRune("\t\n\f\r", r)
	}) {
		t.Errorf("writeHTML(%q) = %q is not clean HTML text", s, got.String())
	}
}

func checkURLPath(t *testing.T, p string) {
	t.Helper()
	var got bytes.Buffer
	writeURLPath(&got, p)
	back, err := url.PathUnescape(got.String())
	if err != nil || back != p {
		t.Errorf("writeURLPath(%q) = %q, unescapes to %q (%v)", p, got.String(), back, err)
	}
	if strings.ContainsAny(got.String(), "?#&'\"<> ") {
		t.Errorf("writeURLPath(%q) = %q keeps a delimiter", p, got.String())
	}
}

func TestWriteUploadTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), "2025-01-02T03:04:05.000000Z"},
		{time.Date(2025, 1, 2, 3, 4, 5, 123456999, time.UTC), "2025-01-02T03:04:05.123456Z"}, // truncated, like PostgreSQL's microseconds
		{time.Date(2025, 1, 2, 0, 30, 0, 0, time.FixedZone("X", 3600)), "2025-01-01T23:30:00.000000Z"},
		{time.Date(999, 12, 31, 23, 59, 59, 999999000, time.UTC), "0999-12-31T23:59:59.999999Z"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "10000-01-01T00:00:00.000000Z"}, // time.Format's spelling
	}
	for _, tc := range tests {
		var b bytes.Buffer
		b.WriteString("x")
		writeUploadTime(&b, tc.in)
		if b.String() != "x"+tc.want {
			t.Errorf("writeUploadTime(%v) = %q, want %q", tc.in, b.String(), "x"+tc.want)
		}
	}
	// A sample of times across 30 years agrees with time.Format.
	for i := range 200000 {
		in := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 4729 * time.Second).Add(time.Duration(i*7919) * time.Microsecond)
		var b bytes.Buffer
		writeUploadTime(&b, in)
		if want := in.Format(uploadTimeLayout); b.String() != want {
			t.Fatalf("writeUploadTime(%v) = %q, want %q", in, b.String(), want)
		}
	}
}

// TestCompareRootEntriesIsByteOrder checks the inline prefix key against
// strings.Compare, around the 8-byte boundary and with NUL bytes.
func TestCompareRootEntriesIsByteOrder(t *testing.T) {
	t.Parallel()
	names := []string{"", "a", "a-", "a0", "ab", "abcdefg", "abcdefgh", "abcdefgh-", "abcdefghi", "abcdefgi",
		"abcdefg\x00", "abcdefg\x00x", "a\x00", "\x00", "zzzzzzzzzzzz", "z\xff", "café"}
	for _, a := range names {
		for _, b := range names {
			pa, pb := &index.Project{}, &index.Project{}
			ea := rootEntry{key: prefixKey(a), name: a, p: pa}
			eb := rootEntry{key: prefixKey(b), name: b, p: pb}
			if got, want := compareRootEntries(ea, eb), strings.Compare(a, b); got != want {
				t.Errorf("compare(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
}
