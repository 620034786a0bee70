package upload

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAttestationsIgnored: an upload with a PEP 740 "attestations" field,
// as uv publish sends it, is accepted as if the field were absent,; nothing
// about it reaches the pages (no provenance, no data-provenance, api
// version not 1.3-only) or the stored metadata.
func TestAttestationsIgnored(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	att := `[{"version":1,"verification_material":{"certificate":"` + strings.Repeat("A", 1<<20) + `"},"envelope":{"statement":"e30=","signature":"c2ln"}}]`
	f := twineForm("demo", "1.0", "bdist_wheel", "py3", "demo-1.0-py3-none-any.whl", wheelSpec{dist: "demo", version: "1.0"}.build(t)).
		with("attestations", att)
	h.mustUpload(uploadRequest{form: f})
	html, json := h.page("demo")
	if !strings.Contains(html, "demo-1.0-py3-none-any.whl") {
		t.Fatalf("the file is not on the page:\n%s", html)
	}
	for _, page := range []string{html, json} {
		if strings.Contains(page, "provenance") || strings.Contains(page, "attestation") {
			t.Errorf("the page advertises attestations:\n%s", page)
		}
	}
	if md := h.query(`SELECT metadata::text FROM releases`); strings.Contains(md, "attestation") || strings.Contains(md, "AAAA") {
		t.Errorf("stored metadata keeps the attestations: %.200s", md)
	}
}

// TestParseFormAttestations: the field's size is recorded for the one log
// line, and -1 means there was none.
func TestParseFormAttestations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		form form
		want int64
	}{
		{form{}.with("name", "demo"), -1},
		{form{}.with("name", "demo").with("attestations", "[]"), 2},
		{form{}.with("attestations", "[]", "[1]"), 5},
	} {
		ctype, body := encodeTwine(tc.form)
		r := httptest.NewRequest(http.MethodPost, "/legacy/", bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		req, err := parseForm(r, t.TempDir(), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if req.attestations != tc.want {
			t.Errorf("attestations = %d, want %d", req.attestations, tc.want)
		}
		if _, ok := req.fields["attestations"]; ok {
			t.Error("the field was kept")
		}
		req.cleanup()
	}
}
