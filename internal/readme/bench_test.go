package readme_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/readme"
)

// BenchmarkRenderMarkdown100KB is what rendering adds to the upload that
// creates a release with a 100 KB Markdown README (headings, prose with
// links and emphasis, fenced code, tables). Each iteration renders a
// different text (a link reference definition, which shows nothing), so
// the renderer's small cache never answers; an HTML comment there would
// be raw HTML, and take the slower path BenchmarkRenderMarkdownRawHTML
// measures.
func BenchmarkRenderMarkdown100KB(b *testing.B) {
	benchMarkdown100KB(b, func(i int) string { return fmt.Sprintf("[r%d]: https://example.com/\n\n", i) })
}

// BenchmarkRenderMarkdownRawHTML is the same README with one line of raw
// HTML (a comment), which takes the path that balances the markup by
// parsing it.
func BenchmarkRenderMarkdownRawHTML(b *testing.B) {
	benchMarkdown100KB(b, func(i int) string { return fmt.Sprintf("<!-- %d -->\n", i) })
}

// benchMarkdown100KB renders markdown100KB after head(i) in iteration i.
func benchMarkdown100KB(b *testing.B, head func(i int) string) {
	src := markdown100KB()
	r := readme.New(readme.Config{})
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Render(context.Background(), head(i)+src, "text/markdown")
	}
}

func markdown100KB() string {
	var sb strings.Builder
	for i := 0; sb.Len() < 100<<10; i++ {
		fmt.Fprintf(&sb, "## Section %d\n\nSome *prose* with a [link](https://example.com/%d) and `code`, ~~old~~ text.\n\n", i, i)
		sb.WriteString("```python\nimport demo\nprint(demo.hello('<x>'))\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n")
	}
	return sb.String()
}
