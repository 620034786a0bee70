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
// different text, so the renderer's small cache never answers.
func BenchmarkRenderMarkdown100KB(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 100<<10; i++ {
		fmt.Fprintf(&sb, "## Section %d\n\nSome *prose* with a [link](https://example.com/%d) and `code`, ~~old~~ text.\n\n", i, i)
		sb.WriteString("```python\nimport demo\nprint(demo.hello('<x>'))\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n")
	}
	src := sb.String()
	r := readme.New(readme.Config{})
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Render(context.Background(), fmt.Sprintf("<!-- %d -->\n", i)+src, "text/markdown")
	}
}
