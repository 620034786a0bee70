package main

// The browser test (issue 16): Debian's chromium, driven with chromedp,
// against the real program, with projects uploaded by real twine. It
// checks what people see on the pages (the rendered README, the install
// line, the files), that a hostile README runs nothing and breaks no
// layout, and that axe-core finds no serious or critical accessibility
// problem; it saves screenshots as artifacts.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

const chromiumPath = "/usr/bin/chromium"

// goodReadme has what the project page must show rendered.
const goodReadme = `# Cheese browser

A project for the **browser test**.

## Usage

` + "```python\nimport cheese_browser\nprint(cheese_browser.hello())\n```" + `

| Option | Default |
|--------|---------|
| level  | 3       |
| name   | "demo"  |

See <https://example.com/docs>.
`

// hostileReadme tries to run script, to load other documents and to cover
// or break the page, in every way the issue names.
func hostileReadme() string {
	return `# Hostile

<script>window.__pwned = 1; alert(1); console.log("pwned")</script>
<img src="x" onerror="window.__pwned = 2; alert(2)">
<img src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIG9ubG9hZD0iYWxlcnQoMykiLz4=">

[js link](javascript:window.__pwned=3) <a href="javascript:alert(4)">js anchor</a> <a href="JaVaScRiPt:alert(4)">mixed case</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg==">data link</a> [data md](data:text/html,<script>alert(5)</script>)

<iframe src="javascript:alert(6)"></iframe>
<iframe srcdoc="<script>parent.__pwned = 7</script>"></iframe>
<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned = 8"><script>window.__pwned = 9</script><circle r="5"/></svg>
<math><mi xlink:href="javascript:alert(10)">x</mi></math>
<div style="position:fixed;top:0;left:0;width:100vw;height:100vh;background:red;z-index:2147483647">overlay</div>
<div class="skip" id="content">fake landmark target</div>
<style>body { display: none } footer { display: none }</style>
<link rel="stylesheet" href="https://evil.example/x.css">
<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x.swf">
<details open ontoggle="window.__pwned = 11"><summary>toggle</summary>details</details>
<form action="javascript:alert(12)"><input name="q" autofocus onfocus="window.__pwned = 13"><button formaction="javascript:alert(14)">go</button></form>
<meta http-equiv="refresh" content="0; url=javascript:alert(15)">
<base href="https://evil.example/">

<table><tr><td>an unclosed table
<div><b><i>unclosed tags
</div></div></section></article></main></body></html>

` + strings.Repeat("x", 1<<20) + "\n"
}

// readmeWheel is a minimal valid wheel whose METADATA carries readme as
// its Markdown description, and more fields the project page shows.
func readmeWheel(t *testing.T, dir, project, version, readme string) string {
	t.Helper()
	distName := strings.NewReplacer("-", "_", ".", "_").Replace(project)
	di := distName + "-" + version + ".dist-info/"
	metadata := "Metadata-Version: 2.1\nName: " + project + "\nVersion: " + version +
		"\nSummary: A project seen in a browser\nRequires-Python: >=3.8\nLicense: MIT\n" +
		"Project-URL: Source, https://example.com/" + project + "\nDescription-Content-Type: text/markdown\n\n" + readme
	members := [][2]string{
		{distName + ".py", fmt.Sprintf("def hello():\n    return %q\n", project)},
		{di + "METADATA", metadata},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: cheeseshop-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	path := filepath.Join(dir, distName+"-"+version+"-py3-none-any.whl")
	writeFile(t, path, zipWheel(t, di, members, zip.Deflate))
	return path
}

// axeSource finds axe-core's script, which scripts/deps.sh installs from
// npm ($CHEESESHOP_AXE names it elsewhere).
func axeSource(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CHEESESHOP_AXE")
	if p == "" {
		home, _ := os.UserHomeDir()
		p = filepath.Join(home, ".cache", "cheeseshop-npm", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		if required() {
			t.Fatalf("axe-core is missing (%v): run `make test`, which installs it with npm", err)
		}
		t.Skipf("axe-core is missing (%v): run `make test`", err)
	}
	return string(b)
}

// browserEvents records what a page's script could make the browser do.
type browserEvents struct {
	mu         sync.Mutex
	dialogs    []string
	console    []string
	exceptions []string
}

func (e *browserEvents) take() (dialogs, console, exceptions []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	dialogs, console, exceptions = e.dialogs, e.console, e.exceptions
	e.dialogs, e.console, e.exceptions = nil, nil, nil
	return
}

func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if required() {
			t.Fatalf("%s is missing: run `make test`, which installs Debian's chromium", chromiumPath)
		}
		t.Skipf("%s is missing: run `make test`", chromiumPath)
	}
	needScriptTools(t)
	axe := axeSource(t)
	artifacts := os.Getenv("CHEESESHOP_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	} else {
		artifacts = filepath.Join(artifacts, "browser")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", artifacts)

	in := newInstall(t, indextest.NewDBURL(t), t.TempDir())
	srv := in.serve()
	dist := t.TempDir()
	good := readmeWheel(t, dist, "cheese-browser", "1.0", goodReadme)
	hostile := readmeWheel(t, dist, "cheese-hostile", "1.0", hostileReadme())
	twine := exec.Command("/usr/bin/twine", "upload", "--non-interactive", "--repository-url", srv.url+"/legacy/",
		"-u", rbUser, "-p", rbPassword, good, hostile)
	twine.Env = append(os.Environ(), "HOME="+dist, "PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring")
	if out, err := twine.CombinedOutput(); err != nil {
		t.Fatalf("twine upload: %v\n%s", err, out)
	}
	// The READMEs are rendered in the background, just after the uploads.
	waitForPage(t, srv.url+"/project/cheese-browser/", `id="user-content-usage"`)
	waitForPage(t, srv.url+"/project/cheese-hostile/", `id="user-content-hostile"`)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()

	var events browserEvents
	if err := chromedp.Listen(bctx, func(ev any) {
		events.mu.Lock()
		defer events.mu.Unlock()
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			events.dialogs = append(events.dialogs, string(ev.Type)+": "+ev.Message)
			go chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false}) //nolint:errcheck // the test fails anyway
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			events.console = append(events.console, string(ev.Type)+": "+strings.Join(args, " "))
		case *runtime.EventExceptionThrown:
			events.exceptions = append(events.exceptions, ev.ExceptionDetails.Text)
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browser{t: t, ctx: bctx, base: srv.url, artifacts: artifacts, axe: axe, events: &events}

	// The listeners hear a page's script: a test of this test.
	b.open("/")
	b.eval(`console.log("probe"); setTimeout(() => { throw new Error("probe") }); true`, nil)
	time.Sleep(200 * time.Millisecond)
	if _, console, exceptions := events.take(); len(console) != 1 || len(exceptions) != 1 {
		t.Fatalf("the listeners do not hear the page: console %q, exceptions %q", console, exceptions)
	}

	t.Run("home", func(t *testing.T) {
		b.t = t
		b.open("/")
		b.want(`document.querySelector('a[href="/project/cheese-browser/"]') !== null`, "the home page links the project")
		b.want(`document.body.innerText.includes("pip install --index-url")`, "the home page shows how to install")
		b.axeCheck("home")
		b.screenshots("home")
	})

	t.Run("project", func(t *testing.T) {
		b.t = t
		b.open("/project/cheese-browser/")
		b.want(`document.querySelector('.readme h1')?.textContent === "Cheese browser"`, "the README's heading")
		b.want(`document.querySelector('.readme h2#user-content-usage')?.textContent === "Usage"`, "the README's second heading")
		b.want(`document.querySelector('.readme pre code.language-python')?.textContent.includes("import cheese_browser")`, "the README's code block")
		b.want(`[...document.querySelectorAll('.readme table th')].map(e => e.textContent).join() === "Option,Default"`, "the README's table head")
		b.want(`document.querySelectorAll('.readme table tbody tr').length === 2`, "the README's table rows")
		b.want(`document.querySelector('.readme a[href="https://example.com/docs"]')?.rel === "nofollow noopener ugc"`, "the README's external link")
		b.want(`document.querySelector('.install code')?.textContent === "pip install cheese-browser==1.0"`, "the install line")
		b.want(`[...document.querySelectorAll('table.data tbody tr td:first-child a')].map(e => e.textContent).join() === "cheese_browser-1.0-py3-none-any.whl"`, "the files table")
		b.want(`document.querySelector('table.data td.hash')?.textContent.length === 64`, "the file's sha256")
		b.want(`document.querySelector('table.data a[href$=".whl.metadata"]') !== null`, "the link to the core metadata")
		b.want(`document.body.innerText.includes(">=3.8") && document.body.innerText.includes("MIT")`, "requires-python and license")
		b.axeCheck("project")
		b.screenshots("project")
		b.dark(func() { b.axeCheck("project, dark") })
	})

	t.Run("release", func(t *testing.T) {
		b.t = t
		b.open("/project/cheese-browser/1.0/")
		b.want(`document.querySelector('h1')?.textContent === "cheese-browser 1.0"`, "the release's title")
		b.want(`document.querySelector('a[href="/project/cheese-browser/"]')?.textContent === "All versions of cheese-browser"`, "the link to the project's every release")
		b.want(`document.querySelector('.readme pre code.language-python') !== null`, "the release's README")
		b.axeCheck("release")
		b.screenshots("release")
	})

	t.Run("not found", func(t *testing.T) {
		b.t = t
		b.open("/project/no-such-project/")
		b.axeCheck("not found")
	})

	t.Run("search", func(t *testing.T) {
		b.t = t
		// /search/ is the app's (the only page for people that is not a
		// file on disk).
		resp, err := http.Get(srv.url + "/search/?q=cheese-browser")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /search/: %s", resp.Status)
		}
		b.open("/search/?q=cheese-browser")
		b.want(`document.querySelector('a[href="/project/cheese-browser/"]') !== null`, "the search finds the project")
		b.axeCheck("search")
		b.screenshots("search")
	})

	t.Run("hostile", func(t *testing.T) {
		b.t = t
		for _, width := range []int64{1280, 360} {
			b.viewport(width)
			b.open("/project/cheese-hostile/")
			time.Sleep(500 * time.Millisecond) // let anything that would run, run
			b.want(`window.__pwned === undefined`, "no global set by the README")
			dialogs, console, exceptions := events.take()
			if len(dialogs)+len(console)+len(exceptions) > 0 {
				t.Errorf("at %d px the README ran: dialogs %q, console %q, exceptions %q", width, dialogs, console, exceptions)
			}
			for _, c := range []struct{ js, what string }{
				{`document.querySelector('.readme h1#user-content-hostile') !== null`, "the README is shown"},
				{`document.querySelectorAll('.readme script, .readme iframe, .readme svg, .readme math, .readme style, .readme link, .readme object, .readme embed, .readme form, .readme input, .readme meta, .readme base').length === 0`, "no active element in the README"},
				{`[...document.querySelectorAll('.readme [href], .readme [src]')].every(e => /^(https?:|mailto:|#|\/|[^:]*$)/i.test(e.getAttribute('href') ?? e.getAttribute('src')))`, "no javascript: or data: URL"},
				{`[...document.querySelectorAll('.readme *')].every(e => e.attributes.length === 0 || [...e.attributes].every(a => !a.name.startsWith('on') && a.name !== 'style'))`, "no handler or style attribute"},
				{`[...document.querySelectorAll('.readme *')].every(e => !['fixed', 'absolute', 'sticky'].includes(getComputedStyle(e).position))`, "nothing positioned over the page"},
				{`getComputedStyle(document.body).display !== 'none'`, "the page is shown"},
				{`document.querySelector('header.site') !== null && document.querySelector('main#content') !== null && document.querySelector('footer.site')?.parentElement === document.body`, "the landmarks are whole"},
				{`document.querySelectorAll('main').length === 1 && document.querySelectorAll('#content').length === 1`, "one main, one skip target"},
				{`!document.querySelector('.readme').contains(document.querySelector('#files-heading')) && document.querySelector('#files-heading').closest('article') !== null`, "the README ends inside its section"},
				{`document.querySelector('table.data td a')?.textContent === "cheese_hostile-1.0-py3-none-any.whl"`, "the files table after the README"},
				{`document.querySelector('main').getBoundingClientRect().right <= window.innerWidth + 1`, "the main content fits the viewport's width"},
				{`document.documentElement.scrollWidth <= window.innerWidth + 1`, "the page does not scroll sideways"},
				{`(() => { const h = document.querySelector('header.site').getBoundingClientRect(); return document.querySelector('header.site').contains(document.elementFromPoint(h.left + 5, h.top + h.height / 2)) })()`, "nothing covers the header"},
				{`(() => { const f = document.querySelector('footer.site'); f.scrollIntoView(); const r = f.getBoundingClientRect(); return f.contains(document.elementFromPoint(r.left + 5, r.top + r.height / 2)) })()`, "nothing covers the footer"},
			} {
				b.want(c.js, fmt.Sprintf("%s (%d px)", c.what, width))
			}
			b.eval(`window.scrollTo(0, 0); true`, nil)
			b.save(fmt.Sprintf("hostile-%d.png", width), chromedp.CaptureScreenshot())
		}
		b.viewport(1280)
		// The README's own markup (an image without alt) is its author's;
		// the page around it must still pass.
		b.axeCheck("hostile", ".readme")
	})
}

// waitForPage asks for url until its body holds want, for up to 30 s.
func waitForPage(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(want)) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no %s after 30 s (%v)", url, want, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// browser is one chromium tab on the server.
type browser struct {
	t         *testing.T
	ctx       context.Context
	base      string
	artifacts string
	axe       string
	events    *browserEvents
}

func (b *browser) open(path string) {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	b.t.Logf("opened %s: %d, Content-Security-Policy %v", path, resp.Status, resp.Headers["Content-Security-Policy"])
}

func (b *browser) eval(js string, out any) {
	b.t.Helper()
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %.80s: %v", js, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("evaluate %.80s: %v in %s", js, err, raw)
		}
	}
}

// want checks that js is true on the page.
func (b *browser) want(js, what string) {
	b.t.Helper()
	var ok bool
	b.eval(js, &ok)
	if !ok {
		b.t.Errorf("not so: %s (%s)", what, js)
	}
}

func (b *browser) viewport(width int64) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(width, 800)); err != nil {
		b.t.Fatal(err)
	}
}

// dark runs fn with the page in dark mode (prefers-color-scheme).
func (b *browser) dark(fn func()) {
	b.t.Helper()
	set := func(v string) {
		if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}}); err != nil {
			b.t.Fatal(err)
		}
	}
	set("dark")
	defer set("")
	fn()
}

// screenshots saves the whole page at 1280 and 360 px wide.
func (b *browser) screenshots(name string) {
	b.t.Helper()
	for _, width := range []int64{1280, 360} {
		b.viewport(width)
		b.save(fmt.Sprintf("%s-%d.png", name, width), chromedp.FullScreenshot(100))
	}
	b.viewport(1280)
}

func (b *browser) save(name string, shot chromedp.Action[[]byte]) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, shot)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	writeFile(b.t, filepath.Join(b.artifacts, name), png)
}

// axeCheck runs axe-core on the page, but for the elements the selectors
// in exclude match, and fails on any violation of impact serious or
// critical.
func (b *browser) axeCheck(page string, exclude ...string) {
	b.t.Helper()
	var loaded bool
	b.eval(b.axe+"\n;typeof axe === 'object'", &loaded)
	if !loaded {
		b.t.Fatal("axe-core did not load")
	}
	var violations []struct {
		ID     string   `json:"id"`
		Impact string   `json:"impact"`
		Help   string   `json:"help"`
		Nodes  []string `json:"nodes"`
	}
	ex, err := json.Marshal(append([]string{}, exclude...))
	if err != nil {
		b.t.Fatal(err)
	}
	b.eval(`axe.run({exclude: `+string(ex)+`.map(s => [s])}, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact, help: v.help,
		nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\s+/g, ' '))})))`, &violations)
	for _, v := range violations {
		msg := fmt.Sprintf("axe on %s: %s (%s): %s\n\t%s", page, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Error(msg)
		} else {
			b.t.Log(msg)
		}
	}
	b.events.take() // axe's own doings are not the page's
}
