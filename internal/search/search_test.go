package search_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
	"github.com/cheeseshop/cheeseshop/internal/search"
)

var headers = [][2]string{{"Content-Security-Policy", "default-src 'none'"}, {"X-Content-Type-Options", "nosniff"}}

func project(name, summary string) index.ProjectState {
	return index.ProjectState{
		Project:  index.Project{Name: name, Normalized: index.Normalize(name), CreatedAt: time.Now()},
		Releases: []index.Release{{ID: 1, Version: "1.0", Canonical: "1", CreatedAt: time.Now(), Metadata: index.Metadata{Name: name, Version: "1.0", Summary: summary}}},
	}
}

func newHandler(t *testing.T) *search.Handler {
	t.Helper()
	pool, _ := indextest.NewDB(t)
	store := index.NewStore(pool)
	states := []index.ProjectState{project("Cheese-Shop", "Sells <b>cheese</b> & more"), project("brie", "A soft cheese")}
	for i := range 25 {
		states = append(states, project(fmt.Sprintf("wensleydale-%02d", i), "Crumbly"))
	}
	if err := store.BulkInsert(context.Background(), states); err != nil {
		t.Fatal(err)
	}
	return search.New(search.Config{Headers: headers}, store, slog.New(slog.DiscardHandler))
}

func do(h http.Handler, method, target, body string) (*http.Response, string) {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestPage(t *testing.T) {
	t.Parallel()
	page := newHandler(t).Page()
	for _, tc := range []struct {
		name, method, target string
		status               int
		has, hasNot          []string
	}{
		{"found", "GET", "/search/?q=cheese+shop", 200,
			[]string{`<a href="/project/cheese-shop/">Cheese-Shop</a>`, "Sells &lt;b&gt;cheese&lt;/b&gt; &amp; more", "<title>cheese shop · Search"}, nil},
		{"summary", "GET", "/search/?q=soft", 200, []string{`href="/project/brie/"`, "1 projects match"}, []string{"cheese-shop"}},
		{"form", "GET", "/search/", 200, []string{"Type a project name"}, []string{"projects match"}},
		{"blank", "GET", "/search/?q=++", 200, []string{"Type a project name"}, nil},
		{"none", "GET", "/search/?q=camembert", 200, []string{"0 projects match"}, []string{"<ol"}},
		{"paging", "GET", "/search/?q=crumbly", 200, []string{"25 projects match", `href="/search/?q=crumbly&amp;page=2" rel="next"`}, []string{`rel="prev"`}},
		{"last page", "GET", "/search/?q=crumbly&page=2", 200, []string{`wensleydale-24`, `rel="prev"`}, []string{`rel="next"`}},
		{"past the end", "GET", "/search/?q=crumbly&page=9", 200, []string{`25 projects match`, `rel="prev"`}, []string{"<ol"}},
		{"escaped", "GET", "/search/?q=%3Cscript%3Ealert(1)%3C/script%3E", 200, []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}, []string{"<script>"}},
		{"NUL", "GET", "/search/?q=a%00b", 400, []string{"The search query contains a NUL byte."}, nil},
		{"invalid UTF-8", "GET", "/search/?q=%FF", 400, []string{"The search query is not valid UTF-8."}, nil},
		{"too long", "GET", "/search/?q=" + strings.Repeat("a", 201), 400, []string{"at most 200"}, nil},
		{"page not a number", "GET", "/search/?q=x&page=two", 400, []string{"The page must be a number from 1 to 25."}, nil},
		{"page 0", "GET", "/search/?q=x&page=0", 400, []string{"from 1 to 25"}, nil},
		{"page too far", "GET", "/search/?q=x&page=26", 400, []string{"from 1 to 25"}, nil},
		{"page overflows", "GET", "/search/?q=x&page=99999999999999999999999", 400, []string{"from 1 to 25"}, nil},
		{"POST", "POST", "/search/?q=x", 405, []string{"Use GET or HEAD"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := do(page, tc.method, tc.target, "")
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			for _, kv := range headers {
				if got := res.Header.Get(kv[0]); got != kv[1] {
					t.Errorf("%s: %q, want %q", kv[0], got, kv[1])
				}
			}
			if tc.status == 200 && res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", res.Header.Get("Content-Type"))
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(body, s) {
					t.Errorf("body has %q", s)
				}
			}
		})
	}
	res, body := do(page, "HEAD", "/search/?q=brie", "")
	if res.StatusCode != 200 || body != "" || res.Header.Get("Content-Length") == "" {
		t.Errorf("HEAD: %d, %q, length %q", res.StatusCode, body, res.Header.Get("Content-Length"))
	}
}

func rpcCall(method, params string) string {
	return `<?xml version='1.0'?><methodCall><methodName>` + method + `</methodName><params>` + params + `</params></methodCall>`
}

const pipParams = `<param><value><struct><member><name>name</name><value><array><data><value><string>%s</string></value></data></array></value></member>` +
	`<member><name>summary</name><value><array><data><value><string>%[1]s</string></value></data></array></value></member></struct></value></param>` +
	`<param><value><string>or</string></value></param>`

func TestRPC(t *testing.T) {
	t.Parallel()
	rpc := newHandler(t).RPC()
	for _, tc := range []struct {
		name string
		body string
		has  []string
	}{
		{"pip", rpcCall("search", fmt.Sprintf(pipParams, "cheese")), []string{
			"<params>", "<name>name</name>\n<value><string>Cheese-Shop</string></value>",
			"<name>version</name>\n<value><string>1.0</string></value>",
			"<name>summary</name>\n<value><string>Sells &lt;b&gt;cheese&lt;/b&gt; &amp; more</string></value>",
			"<name>_pypi_ordering</name>\n<value><int>2</int></value>",
			"<string>brie</string>"}},
		{"nothing found", rpcCall("search", fmt.Sprintf(pipParams, "camembert")), []string{"<params>", "<data>\n</data>"}},
		{"unknown method", rpcCall("list_packages", ""), []string{"<fault>", "<int>-32601</int>", `Method &#34;list_packages&#34; is not supported`}},
		{"bad params", rpcCall("search", `<param><value>cheese</value></param>`), []string{"<fault>", "<int>-32602</int>", "must be a struct"}},
		{"NUL in query", rpcCall("search", fmt.Sprintf(pipParams, "a&#xFFFF;")), []string{"<fault>", "<int>-32700</int>"}},
		{"long query", rpcCall("search", fmt.Sprintf(pipParams, strings.Repeat("x", 300))), []string{"<fault>", "<int>-32602</int>", "at most 200"}},
		{"not XML", "GET / HTTP/1.0", []string{"<fault>", "<int>-32700</int>"}},
		{"too large", rpcCall("search", strings.Repeat("<!-- padding -->", 5000)), []string{"<fault>", "<int>-32600</int>", "larger than 65536 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := do(rpc, "POST", "/pypi", tc.body)
			if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/xml") {
				t.Fatalf("status %d, %q", res.StatusCode, res.Header.Get("Content-Type"))
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q:\n%s", s, body)
				}
			}
		})
	}
}
