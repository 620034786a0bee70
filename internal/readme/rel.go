package readme

import (
	"bytes"
	"strings"

	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// balance parses sanitiser output as the body of a <div>, as a browser
// would, gives every link that leaves the site (an absolute URL)
// rel="nofollow noopener ugc" in place of any rel it had, and serialises
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
	if n.Type == nethtml.ElementNode && n.DataAtom == atom.A {
		external := false
		attrs := n.Attr[:0]
		for _, a := range n.Attr {
			if a.Key == "rel" {
				continue
			}
			if a.Key == "href" && isExternal(a.Val) {
				external = true
			}
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
