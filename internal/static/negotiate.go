package static

import "strings"

// The media types a simple page is offered in (PEP 691). text/html is the
// PEP 503 alias of v1+html for clients that predate PEP 691.
const (
	typeHTML   = "text/html"
	typeV1HTML = "application/vnd.pypi.simple.v1+html"
	typeV1JSON = "application/vnd.pypi.simple.v1+json"
)

// offer is one representation we can send. alias is the PEP 691 meta-version
// subtype that also names it; the response then names the real version.
type offer struct {
	mediaType, typ, sub, alias string
}

// offers is indexed by the offer* constants below.
var offers = [...]offer{
	{typeHTML, "text", "html", ""},
	{typeV1HTML, "application", "vnd.pypi.simple.v1+html", "vnd.pypi.simple.latest+html"},
	{typeV1JSON, "application", "vnd.pypi.simple.v1+json", "vnd.pypi.simple.latest+json"},
}

const (
	offerHTML = iota
	offerV1HTML
	offerV1JSON
)

// tieRank breaks ties left after comparing q-values and explicitness: text/html
// first, so "*/*", browsers, curl and old tools get HTML; then v1+json over
// v1+html, so "application/*" (the only header that ties the two application
// types) gets JSON, which pip, uv and bandersnatch all prefer when they name
// both.
var tieRank = [len(offers)]int{offerHTML: 3, offerV1JSON: 2, offerV1HTML: 1}

// Specificity of a media range matching an offer (RFC 9110 §12.5.1).
const (
	noMatch = iota
	anyType // */*
	anySub  // type/*
	exact   // type/subtype
)

// notAcceptable is the 406 body: short, plain text, listing what we offer.
const notAcceptable = "406 Not Acceptable\navailable media types: " +
	typeHTML + ", " + typeV1HTML + ", " + typeV1JSON + "\n"

// Negotiate implements PEP 691 server-driven content negotiation. Given the
// value of an Accept header it returns the media type to send (text/html,
// application/vnd.pypi.simple.v1+html or application/vnd.pypi.simple.v1+json),
// or ok=false when none is acceptable, which the caller answers with 406.
//
// The rule is the one PROTOCOL.md 4.1 recommends: for each offer take the q of
// the most specific matching range (equally specific duplicates: the highest
// q); drop q=0; the highest q wins; a tie goes to an offer matched by an
// explicit type over one matched by a wildcard; a remaining tie goes to
// text/html, then v1+json (see tieRank). The meta-versions latest+json and
// latest+html count as the v1 types. Parameters other than q are ignored:
// none of the offers has any.
//
// An absent or empty header means */*. So does a header in which no element
// parses (garbage, or only invalid q-values): RFC 9110 §12.5.1 lets a server
// disregard an Accept it cannot use, and answering HTML keeps browsers and
// sloppy tools working where 406 would only confuse them. Elements that do not
// parse are ignored individually; an element with an invalid q is treated as
// absent rather than guessed at.
func Negotiate(accept string) (mediaType string, ok bool) {
	type match struct{ q, spec int }
	var best [len(offers)]match
	parsed := false
	for accept != "" {
		var elem string
		elem, accept, _ = strings.Cut(accept, ",")
		rng, params, _ := strings.Cut(elem, ";")
		typ, sub, ok := strings.Cut(trimOWS(rng), "/")
		if !ok || !isToken(typ) || !isToken(sub) || (typ == "*" && sub != "*") {
			continue
		}
		q, ok := weight(params)
		if !ok {
			continue
		}
		parsed = true
		for i := range offers {
			spec := offers[i].match(typ, sub)
			if spec > best[i].spec || (spec == best[i].spec && spec != noMatch && q > best[i].q) {
				best[i] = match{q, spec}
			}
		}
	}
	if !parsed {
		return typeHTML, true
	}
	win := -1
	for i, m := range best {
		if m.spec == noMatch || m.q == 0 {
			continue
		}
		if win < 0 {
			win = i
			continue
		}
		w := best[win]
		switch {
		case m.q != w.q:
			if m.q > w.q {
				win = i
			}
		case (m.spec == exact) != (w.spec == exact):
			if m.spec == exact {
				win = i
			}
		case tieRank[i] > tieRank[win]:
			win = i
		}
	}
	if win < 0 {
		return "", false
	}
	return offers[win].mediaType, true
}

// match reports how specifically the media range typ/sub matches o.
func (o *offer) match(typ, sub string) int {
	switch {
	case typ == "*":
		return anyType
	case !strings.EqualFold(typ, o.typ):
		return noMatch
	case sub == "*":
		return anySub
	case strings.EqualFold(sub, o.sub) || (o.alias != "" && strings.EqualFold(sub, o.alias)):
		return exact
	}
	return noMatch
}

// formatType resolves a ?format= value, which names exactly one media type
// (PEP 691: it SHOULD override Accept). Wildcards and unknown types are not
// acceptable. A '+' sent unescaped in a query arrives as a space; media types
// never contain spaces, so a space is read back as '+'.
func formatType(v string) (mediaType string, ok bool) {
	v, _, _ = strings.Cut(v, ";")
	v = strings.ReplaceAll(trimOWS(v), " ", "+")
	typ, sub, _ := strings.Cut(v, "/")
	for i := range offers {
		if offers[i].match(typ, sub) == exact {
			return offers[i].mediaType, true
		}
	}
	return "", false
}

// weight returns the q parameter of an Accept element's parameters, in
// thousandths (default 1000); ok=false when a q parameter is present but not
// a valid qvalue (RFC 9110 §12.4.2: "0" to "1" with at most three decimals).
// The first q parameter counts; other parameters are skipped.
func weight(params string) (q int, ok bool) {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, val, _ := strings.Cut(p, "=")
		if !strings.EqualFold(trimOWS(name), "q") {
			continue
		}
		return parseQ(trimOWS(val))
	}
	return 1000, true
}

func parseQ(s string) (q int, ok bool) {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	whole := int(s[0] - '0')
	frac := s[1:]
	if frac != "" {
		if frac[0] != '.' || len(frac) > 4 {
			return 0, false
		}
		frac = frac[1:]
	}
	q = whole * 1000
	scale := 100
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' || (whole == 1 && c != '0') {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	return q, true
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// trimOWS trims optional whitespace (spaces and tabs) at both ends.
func trimOWS(s string) string {
	return strings.Trim(s, " \t")
}
