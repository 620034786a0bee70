package datadir

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The serial records as the page writer puts them, round trip.
func TestSerialRoundTrip(t *testing.T) {
	t.Parallel()
	for _, serial := range []int64{0, 1, 40, 1 << 40, math.MaxInt64} {
		html := string(AppendHTMLSerial([]byte("<html>\n</html>\n"), serial))
		json := string(AppendJSONMeta(nil, "1.1", serial)) + `,"name":"x","files":[]}` + "\n"
		root := string(AppendJSONMeta(nil, "1.1", serial)) + `,"projects":[{"name":"a","_last-serial":3}]}` + "\n"
		for _, c := range []struct {
			page Page
			body string
		}{{HTML, html}, {JSON, json}, {JSON, root}} {
			if got, ok := ParseSerial(c.page, []byte(c.body)); !ok || got != serial {
				t.Errorf("ParseSerial(%q) = %d, %v; want %d", c.body, got, ok, serial)
			}
			if got, ok := ReadSerial(writePage(t, c.body), c.page); !ok || got != serial {
				t.Errorf("ReadSerial(%q) = %d, %v; want %d", c.body, got, ok, serial)
			}
		}
	}
	if got := string(AppendHTMLSerial(nil, 7)); got != "<!--SERIAL 7-->\n" {
		t.Errorf("AppendHTMLSerial = %q", got)
	}
	if got := string(AppendJSONMeta(nil, "1.1", 7)); got != `{"meta":{"api-version":"1.1","_last-serial":7}` {
		t.Errorf("AppendJSONMeta = %q", got)
	}
}

func writePage(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "page")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSerialRules holds every reader to one set of rules. The cases marked
// "disagreed" are where the two readers before datadir (staticgen's
// PageSerial and static's header reader) gave different answers; the
// comment says what static's answered.
func TestSerialRules(t *testing.T) {
	t.Parallel()
	big := "<html>" + strings.Repeat("<a href=x>x</a><br />\n", 200) + "</html>\n"
	bigJSON := `{"meta":{"api-version":"1.1","_last-serial":9},"files":[` + strings.Repeat(`{"f":"x"},`, 200) + `{"f":"y"}]}` + "\n"
	tests := []struct {
		name   string
		page   Page
		body   string
		digits string // what SerialDigits finds in the window; "" for none
		whole  bool   // ParseSerial and ReadSerial find the serial too
	}{
		{"html", HTML, "<html></html>\n<!--SERIAL 123-->\n", "123", true},
		{"html without newline", HTML, "<html></html>\n<!--SERIAL 123-->", "123", true},
		{"html with trailing blank lines", HTML, "<!--SERIAL 7-->\n\n \t\r\n", "7", true},
		{"html large page", HTML, big + "<!--SERIAL 8-->\n", "8", true},
		{"html leading zeros", HTML, "<!--SERIAL 007-->", "007", true},
		{"html max int64", HTML, "<!--SERIAL 9223372036854775807-->", "9223372036854775807", true},
		{"html the last comment counts", HTML, "<!--SERIAL 1-->\n<!--SERIAL 2-->\n", "2", true},
		{"html no serial", HTML, "<html></html>\n", "", false},
		{"html empty", HTML, "", "", false},
		{"html cut inside the comment", HTML, "<html></html>\n<!--SERIAL 12", "", false},
		{"html empty serial", HTML, "<!--SERIAL -->", "", false},
		{"html negative", HTML, "<!--SERIAL -3-->", "", false},
		{"html non-digit", HTML, "<!--SERIAL x-->\n", "", false},
		{"html exponent", HTML, "<!--SERIAL 1e3-->", "", false},
		{"html space in serial", HTML, "<!--SERIAL 1 -->", "", false},
		{"html 20 digits", HTML, "<!--SERIAL 12345678901234567890-->\n", "", false},
		// disagreed: static took the 19 digits as a serial.
		{"html overflow", HTML, "<!--SERIAL 9223372036854775808-->", "", false},
		// disagreed: static took 7.
		{"html comment not at the end", HTML, "<!--SERIAL 7-->\n<p>x</p>", "", false},

		{"json", JSON, `{"meta":{"api-version":"1.1","_last-serial":40},"name":"x"}`, "40", true},
		{"json serial first in meta", JSON, `{"meta":{"_last-serial":8,"api-version":"1.1"}}`, "8", true},
		{"json zero", JSON, `{"meta":{"api-version":"1.1","_last-serial":0},"projects":[]}` + "\n", "0", true},
		{"json large page", JSON, bigJSON, "9", true},
		{"json root ignores per-project serials", JSON, `{"meta":{"api-version":"1.1"},"projects":[{"name":"a","_last-serial":3}]}`, "", false},
		{"json string serial", JSON, `{"meta":{"api-version":"1.1","_last-serial":"40"}}`, "", false},
		{"json empty", JSON, "", "", false},
		{"json meta cut by the window", JSON, `{"meta":{"_last-serial":12`, "", false},
		// disagreed: static allowed white space around the colons.
		{"json white space", JSON, `{"meta": {"api-version": "1.1", "_last-serial": 40}}`, "", false},
		// disagreed: static searched for the first "_last-serial" anywhere.
		{"json other first key", JSON, `{"name":"x","meta":{"_last-serial":3}}`, "", false},
		// disagreed: static took the 3.
		{"json float", JSON, `{"meta":{"api-version":"1.1","_last-serial":3.5}}`, "", false},
		// disagreed: static took the 19 digits.
		{"json overflow", JSON, `{"meta":{"_last-serial":9223372036854775808}}`, "", false},
		// Only a reader of the whole page sees that it is cut short: the
		// window (the HTTP layer's) still shows the serial. staticgen's
		// reader said no; static's said 9.
		{"json cut short", JSON, bigJSON[:len(bigJSON)/2], "9", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := []byte(tt.body)
			win := b
			if len(win) > SerialWindow {
				if tt.page == HTML {
					win = win[len(win)-SerialWindow:]
				} else {
					win = win[:SerialWindow]
				}
			}
			if got := string(SerialDigits(tt.page, win)); got != tt.digits {
				t.Errorf("SerialDigits(window) = %q, want %q", got, tt.digits)
			}
			f, err := os.Open(writePage(t, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var buf [SerialWindow]byte
			if got, err := ReadSerialDigits(f, int64(len(b)), tt.page, &buf); err != nil || string(got) != tt.digits {
				t.Errorf("ReadSerialDigits = %q, %v; want %q", got, err, tt.digits)
			}
			_, ok := ParseSerial(tt.page, b)
			if ok != tt.whole {
				t.Errorf("ParseSerial ok = %v, want %v", ok, tt.whole)
			}
			_, ok = ReadSerial(f.Name(), tt.page)
			if ok != tt.whole {
				t.Errorf("ReadSerial ok = %v, want %v", ok, tt.whole)
			}
		})
	}
}

func TestReadSerialMissing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, p := range []string{filepath.Join(dir, "nope"), dir} {
		if _, ok := ReadSerial(p, HTML); ok {
			t.Errorf("ReadSerial(%s) found a serial", p)
		}
	}
}

func BenchmarkReadSerialDigits(b *testing.B) {
	body := "<html>" + strings.Repeat("<a href=x>x</a><br />\n", 200) + "</html>\n<!--SERIAL 1234567-->\n"
	p := filepath.Join(b.TempDir(), "page")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var buf [SerialWindow]byte
	b.ReportAllocs()
	for b.Loop() {
		if d, err := ReadSerialDigits(f, int64(len(body)), HTML, &buf); err != nil || d == nil {
			b.Fatal(d, err)
		}
	}
}
