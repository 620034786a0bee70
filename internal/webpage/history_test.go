package webpage

import (
	"bytes"
	"html/template"
	"testing"
)

// historyOracle is the template historyHTML replaced: the bytes it gives
// are the bytes historyHTML must give.
var historyOracle = template.Must(template.New("h").Parse(`{{range .Rows}}<li><a href="/project/{{$.Normalized}}/{{.Version}}/">{{.Version}}</a> <span class="muted">{{.Date}}</span>{{if .Pre}} <span class="badge">pre-release</span>{{end}}{{if .Yanked}} <span class="badge yanked">yanked</span>{{if .YankedReason}} <span class="muted">{{.YankedReason}}</span>{{end}}{{end}}</li>
{{end}}`))

func checkHistoryHTML(t *testing.T, normalized string, rows []HistoryRow) {
	t.Helper()
	var want bytes.Buffer
	if err := historyOracle.Execute(&want, struct {
		Normalized string
		Rows       []HistoryRow
	}{normalized, rows}); err != nil {
		t.Fatal(err)
	}
	if got := string(historyHTML(normalized, rows)); got != want.String() {
		t.Fatalf("historyHTML(%q, %+v)\n got %q\nwant %q", normalized, rows, got, want.String())
	}
}

func TestHistoryHTMLMatchesTemplate(t *testing.T) {
	for _, tc := range []struct {
		name string
		rows []HistoryRow
	}{
		{"demo", nil},
		{"demo", []HistoryRow{{Version: "1.0", Date: "2026-01-02"}}},
		{"a-b", []HistoryRow{
			{Version: "2.0rc1", Date: "2026-01-02", Pre: true},
			{Version: "1.0+cu118.local", Date: "", Yanked: true, YankedReason: `<script>alert("x")</script> & 'q' +1`},
			{Version: "1!2.0.post1.dev3", Yanked: true},
			{Version: "weird ver/<x>%20?#é\x00\"'()", Date: "x\x00y", YankedReason: "\x00"},
		}},
		{"name with space/é", []HistoryRow{{Version: "javascript:alert(1)"}}},
	} {
		checkHistoryHTML(t, tc.name, tc.rows)
	}
}

func FuzzHistoryHTML(f *testing.F) {
	f.Add("demo", "1.0+local", "2026-01-02", "broken <b>&", true, true)
	f.Add("x", "\x00\"'<>&+%é %2f%2", "", "", false, false)
	f.Fuzz(func(t *testing.T, name, version, date, reason string, pre, yanked bool) {
		checkHistoryHTML(t, name, []HistoryRow{{Version: version, Date: date, Pre: pre, Yanked: yanked, YankedReason: reason}})
	})
}
