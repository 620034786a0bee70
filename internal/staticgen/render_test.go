package staticgen

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// checkGolden compares got with testdata/golden/<name>, or rewrites the file
// under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/staticgen -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update and review the diff)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// TestRenderGolden renders every project and root case to both pages,
// compares each with its golden file (<name>.html, <name>.json; a variant's
// HTML page with the page it renders like, edited) and checks what it says.
func TestRenderGolden(t *testing.T) {
	t.Parallel()
	var cases []goldenCase
	for _, tc := range projectCases() {
		cases = append(cases, renderCase(tc.name, tc.like, tc.st, RenderProjectHTML, RenderProjectJSON, checkProjectHTML, checkProjectJSON))
	}
	for _, tc := range rootCases() {
		cases = append(cases, renderCase(tc.name, tc.like, tc.st, RenderRootHTML, RenderRootJSON, checkRootHTML, checkRootJSON))
	}
	pages := map[string][]byte{}
	for _, c := range cases {
		pages[c.name] = c.html
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.like == nil {
				checkGolden(t, c.name+".html", c.html)
			} else {
				checkVariant(t, c.like, pages[c.like.like], c.html)
			}
			checkGolden(t, c.name+".json", c.json)
			c.check(t, c.html, c.json)
		})
	}
}

type goldenCase struct {
	name       string
	like       *variant
	html, json []byte
	check      func(t *testing.T, html, json []byte) // what the pages say
}

// renderCase renders st to both pages.
func renderCase[S any](name string, like *variant, st S, renderHTML, renderJSON func(*bytes.Buffer, S), checkHTML, checkJSON func(*testing.T, []byte, S)) goldenCase {
	var h, j bytes.Buffer
	renderHTML(&h, st)
	renderJSON(&j, st)
	return goldenCase{name, like, h.Bytes(), j.Bytes(), func(t *testing.T, h, j []byte) {
		t.Helper()
		checkHTML(t, h, st)
		checkJSON(t, j, st)
	}}
}

// checkVariant compares got with like (the page of the case v renders
// like, itself checked against its golden) edited as v says.
func checkVariant(t *testing.T, v *variant, like, got []byte) {
	t.Helper()
	if like == nil {
		t.Fatalf("no case %q to render like", v.like)
	}
	want := string(like)
	for i := 0; i+1 < len(v.edits); i += 2 {
		old, repl := v.edits[i], v.edits[i+1]
		if !strings.Contains(want, old) {
			t.Fatalf("the page of %s lacks %q", v.like, old)
		}
		want = strings.ReplaceAll(want, old, repl)
	}
	if v.noLinks {
		lines := strings.SplitAfter(want, "\n")
		kept := slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return strings.HasPrefix(l, "    <a ") })
		if len(kept) == len(lines) {
			t.Fatalf("the page of %s has no links to leave out", v.like)
		}
		want = strings.Join(kept, "")
	}
	if string(got) != want {
		t.Errorf("page differs from the page of %s edited as its case says\ngot:\n%s\nwant:\n%s", v.like, got, want)
	}
}

// TestRenderDoesNotModifyState guards the caller's slices: the store's
// state may be reused, and rendering twice must give the same bytes.
func TestRenderDoesNotModifyState(t *testing.T) {
	t.Parallel()
	st := fullProject()
	before := slices.Clone(st.Files)
	var a, b bytes.Buffer
	RenderProjectHTML(&a, st)
	RenderProjectHTML(&b, st)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two renders of one state differ")
	}
	for i := range before {
		if before[i].ID != st.Files[i].ID {
			t.Fatalf("Files[%d] reordered", i)
		}
	}
	root := rootCases()[0].st
	first := root.Projects[0].Normalized
	RenderRootJSON(&a, root)
	if root.Projects[0].Normalized != first {
		t.Error("root projects reordered")
	}
}

// expectedOrder is the page order computed independently of render.go:
// PEP 440 version, then filename.
func expectedOrder(t *testing.T, st index.ProjectState) []index.File {
	t.Helper()
	if !st.Project.Status.OffersFiles() {
		return nil // PEP 792: a quarantined project offers no files
	}
	files := slices.Clone(st.Files)
	slices.SortStableFunc(files, func(a, b index.File) int {
		va, vb := mustVersion(t, fileRelease(st, a).Version), mustVersion(t, fileRelease(st, b).Version)
		if c := va.Compare(vb); c != 0 {
			return c
		}
		return strings.Compare(a.Filename, b.Filename)
	})
	return files
}

func expectedVersions(t *testing.T, st index.ProjectState) []string {
	t.Helper()
	vs := []string{}
	for _, r := range st.Releases {
		vs = append(vs, r.Version)
	}
	slices.SortFunc(vs, func(a, b string) int { return mustVersion(t, a).Compare(mustVersion(t, b)) })
	return vs
}

func mustVersion(t *testing.T, s string) index.Version {
	t.Helper()
	v, err := index.ParseVersion(s)
	if err != nil {
		t.Fatalf("fixture version %q: %v", s, err)
	}
	return v
}

func fileRelease(st index.ProjectState, f index.File) index.Release {
	for _, r := range st.Releases {
		if r.ID == f.ReleaseID {
			return r
		}
	}
	panic("fixture file without release: " + f.Filename)
}

// expectedURL is the documented URL rule: the CDN URL verbatim, else the
// packages/ path relative to the project page, with every byte outside
// RFC 3986 pchar and '/' (and the ampersand and apostrophe) percent-encoded.
func expectedURL(f index.File) string {
	if f.CDNURL != "" {
		return f.CDNURL
	}
	const keep = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$()*+,;=:@/"
	var b strings.Builder
	for _, c := range []byte(f.Path) {
		if strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return "../../packages/" + b.String()
}

// htmlText is what an HTML page shows for free text s: controls (except
// whitespace) and invalid UTF-8 replaced by U+FFFD, byte by byte.
func htmlText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unicode.IsControl(r) && !strings.ContainsRune("\t\n\f\r", r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}

var (
	tagRE  = regexp.MustCompile(`<[^>]*>`)
	attrRE = regexp.MustCompile(`\s+([a-z-]+)="([^"<>]*)"`)
	// A start tag whose attribute values are all double-quoted and escaped.
	startTagRE = regexp.MustCompile(`^<([a-z][a-z0-9]*)((?:\s+[a-z-]+="[^"<>]*")*)\s*/?>$`)
	anchorRE   = regexp.MustCompile(`<a((?:\s+[a-z-]+="[^"<>]*")*)>([^<]*)</a>`)
	// Character references allowed in text and attribute values.
	entityRE = regexp.MustCompile(`&(?:amp|lt|gt|quot|#34|#39);`)
)

// checkHTMLShape is the structural check shared by project and root pages:
// every '<' starts a well-formed tag, elements nest, attribute values are
// quoted and escaped, and the page ends with the serial comment.
func checkHTMLShape(t *testing.T, page []byte, title, extraMeta string, serial int64) {
	t.Helper()
	s := string(page)
	head := "<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n" +
		"    <meta name=\"pypi:repository-version\" content=\"1.4\">\n" + extraMeta +
		"    <title>" + html.EscapeString(title) + "</title>\n"
	if !strings.HasPrefix(s, head) {
		t.Errorf("page does not start with the expected head:\n%s", s)
	}
	tail := "</html>\n<!--SERIAL " + strconv.FormatInt(serial, 10) + "-->\n"
	if !strings.HasSuffix(s, tail) {
		t.Errorf("page does not end with %q", tail)
	}
	if n, ok := pageSerial(page); !ok || n != serial {
		t.Errorf("PageSerial = %d, %v; want %d", n, ok, serial)
	}
	if !utf8Valid(s) {
		t.Error("page is not valid UTF-8")
	}
	body := strings.TrimSuffix(strings.TrimPrefix(s, "<!DOCTYPE html>"), tail[len("</html>\n"):])
	var stack []string
	for _, loc := range tagRE.FindAllStringIndex(body, -1) {
		tag := body[loc[0]:loc[1]]
		switch {
		case strings.HasPrefix(tag, "</"):
			name := tag[2 : len(tag)-1]
			if len(stack) == 0 || stack[len(stack)-1] != name {
				t.Fatalf("unbalanced %s (open: %v)", tag, stack)
			}
			stack = stack[:len(stack)-1]
		default:
			m := startTagRE.FindStringSubmatch(tag)
			if m == nil {
				t.Fatalf("malformed tag %q", tag)
			}
			for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
				checkEscaped(t, a[2])
			}
			if m[1] != "meta" && m[1] != "br" {
				stack = append(stack, m[1])
			}
		}
	}
	if len(stack) != 0 {
		t.Errorf("unclosed elements %v", stack)
	}
	for _, text := range tagRE.Split(body, -1) {
		if strings.ContainsAny(text, "<>") {
			t.Errorf("stray angle bracket in text %q", text)
		}
		checkEscaped(t, text)
	}
}

// checkEscaped reports '&' that does not start one of the references the
// renderer emits.
func checkEscaped(t *testing.T, s string) {
	t.Helper()
	if strings.Count(s, "&") != len(entityRE.FindAllString(s, -1)) {
		t.Errorf("unescaped '&' in %q", s)
	}
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }

type link struct {
	attrs map[string]string // unescaped values
	text  string
}

func links(page []byte) []link {
	var out []link
	for _, m := range anchorRE.FindAllStringSubmatch(string(page), -1) {
		l := link{attrs: map[string]string{}, text: html.UnescapeString(m[2])}
		for _, a := range attrRE.FindAllStringSubmatch(m[1], -1) {
			l.attrs[a[1]] = html.UnescapeString(a[2])
		}
		out = append(out, l)
	}
	return out
}

func checkProjectHTML(t *testing.T, page []byte, st index.ProjectState) {
	t.Helper()
	// PEP 792 (api 1.4): the status always, the reason when there is one.
	status := "    <meta name=\"pypi:project-status\" content=\"" + st.Project.Status.String() + "\">\n"
	if st.Project.StatusReason != "" {
		status += "    <meta name=\"pypi:project-status-reason\" content=\"" + html.EscapeString(st.Project.StatusReason) + "\">\n"
	}
	checkHTMLShape(t, page, "Links for "+st.Project.Name, status, st.Project.LastSerial)
	// PROTOCOL.md conformance case 61.
	for _, bad := range []string{"data-dist-info-metadata", `data-core-metadata="false"`} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("page contains %s", bad)
		}
	}
	if !bytes.Contains(page, []byte("<h1>Links for "+html.EscapeString(st.Project.Name)+"</h1>")) {
		t.Error("missing <h1>")
	}
	want := expectedOrder(t, st)
	got := links(page)
	if len(got) != len(want) || bytes.Count(page, []byte("<a ")) != len(want) {
		t.Fatalf("%d links, want %d", len(got), len(want))
	}
	for i, l := range got {
		f := want[i]
		href, frag, ok := strings.Cut(l.attrs["href"], "#")
		if !ok || frag != "sha256="+f.SHA256 {
			t.Errorf("link %d href %q lacks #sha256=%s", i, l.attrs["href"], f.SHA256)
		}
		if href != expectedURL(f) {
			t.Errorf("link %d href %q, want %q", i, href, expectedURL(f))
		}
		// PEP 503: the anchor text is the last path component of the URL.
		u, err := url.Parse(href)
		if err != nil || path.Base(u.Path) != l.text || l.text != f.Filename {
			t.Errorf("link %d text %q, URL %q, filename %q", i, l.text, href, f.Filename)
		}
		checkAttr(t, l, "data-requires-python", f.RequiresPython, f.RequiresPython != "")
		r := fileRelease(st, f)
		checkAttr(t, l, "data-yanked", htmlText(r.YankedReason), r.Yanked)
		checkAttr(t, l, "data-core-metadata", "sha256="+f.MetadataSHA256, f.MetadataSHA256 != "")
	}
}

func checkAttr(t *testing.T, l link, name, want string, present bool) {
	t.Helper()
	got, ok := l.attrs[name]
	switch {
	case ok != present:
		t.Errorf("%s: %s present = %v, want %v", l.text, name, ok, present)
	case ok && got != want:
		t.Errorf("%s: %s = %q, want %q", l.text, name, got, want)
	}
}

func checkRootHTML(t *testing.T, page []byte, st index.RootState) {
	t.Helper()
	checkHTMLShape(t, page, "Simple index", "", st.Serial)
	want := slices.Clone(st.Projects)
	slices.SortFunc(want, func(a, b index.Project) int { return strings.Compare(string(a.Normalized), string(b.Normalized)) })
	got := links(page)
	if len(got) != len(want) {
		t.Fatalf("%d links, want %d", len(got), len(want))
	}
	for i, l := range got {
		ref, err := url.Parse("https://example.net/simple/")
		if err != nil {
			t.Fatal(err)
		}
		u, err := ref.Parse(l.attrs["href"])
		if err != nil || u.Path != "/simple/"+string(want[i].Normalized)+"/" {
			t.Errorf("link %d resolves to %v (%v), want /simple/%s/", i, u, err, want[i].Normalized)
		}
		if l.text != want[i].Name {
			t.Errorf("link %d text %q, want %q", i, l.text, want[i].Name)
		}
	}
}

// PEP 691 types, as a client would declare them. Field order is the order
// the pages use, so encoding/json of these types is a reference encoder.
type (
	pep691Meta struct {
		APIVersion string `json:"api-version"`
		LastSerial int64  `json:"_last-serial"`
	}
	pep691Project struct {
		Meta          pep691Meta   `json:"meta"`
		Name          string       `json:"name"`
		ProjectStatus pep792Status `json:"project-status"`
		Versions      []string     `json:"versions"`
		Files         []pep691File `json:"files"`
	}
	pep792Status struct {
		Status string `json:"status"`
		Reason string `json:"reason,omitempty"`
	}
	pep691File struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython *string           `json:"requires-python"`
		Size           int64             `json:"size"`
		UploadTime     string            `json:"upload-time,omitempty"`
		Yanked         any               `json:"yanked"`        // false, true or the reason
		CoreMetadata   any               `json:"core-metadata"` // false or {"sha256": hex}
	}
	pep691Root struct {
		Meta     pep691Meta          `json:"meta"`
		Projects []pep691RootProject `json:"projects"`
	}
	pep691RootProject struct {
		Name       string `json:"name"`
		LastSerial int64  `json:"_last-serial"`
	}
)

var uploadTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

// decodeStrict decodes page into v, refusing unknown keys (so no
// "dist-info-metadata" can slip in) and trailing data.
func decodeStrict(t *testing.T, page []byte, v any) {
	t.Helper()
	if !bytes.HasSuffix(page, []byte("}\n")) || bytes.Count(page, []byte("\n")) != 1 {
		t.Error("JSON page is not one compact line ending in a newline")
	}
	dec := json.NewDecoder(bytes.NewReader(page))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("page does not decode as PEP 691: %v\n%s", err, page)
	}
	if dec.More() {
		t.Error("trailing data after the JSON object")
	}
}

// marshalReference encodes v with encoding/json the way the pages are
// meant to look: compact, no HTML escaping, trailing newline.
func marshalReference(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func checkProjectJSON(t *testing.T, page []byte, st index.ProjectState) {
	t.Helper()
	var got pep691Project
	decodeStrict(t, page, &got)
	if n, ok := pageSerial(page); !ok || n != st.Project.LastSerial {
		t.Errorf("PageSerial = %d, %v; want %d", n, ok, st.Project.LastSerial)
	}

	want := pep691Project{
		Meta:          pep691Meta{APIVersion: "1.4", LastSerial: st.Project.LastSerial},
		Name:          string(st.Project.Normalized),
		ProjectStatus: pep792Status{Status: st.Project.Status.String(), Reason: st.Project.StatusReason},
		Versions:      expectedVersions(t, st),
		Files:         []pep691File{},
	}
	for _, f := range expectedOrder(t, st) {
		if !uploadTimeRE.MatchString(f.UploadTime.UTC().Format(uploadTimeLayout)) {
			t.Fatalf("bad fixture time %v", f.UploadTime)
		}
		wf := pep691File{Filename: f.Filename, URL: expectedURL(f), Hashes: map[string]string{"sha256": f.SHA256},
			Size: f.Size, UploadTime: f.UploadTime.UTC().Format("2006-01-02T15:04:05.000000Z"),
			Yanked: false, CoreMetadata: false}
		if f.RequiresPython != "" {
			wf.RequiresPython = &f.RequiresPython
		}
		if r := fileRelease(st, f); r.Yanked && r.YankedReason != "" {
			wf.Yanked = r.YankedReason
		} else if r.Yanked {
			wf.Yanked = true
		}
		if f.MetadataSHA256 != "" {
			wf.CoreMetadata = map[string]string{"sha256": f.MetadataSHA256}
		}
		want.Files = append(want.Files, wf)
	}
	if ref := marshalReference(t, want); !bytes.Equal(page, ref) {
		t.Errorf("page differs from encoding/json of the PEP 691 types\ngot:  %s\nwant: %s", page, ref)
	}

	// PROTOCOL.md conformance case 62: versions ⊇ the versions of all files.
	for _, f := range st.Files {
		if v := fileRelease(st, f).Version; !slices.Contains(got.Versions, v) {
			t.Errorf("versions %v lack %s of %s", got.Versions, v, f.Filename)
		}
	}
	for _, f := range got.Files {
		if !uploadTimeRE.MatchString(f.UploadTime) {
			t.Errorf("%s: upload-time %q", f.Filename, f.UploadTime)
		}
		switch y := f.Yanked.(type) {
		case bool:
		case string:
			if y == "" {
				t.Errorf("%s: yanked is an empty string", f.Filename)
			}
		default:
			t.Errorf("%s: yanked is %T", f.Filename, y)
		}
	}
}

func checkRootJSON(t *testing.T, page []byte, st index.RootState) {
	t.Helper()
	var got pep691Root
	decodeStrict(t, page, &got)
	if n, ok := pageSerial(page); !ok || n != st.Serial {
		t.Errorf("PageSerial = %d, %v; want %d", n, ok, st.Serial)
	}
	sorted := slices.Clone(st.Projects)
	slices.SortFunc(sorted, func(a, b index.Project) int { return strings.Compare(string(a.Normalized), string(b.Normalized)) })
	want := pep691Root{Meta: pep691Meta{APIVersion: "1.4", LastSerial: st.Serial}, Projects: []pep691RootProject{}}
	for _, p := range sorted {
		want.Projects = append(want.Projects, pep691RootProject{Name: p.Name, LastSerial: p.LastSerial})
	}
	if ref := marshalReference(t, want); !bytes.Equal(page, ref) {
		t.Errorf("page differs from encoding/json of the PEP 691 types\ngot:  %s\nwant: %s", page, ref)
	}
}

// TestRenderLargeSortsLikeReference renders a big scrambled project and
// checks it with the same structural checks as the goldens.
func TestRenderLargeSortsLikeReference(t *testing.T) {
	t.Parallel()
	large := renderCase("large", nil, bigProject(400), RenderProjectHTML, RenderProjectJSON, checkProjectHTML, checkProjectJSON)
	large.check(t, large.html, large.json)

	root := bigRoot(300)
	slices.Reverse(root.Projects) // force the sort path
	large = renderCase("large-root", nil, root, RenderRootHTML, RenderRootJSON, checkRootHTML, checkRootJSON)
	large.check(t, large.html, large.json)
}
