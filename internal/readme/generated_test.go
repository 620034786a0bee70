package readme

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuin/goldmark/text"
)

// generatedCorpus is Markdown without raw HTML: the documents render
// takes the path without balance's parse for.
var generatedCorpus = []string{
	"# Title\n\nA *small* package with **bold** text, ~~old~~ strikethrough and an autolink: https://example.com/docs.\n",
	"```python\nimport demo\nprint(demo.hello(\"<world>\"))\n```\n\n```\n\nleading blank line\n```\n",
	"    indented code\n    with <tags> & entities &amp; &nbsp; &#x27;\n",
	"| Option | Default |\n|:-------|--------:|\n| `level` | 3 |\n| `name` | \"demo\" |\n",
	"| only | head |\n|---|---|\n",
	"- a\n- b\n  - nested\n    1. deep\n\n  para in item\n- [x] done\n- [ ] to do\n",
	"> quote\n> > nested quote\n>\n> - list in quote\n",
	"[relative](docs/usage.md) [anchor](#install) <mailto:team@example.com> <https://x.example/?a=1&b=2>\n",
	"[js](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=) [vb](vbscript:x) ![img](javascript:alert(2))\n",
	"![alt \"quoted\"](https://example.com/i.png \"title\") [t](https://example.com/ 'it''s')\n",
	"[see https://example.com/inner](https://example.com/outer) www.example.com/x\n",
	"line one  \nline two\\\nline three\n\n---\n\n***\n",
	"Setext\n======\n\nSub\n---\n\n## Same ##\n## Same ##\n",
	"[ref]\n\n[ref]: //example.com/protocol-relative \"t\"\n",
	"`code with <b>` and \\<escaped\\> and \r\nCRLF\r\n",
	"*emph **strong *both***\n\n1) one\n2) two\n",
	"[x](HTTPS://EXAMPLE.COM) [y](mailto:a@b.c) [z](ftp://example.com/) [w](./rel?q=1#f)\n",
	"| a | `b \\| c` |\n|---|---|\n| [l](https://e.x/) | ![i](/i.png) |\n",
}

// TestGeneratedAsBalanced: for Markdown without raw HTML, the path
// without the parse gives balance's HTML byte for byte.
func TestGeneratedAsBalanced(t *testing.T) {
	corpus := append([]string(nil), generatedCorpus...)
	var big strings.Builder
	for i := 0; big.Len() < 100<<10; i++ {
		fmt.Fprintf(&big, "## Section %d\n\nSome *prose* with a [link](https://example.com/%d) and `code`, ~~old~~ text.\n\n", i, i)
		big.WriteString("```python\nimport demo\nprint(demo.hello('<x>'))\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n")
	}
	corpus = append(corpus, big.String())
	for _, name := range []string{"markdown.md", "hostile.md"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		corpus = append(corpus, string(b)) // these hold raw HTML: the check below sees it
	}
	fast := 0
	for i, src := range corpus {
		out, raw := renderBoth(t, src)
		if raw {
			continue
		}
		fast++
		if out[0] != out[1] {
			t.Errorf("document %d: relink and balance differ:\nrelink:  %q\nbalance: %q", i, out[0], out[1])
		}
	}
	if fast < len(generatedCorpus) {
		t.Errorf("only %d of %d documents had no raw HTML", fast, len(generatedCorpus))
	}
}

func FuzzGeneratedAsBalanced(f *testing.F) {
	for _, s := range generatedCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if out, raw := renderBoth(t, src); !raw && out[0] != out[1] {
			t.Errorf("relink and balance differ for %q:\nrelink:  %q\nbalance: %q", src, out[0], out[1])
		}
	})
}

// renderBoth renders src with goldmark and bluemonday, and returns relink's
// and balance's HTML for it, and whether it held raw HTML.
func renderBoth(t *testing.T, src string) ([2]string, bool) {
	t.Helper()
	b := []byte(src)
	doc := markdown.Parser().Parse(text.NewReader(b))
	var buf bytes.Buffer
	if err := markdown.Renderer().Render(&buf, b, doc); err != nil {
		t.Fatal(err)
	}
	clean := policy.SanitizeBytes(buf.Bytes())
	return [2]string{relink(clean), balance(clean)}, hasRawHTML(doc)
}
