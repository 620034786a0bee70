package static

import "testing"

func TestNegotiate(t *testing.T) {
	t.Parallel()
	const (
		html = typeHTML
		v1h  = typeV1HTML
		v1j  = typeV1JSON
		none = "" // 406
	)
	tests := []struct {
		name, accept, want string
	}{
		{"pip", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", v1j},
		{"uv", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", v1j},
		{"bandersnatch 8", "application/vnd.pypi.simple.v1+json", v1j},
		{"no header", "", html},
		{"blank", "  ", html},
		{"any", "*/*", html},
		{"application/json only", "application/json", none},
		{"json refused", "application/vnd.pypi.simple.v1+json;q=0, text/html", html},
		{"latest json", "application/vnd.pypi.simple.latest+json", v1j},
		{"latest html", "application/vnd.pypi.simple.latest+html", v1h},
		{"v1 html", "application/vnd.pypi.simple.v1+html", v1h},
		{"text/html", "text/html", html},
		{"browser", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", html},
		{"curl", "*/*", html},
		{"text wildcard", "text/*", html},
		// v1+html and v1+json tie on q and specificity: JSON by tieRank.
		{"application wildcard", "application/*", v1j},
		{"explicit beats wildcard at equal q", "*/*, application/vnd.pypi.simple.v1+json", v1j},
		{"higher q beats explicit", "application/vnd.pypi.simple.v1+json;q=0.5, */*", html},
		{"most specific range wins, even with lower q", "text/*;q=0.9, text/html;q=0.1, application/vnd.pypi.simple.v1+html;q=0.2", v1h},
		{"specific q=0 beats wildcard", "text/html;q=0, */*", v1j},
		{"all refused", "*/*;q=0", none},
		{"wildcard refused but explicit ok", "*/*;q=0, application/vnd.pypi.simple.v1+html", v1h},
		{"case-insensitive", "Application/VND.PyPI.Simple.V1+JSON;Q=1.0", v1j},
		{"q with three decimals", "text/html;q=0.001, application/vnd.pypi.simple.v1+json;q=0.002", v1j},
		{"q=1.000", "application/vnd.pypi.simple.v1+html;q=1.000, text/html;q=0.999", v1h},
		{"order carries no meaning", "text/html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.5", html},
		{"other parameters ignored", "text/html; charset=utf-8; q=0.5, application/vnd.pypi.simple.v1+json; q=0.4", html},
		{"invalid q drops the range", "application/vnd.pypi.simple.v1+json;q=2, text/html;q=0.1", html},
		{"too many decimals drops the range", "application/vnd.pypi.simple.v1+json;q=0.0001, text/html;q=0.1", html},
		{"duplicate ranges: highest q", "application/vnd.pypi.simple.v1+json;q=0, application/vnd.pypi.simple.latest+json", v1j},
		{"empty list elements", ",, application/vnd.pypi.simple.v1+json ,", v1j},
		{"tabs as whitespace", "\tapplication/vnd.pypi.simple.v1+json\t;\tq=0.5", v1j},
		// Nothing parses: the header is disregarded (RFC 9110 §12.5.1).
		{"garbage", "this is not a media range", html},
		{"only invalid q", "application/vnd.pypi.simple.v1+json;q=abc", html},
		{"bad wildcard ignored", "*/json", html},
		{"unknown plus garbage", "application/json, ???", none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Negotiate(tt.accept)
			if tt.want == none {
				if ok {
					t.Errorf("Negotiate(%q) = %q, want not acceptable", tt.accept, got)
				}
				return
			}
			if !ok || got != tt.want {
				t.Errorf("Negotiate(%q) = %q, %v; want %q", tt.accept, got, ok, tt.want)
			}
		})
	}
}

func TestFormatType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"application/vnd.pypi.simple.v1+json", typeV1JSON, true},
		{"application/vnd.pypi.simple.v1 json", typeV1JSON, true}, // '+' decoded as space
		{"application/vnd.pypi.simple.latest+json", typeV1JSON, true},
		{"application/vnd.pypi.simple.v1+html", typeV1HTML, true},
		{"text/html", typeHTML, true},
		{"text/html; charset=utf-8", typeHTML, true},
		{"application/json", "", false},
		{"*/*", "", false},
		{"text/*", "", false},
		{"json", "", false},
	}
	for _, tt := range tests {
		got, ok := formatType(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("formatType(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseQ(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		q  int
		ok bool
	}{
		{"0", 0, true}, {"1", 1000, true}, {"0.", 0, true}, {"1.", 1000, true},
		{"0.5", 500, true}, {"0.25", 250, true}, {"0.125", 125, true}, {"1.000", 1000, true},
		{"", 0, false}, {"1.001", 0, false}, {"0.1234", 0, false}, {"2", 0, false},
		{".5", 0, false}, {"0,5", 0, false}, {"-0", 0, false}, {"0.5x", 0, false}, {"01", 0, false},
	}
	for _, tt := range tests {
		q, ok := parseQ(tt.in)
		if q != tt.q || ok != tt.ok {
			t.Errorf("parseQ(%q) = %d, %v; want %d, %v", tt.in, q, ok, tt.q, tt.ok)
		}
	}
}

func TestCommonAccept(t *testing.T) {
	for _, accept := range []string{acceptPip, acceptUV, typeV1JSON, "*/*", typeHTML} {
		got, ok := commonAccept(accept)
		want, wantOK := Negotiate(accept)
		if !ok || !wantOK || got != want {
			t.Errorf("commonAccept(%q) = %q, %v; Negotiate says %q, %v", accept, got, ok, want, wantOK)
		}
	}
	if got, want := typeHTML, must(Negotiate("")); got != want {
		t.Errorf("no Accept header: the handler answers %q, Negotiate(\"\") %q", got, want)
	}
	// The constants are the clients' real headers (as the other tests spell
	// pip's).
	if acceptPip != pipAccept {
		t.Errorf("acceptPip = %q, pip sends %q", acceptPip, pipAccept)
	}
	if _, ok := commonAccept("text/plain"); ok {
		t.Error("commonAccept answered a header it does not know")
	}
}

func must(mt string, ok bool) string {
	if !ok {
		return "406"
	}
	return mt
}
