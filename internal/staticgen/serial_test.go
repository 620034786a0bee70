package staticgen

import (
	"bytes"
	"testing"
)

func TestPageSerial(t *testing.T) {
	t.Parallel()
	render := func(f func(*bytes.Buffer)) string {
		var b bytes.Buffer
		f(&b)
		return b.String()
	}
	full := fullProject()
	root := rootCases()[0].st
	projectHTML := render(func(b *bytes.Buffer) { RenderProjectHTML(b, full) })
	projectJSON := render(func(b *bytes.Buffer) { RenderProjectJSON(b, full) })
	rootHTML := render(func(b *bytes.Buffer) { RenderRootHTML(b, root) })
	rootJSON := render(func(b *bytes.Buffer) { RenderRootJSON(b, root) })

	tests := []struct {
		name string
		page string
		want int64
		ok   bool
	}{
		{"project html", projectHTML, 40, true},
		{"project json", projectJSON, 40, true},
		{"root html", rootHTML, 42, true},
		{"root json ignores per-project serials", rootJSON, 42, true},
		{"html without trailing newline", "<html></html>\n<!--SERIAL 7-->", 7, true},
		{"html with trailing blank lines", "<html></html>\n<!--SERIAL 7-->\n\n", 7, true},
		{"zero", `{"meta":{"api-version":"1.1","_last-serial":0},"projects":[]}` + "\n", 0, true},
		{"max int64", "<!--SERIAL 9223372036854775807-->", 9223372036854775807, true},
		{"overflow", "<!--SERIAL 9223372036854775808-->", 0, false},
		{"empty", "", 0, false},
		{"html cut before the comment", projectHTML[:len(projectHTML)-20], 0, false},
		{"html cut inside the comment", projectHTML[:len(projectHTML)-5], 0, false},
		{"json cut short", projectJSON[:len(projectJSON)/2], 0, false},
		{"serial comment not at the end", "<!--SERIAL 7-->\n<p>x</p>", 0, false},
		{"empty serial", "<!--SERIAL -->", 0, false},
		{"negative serial", "<!--SERIAL -3-->", 0, false},
		{"non-digit serial", "<!--SERIAL 1e3-->", 0, false},
		{"space in serial", "<!--SERIAL 1 -->", 0, false},
		{"json without meta serial", `{"meta":{"api-version":"1.1"},"projects":[{"name":"a","_last-serial":3}]}`, 0, false},
		{"json with other first key", `{"name":"x","meta":{"_last-serial":3}}`, 0, false},
		{"json float serial", `{"meta":{"api-version":"1.1","_last-serial":3.5}}`, 0, false},
		{"json serial first in meta", `{"meta":{"_last-serial":8,"api-version":"1.1"}}`, 8, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := PageSerial([]byte(tc.page))
			if got != tc.want || ok != tc.ok {
				t.Errorf("PageSerial = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
