package readme

import (
	"bytes"
	"html"
	"strings"

	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// balance parses sanitiser output as the body of a <div>, as a browser
// would, gives every link that leaves the site (an absolute URL)
// rel="nofollow noopener ugc" in place of any rel it had, moves ids under
// UserContentPrefix, and serialises
// the tree again: every element the README opened is closed inside the
// README, so an unclosed <table> or <div> cannot swallow the rest of the
// page.
func balance(b []byte) string {
	ctx := &nethtml.Node{Type: nethtml.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := nethtml.ParseFragment(bytes.NewReader(b), ctx)
	if err != nil {
		return "" // only a reader error; b is in memory
	}
	var out bytes.Buffer
	out.Grow(len(b) + 256)
	for _, n := range nodes {
		fixLinks(n)
		if err := nethtml.Render(&out, n); err != nil {
			return ""
		}
	}
	return out.String()
}

func fixLinks(n *nethtml.Node) {
	if n.Type == nethtml.ElementNode {
		external := false
		attrs := n.Attr[:0]
		for _, a := range n.Attr {
			if n.DataAtom == atom.A {
				if a.Key == "rel" {
					continue
				}
				if a.Key == "href" && isExternal(a.Val) {
					external = true
				}
			}
			a.Val = userContent(n.DataAtom == atom.A, a.Key, a.Val)
			attrs = append(attrs, a)
		}
		if external {
			attrs = append(attrs, nethtml.Attribute{Key: "rel", Val: "nofollow noopener ugc"})
		}
		n.Attr = attrs
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		fixLinks(c)
	}
}

// UserContentPrefix starts every id in a README, and the fragment of
// every link to one, as on GitHub: a README's ids (its own, or those
// goldmark gives its headings) can then never be the page's, whose skip
// link, headings and labels point at ids of their own ("content", "title").
const UserContentPrefix = "user-content-"

// userContent returns the value of attribute key with a README's ids
// moved under UserContentPrefix: an id, and a link's fragment.
func userContent(link bool, key, val string) string {
	switch {
	case key == "id":
		return UserContentPrefix + val
	case link && key == "href" && len(val) > 1 && val[0] == '#':
		return "#" + UserContentPrefix + val[1:]
	}
	return val
}

// isExternal reports whether a link names a scheme or a host: anything
// but a fragment or a path on this site.
func isExternal(href string) bool {
	h := strings.TrimSpace(href)
	if strings.HasPrefix(h, "//") {
		return true
	}
	if strings.HasPrefix(h, "#") || strings.HasPrefix(h, "/") {
		return false
	}
	i := strings.IndexAny(h, ":/?#")
	return i > 0 && h[i] == ':'
}

// relink does balance's work on markup that needs no balancing (see
// sanitizeGenerated), without parsing it: bluemonday's serialisation, in
// which every '<' opens a tag and every attribute is written
// key="escaped value". It gives links balance's rel, moves ids as balance
// does, and writes void
// elements as html.Render does ("<br/>"), so that its output is balance's
// byte for byte. Markup it does not expect goes to balance.
func relink(b []byte) string {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/16)
	rest := b
	for {
		i := bytes.IndexByte(rest, '<')
		if i < 0 {
			out.Write(rest)
			return out.String()
		}
		out.Write(rest[:i])
		rest = rest[i:]
		j := bytes.IndexByte(rest, '>')
		if j < 0 {
			return balance(b)
		}
		tag := rest[:j+1]
		rest = rest[j+1:]
		if len(tag) > 1 && tag[1] == '/' {
			out.Write(tag)
			continue
		}
		name, attrs, selfClosing, ok := splitTag(tag)
		if !ok {
			return balance(b)
		}
		if len(attrs) > 0 {
			out.WriteString("<" + name)
			external := false
			for _, a := range attrs {
				if name == "a" {
					if a.Key == "rel" {
						continue
					}
					if a.Key == "href" && isExternal(html.UnescapeString(a.Val)) {
						external = true
					}
				}
				// The value is escaped; the prefix needs no escaping.
				out.WriteString(" " + a.Key + `="` + userContent(name == "a", a.Key, a.Val) + `"`)
			}
			if external {
				out.WriteString(` rel="nofollow noopener ugc"`)
			}
			tag = []byte(">")
			if selfClosing {
				tag = []byte("/>")
			}
		}
		switch {
		case voidElements[name] && !selfClosing:
			out.Write(tag[:len(tag)-1])
			out.WriteString("/>")
		case selfClosing && !voidElements[name]:
			return balance(b) // a parser would see a start tag only
		default:
			out.Write(tag)
		}
	}
}

// voidElements are the elements html.Render writes as "<name/>".
var voidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true, "input": true,
	"keygen": true, "link": true, "meta": true, "param": true, "source": true, "track": true, "wbr": true,
}

// splitTag splits a start tag as bluemonday writes it, `<name k="v" k2="v2">`
// or with "/>", into its name and attributes (values still escaped).
func splitTag(tag []byte) (name string, attrs []nethtml.Attribute, selfClosing, ok bool) {
	s := string(tag[1 : len(tag)-1])
	if strings.HasSuffix(s, "/") {
		selfClosing = true
		s = s[:len(s)-1]
	}
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		i = len(s)
	}
	name, s = s[:i], s[i:]
	if name == "" {
		return "", nil, false, false
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return "", nil, false, false
		}
	}
	for s != "" {
		// ` key="value"`
		if s[0] != ' ' {
			return "", nil, false, false
		}
		eq := strings.Index(s, `="`)
		if eq < 2 {
			return "", nil, false, false
		}
		end := strings.IndexByte(s[eq+2:], '"')
		if end < 0 {
			return "", nil, false, false
		}
		attrs = append(attrs, nethtml.Attribute{Key: s[1:eq], Val: s[eq+2 : eq+2+end]})
		s = s[eq+2+end+1:]
	}
	return name, attrs, selfClosing, true
}
