package upload

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

const (
	fileLimitHelp    = " See https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase for more information."
	projectLimitHelp = " See https://docs.pypi.org/project-management/storage-limits#requesting-a-project-size-limit-increase"
)

func setLimits(t *testing.T, h *harness, name string, file, total int64) {
	t.Helper()
	if _, _, err := h.store.SetProjectLimits(context.Background(), index.Normalize(name), &file, &total); err != nil {
		t.Fatal(err)
	}
}

// demoWheel is a wheel of demo at version whose module holds n bytes that
// do not compress, so that sizes differ predictably.
func demoWheel(t *testing.T, version string, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n/2)
	newNoise().Read(b) //nolint:errcheck
	module := fmt.Sprintf("x = %q\n", fmt.Sprintf("%x", b))
	return "demo-" + version + "-py3-none-any.whl", wheelSpec{dist: "demo", version: version, module: module}.build(t)
}

// A project's own limits refuse with PyPI's status and text, and a refusal
// keeps nothing: no file, no row, no temp file, no page change.
func TestProjectLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	n1, w1 := demoWheel(t, "1.0", 4000)
	n2, w2 := demoWheel(t, "2.0", 8000)
	n3, w3 := demoWheel(t, "3.0", 1000)
	upload := func(version, filename string, data []byte) uploadRequest {
		return uploadRequest{form: twineForm("demo", version, "bdist_wheel", "py3", filename, data)}
	}
	h.mustUpload(upload("1.0", n1, w1))

	refuse := func(t *testing.T, r uploadRequest, msg string) {
		t.Helper()
		before := h.snapshot()
		resp := h.post(r)
		if resp.status != http.StatusBadRequest || resp.body != msg+"\n" && resp.body != msg {
			t.Errorf("status %d, body %q; want 400, %q", resp.status, resp.body, msg)
		}
		if d := h.snapshot().diff(before); d != "" {
			t.Errorf("a refused upload changed:\n%s", d)
		}
		if left := h.tmpFiles(); len(left) > 0 {
			t.Errorf("left in DATA/tmp: %q", left)
		}
	}

	t.Run("file size", func(t *testing.T) {
		setLimits(t, h, "demo", int64(len(w2))-1, 0)
		refuse(t, upload("2.0", n2, w2), fmt.Sprintf("File too large. Limit for project 'demo' is %d bytes.", len(w2)-1)+fileLimitHelp)
		// The name after the file: the limit is applied once the form is read.
		f := upload("2.0", n2, w2).form
		reordered := append(form{f[len(f)-1]}, f[:len(f)-1]...)
		refuse(t, uploadRequest{form: reordered}, fmt.Sprintf("File too large. Limit for project 'demo' is %d bytes.", len(w2)-1)+fileLimitHelp)
		setLimits(t, h, "demo", int64(len(w2)), 0)
		h.mustUpload(upload("2.0", n2, w2))
	})

	t.Run("total size", func(t *testing.T) {
		total := int64(len(w1) + len(w2) + len(w3) - 1)
		setLimits(t, h, "demo", 0, total)
		refuse(t, upload("3.0", n3, w3), fmt.Sprintf("Project size too large. Limit for project 'demo' total size is %d bytes.", total)+projectLimitHelp)
		// A re-upload of a file already there changes nothing and is fine.
		h.mustUpload(upload("1.0", n1, w1))
		setLimits(t, h, "demo", 0, total+1)
		h.mustUpload(upload("3.0", n3, w3))
	})
}

// A project's file limit may be above --max-file-size: the body's cap is
// raised with it, and other projects keep the default.
func TestProjectLimitAboveDefault(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1<<10)
	dir := t.TempDir()
	// Larger than the default body cap (1 KiB + 17 MiB of fields).
	path := filepath.Join(dir, "demo-1.0-py3-none-any.whl")
	writeBigWheel(t, path, "demo", "1.0", 18<<20)
	big, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A new project has the default: the body is past its cap.
	resp := h.post(uploadRequest{form: twineForm("demo", "1.0", "bdist_wheel", "py3", filepath.Base(path), big)})
	if want := "request body larger than"; resp.status != 400 || !strings.Contains(resp.body, want) {
		t.Fatalf("status %d, body %.200q; want 400, %q", resp.status, resp.body, want)
	}
	// Registered, with its own limit, it takes the large file.
	if _, err := h.pool.Exec(context.Background(), `INSERT INTO projects (name, normalized) VALUES ('demo', 'demo')`); err != nil {
		t.Fatal(err)
	}
	h.exec(`INSERT INTO roles (project_id, user_id, role) SELECT p.id, u.id, 'owner' FROM projects p, users u WHERE p.normalized = 'demo' AND u.name = $1`, alice)
	setLimits(t, h, "demo", 32<<20, 0)
	h.mustUpload(uploadRequest{form: twineForm("demo", "1.0", "bdist_wheel", "py3", filepath.Base(path), big)})
	if got := h.query(`SELECT size::text FROM files WHERE filename = $1`, filepath.Base(path)); got != fmt.Sprint(len(big)) {
		t.Errorf("stored size %s, want %d", got, len(big))
	}
}

func TestSizeText(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{10 << 30: "10 GB", 1 << 30: "1 GB", 1536 << 20: "1536 MB", 100 << 20: "100 MB", 3 << 10: "3 KB", 1000: "1000 bytes"} {
		if got := index.SizeText(n); got != want {
			t.Errorf("SizeText(%d) = %q, want %q", n, got, want)
		}
	}
}
