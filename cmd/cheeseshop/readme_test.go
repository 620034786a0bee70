package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// The README's examples talk to the server of `make run`: these are the
// database URL and server URL they export, and the test substitutes its
// own for them.
const (
	readmeDatabaseURL = "postgres://postgres@127.0.0.1:5432/cheeseshop?sslmode=disable"
	readmeServerURL   = "http://127.0.0.1:8080"
)

// Markers before a ```sh block of README.md: run it, or say why not.
const (
	markRun  = "<!-- test: readme -->"
	markSkip = "<!-- test: no, "
)

// shellBlock is one runnable ```sh block of the README.
type shellBlock struct {
	line int // of the opening fence, 1-based
	text string
}

// readmeBlocks returns the README's blocks marked markRun, in order. Every
// ```sh block must carry a marker (markRun or markSkip …) on the line
// before it, so that no new example escapes the test unnoticed.
func readmeBlocks(readme string) ([]shellBlock, error) {
	var blocks []shellBlock
	var cur *shellBlock
	prev := ""
	sc := bufio.NewScanner(strings.NewReader(readme))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cur != nil {
			if strings.HasPrefix(line, "```") {
				blocks = append(blocks, *cur)
				cur = nil
			} else {
				cur.text += line + "\n"
			}
			prev = line
			continue
		}
		shell := line == "```sh" || line == "```bash" || line == "```shell"
		switch {
		case shell && prev == markRun:
			cur = &shellBlock{line: n}
		case shell && strings.HasPrefix(prev, markSkip) && strings.HasSuffix(prev, "-->"):
			// shown, not run
		case shell:
			return nil, fmt.Errorf("README.md:%d: a shell block needs %q or %q on the line before it", n, markRun, markSkip+"WHY -->")
		case prev == markRun:
			return nil, fmt.Errorf("README.md:%d: %q is not followed by a ```sh block", n-1, markRun)
		}
		prev = line
	}
	if cur != nil {
		return nil, fmt.Errorf("README.md:%d: unterminated code block", cur.line)
	}
	return blocks, sc.Err()
}

// shellScript joins the blocks into one bash script that stops at the first
// failing command, pipelines and unset variables included, and says which
// block of README.md it is running.
func shellScript(blocks []shellBlock) string {
	var b strings.Builder
	b.WriteString("set -euo pipefail\nPS4='+ '\nset -x\n")
	for _, bl := range blocks {
		fmt.Fprintf(&b, "{ set +x; } 2>/dev/null; echo '### README.md line %d' >&2; set -x\n", bl.line)
		b.WriteString(bl.text)
	}
	b.WriteString("{ set +x; } 2>/dev/null; echo '### README.md: every example passed' >&2\n")
	return b.String()
}

// runShell runs script with bash in dir with exactly env, and returns its
// combined output.
func runShell(ctx context.Context, dir string, env []string, script string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestREADMEShellStopsAtFailure checks the harness: a failing command, in
// the middle of a block or of a pipeline, fails the script, and so does an
// unset variable.
func TestREADMEShellStopsAtFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ name, block string }{
		{"command", "true\nfalse\ntouch reached\n"},
		{"pipeline", "false | cat\ntouch reached\n"},
		{"unset variable", "echo \"$NOT_SET_ANYWHERE\"\ntouch reached\n"},
	} {
		script := shellScript([]shellBlock{{line: 1, text: tc.block}})
		out, err := runShell(context.Background(), dir, []string{"PATH=" + os.Getenv("PATH")}, script)
		if err == nil {
			t.Errorf("%s: the script passed:\n%s", tc.name, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "reached")); err == nil {
			t.Errorf("%s: the command after the failure ran", tc.name)
			os.Remove(filepath.Join(dir, "reached"))
		}
	}
	if _, err := readmeBlocks("text\n```sh\necho unmarked\n```\n"); err == nil {
		t.Error("an unmarked shell block was accepted")
	}
	blocks, err := readmeBlocks(markRun + "\n```sh\necho one\n```\n" + markSkip + "it serves -->\n```sh\nmake run\n```\n")
	if err != nil || len(blocks) != 1 || blocks[0].text != "echo one\n" || blocks[0].line != 2 {
		t.Errorf("readmeBlocks = %+v, %v", blocks, err)
	}
}

// TestREADMEExamples (issue 17) runs README.md's marked shell blocks in
// order, as a new user would in a second terminal while `make run` serves:
// against a server on a fresh database and an empty data directory, with
// an empty HOME, Debian's python3, twine and pip, and bin/cheeseshop being
// this program. Only the database and server URLs the README exports are
// replaced by the test's. Any failing command fails the test.
func TestREADMEExamples(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the README's examples with twine and pip")
	}
	needScriptTools(t)
	blocks, err := readmeBlocks(readFile(t, "../../README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 10 {
		t.Fatalf("only %d runnable blocks in README.md", len(blocks))
	}
	// The URLs the README exports are make run's.
	makefile := readFile(t, "../../Makefile")
	for _, want := range []string{"DATABASE_URL ?= " + readmeDatabaseURL + "\n", "LISTEN ?= " + strings.TrimPrefix(readmeServerURL, "http://") + "\n"} {
		if !strings.Contains(makefile, want) {
			t.Errorf("the Makefile no longer says %q, which the README's examples assume", strings.TrimSpace(want))
		}
	}

	work := t.TempDir()
	home := filepath.Join(work, "home")
	self, err := exec.LookPath("cheeseshop") // this test binary, as TestMain installs it
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{home, filepath.Join(work, "bin")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(self, filepath.Join(work, "bin", "cheeseshop")); err != nil {
		t.Fatal(err)
	}

	// What make run does: serve, creating and migrating the database.
	dbURL := indextest.NewDBURL(t)
	in := &install{t: t, dbURL: dbURL, dataDir: filepath.Join(work, "data"), logDir: t.TempDir()}
	srv := in.serve("--create-database")

	script := shellScript(blocks)
	for _, r := range []struct{ readme, test string }{{readmeDatabaseURL, dbURL}, {readmeServerURL, srv.url}} {
		if !strings.Contains(script, r.readme) {
			t.Fatalf("no runnable block of README.md mentions %s", r.readme)
		}
		script = strings.ReplaceAll(script, r.readme, r.test)
	}

	env := []string{
		"HOME=" + home,
		"PATH=" + debianPath(os.Getenv("PATH")),
		"LANG=C.UTF-8",
		"TMPDIR=" + t.TempDir(),
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PYTHONDONTWRITEBYTECODE=1",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := runShell(ctx, work, env, script)
	if err != nil {
		t.Fatalf("README.md's examples failed: %v\n%s", err, tail(out, 80))
	}
	if !strings.Contains(out, "every example passed") || !strings.Contains(out, "Hello from cheeseshop") {
		t.Fatalf("README.md's examples did not run to the end:\n%s", tail(out, 80))
	}
	t.Logf("%d blocks of README.md passed in %s", len(blocks), time.Since(start).Round(time.Millisecond))
	if err := srv.stop(30 * time.Second); err != nil {
		t.Errorf("server: %v", err)
	}
}

// mdLink matches a Markdown link's target: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// headingSlug is GitHub's anchor for a heading: lower case, punctuation
// dropped, spaces as hyphens.
func headingSlug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// TestREADMELinksStayInRepository (issue 17): a clone has everything the
// README and the protocol page link to. Every link is relative, names a
// file of the repository, and an anchor names a heading of that file.
func TestREADMELinksStayInRepository(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{"README.md", "docs/protocol.md", "docs/operations.md", "docs/uploads.md"} {
		text, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(text), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				t.Errorf("%s links out of the repository: %s", doc, target)
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := filepath.Join(root, doc)
			if file != "" {
				path = filepath.Join(filepath.Dir(path), file)
			}
			if rel, err := filepath.Rel(root, path); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s links out of the repository: %s", doc, target)
				continue
			}
			body, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s links to %s, which a clone does not have", doc, target)
				continue
			}
			if anchor == "" {
				continue
			}
			found := false
			for _, line := range strings.Split(string(body), "\n") {
				if h := strings.TrimLeft(line, "#"); len(h) < len(line) && strings.HasPrefix(h, " ") && headingSlug(strings.TrimSpace(h)) == anchor {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s links to %s: no such heading", doc, target)
			}
		}
	}
}
