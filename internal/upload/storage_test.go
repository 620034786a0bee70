package upload

// Write failures: a full disk or an I/O error while the upload is written
// answers with a clear status, and leaves nothing behind. The real full
// disk (a tiny tmpfs) is tested end to end in cmd/cheeseshop; these inject
// the failure into the temp file's writer, which needs no privileges.

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// failingWriter passes the first n bytes and then fails every write with err.
type failingWriter struct {
	w   io.Writer
	n   int
	err error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return f.w.Write(p)
	}
	k, _ := f.w.Write(p[:f.n])
	f.n = 0
	return k, &fs.PathError{Op: "write", Path: "/secret/data/tmp/upload-1.part", Err: f.err}
}

// failureSet maps the filenames whose uploads are to fail at one step to
// their errno; one hook per step serves every test, so parallel tests do
// not undo each other's.
type failureSet struct {
	files   sync.Map
	install sync.Once
}

// add makes uploads of filename fail with errno, installing the step's hook
// on first use, until the returned stop is called or the test ends.
func (s *failureSet) add(t *testing.T, filename string, errno syscall.Errno, install func()) (stop func()) {
	t.Helper()
	s.install.Do(install)
	s.files.Store(filename, errno)
	stop = func() { s.files.Delete(filename) }
	t.Cleanup(stop)
	return stop
}

// errno is the errno uploads of filename fail with, if they do.
func (s *failureSet) errno(filename string) (syscall.Errno, bool) {
	errno, ok := s.files.Load(filename)
	if !ok {
		return 0, false
	}
	return errno.(syscall.Errno), true
}

// failingWrites and failingSyncs are the uploads whose temp-file writes,
// and whose placement syncs, fail.
var failingWrites, failingSyncs failureSet

// failTempWrites makes the temp-file writes of uploads of filename fail
// with errno after 100 bytes, until the returned stop is called or the test
// ends. Other uploads are not affected.
func failTempWrites(t *testing.T, filename string, errno syscall.Errno) (stop func()) {
	t.Helper()
	return failingWrites.add(t, filename, errno, func() {
		wrap := func(name string, w io.Writer) io.Writer {
			if errno, ok := failingWrites.errno(name); ok {
				return &failingWriter{w: w, n: 100, err: errno}
			}
			return w
		}
		wrapTempFile.Store(&wrap)
	})
}

// failSyncs makes the syncs of the placed file of uploads of filename fail
// with errno, until the returned stop is called or the test ends.
func failSyncs(t *testing.T, filename string, errno syscall.Errno) (stop func()) {
	t.Helper()
	return failingSyncs.add(t, filename, errno, func() {
		hook := func(dst string) error {
			if errno, ok := failingSyncs.errno(filepath.Base(dst)); ok {
				return &fs.PathError{Op: "sync", Path: "/secret/data/packages/x", Err: errno}
			}
			return nil
		}
		failPlaceSync.Store(&hook)
	})
}

// The placed file is synced while the transaction runs, and the transaction
// commits only after the sync succeeded: a failed sync leaves no row (not
// even a new project), no file and no page change.
func TestUploadSyncFailure(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		first  bool // a new project rather than a new release of an existing one
		errno  syscall.Errno
		status int
		msg    string
	}{
		{"syncfail_new", true, syscall.EIO, http.StatusInternalServerError, "could not write to its storage"},
		{"syncfail_old", false, syscall.ENOSPC, http.StatusInsufficientStorage, "Insufficient storage"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, 0)
			if !tt.first {
				h.mustUpload(uploadRequest{form: twineForm(tt.name, "0.9", "bdist_wheel", "py3", tt.name+"-0.9-py3-none-any.whl",
					wheelSpec{dist: tt.name, version: "0.9"}.build(t))})
			}
			filename := tt.name + "-1.0-py3-none-any.whl"
			stop := failSyncs(t, filename, tt.errno)
			data := wheelSpec{dist: tt.name, version: "1.0"}.build(t)
			before := h.snapshot()
			resp := h.post(uploadRequest{form: twineForm(tt.name, "1.0", "bdist_wheel", "py3", filename, data)})
			if resp.status != tt.status || !strings.Contains(resp.body, tt.msg) {
				t.Fatalf("upload with failing syncs: %d %q, body %q; want %d %q", resp.status, resp.reason, resp.body, tt.status, tt.msg)
			}
			if strings.Contains(resp.body, "/secret/") {
				t.Errorf("the answer shows a server path: %q", resp.body)
			}
			if d := h.snapshot().diff(before); d != "" {
				t.Errorf("a failed sync left something behind:\n%s", d)
			}
			stop()
			h.mustUpload(uploadRequest{form: twineForm(tt.name, "1.0", "bdist_wheel", "py3", filename, data)})
		})
	}
}

func TestUploadWriteFailure(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		errno  syscall.Errno
		status int
		msg    string
	}{
		{"disk_full", syscall.ENOSPC, http.StatusInsufficientStorage, "Insufficient storage: the server's disk is full."},
		{"over_quota", syscall.EDQUOT, http.StatusInsufficientStorage, "Insufficient storage"},
		{"io_error", syscall.EIO, http.StatusInternalServerError, "could not write to its storage"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, 0)
			filename := tt.name + "-1.0-py3-none-any.whl"
			stop := failTempWrites(t, filename, tt.errno)
			data := wheelSpec{dist: tt.name, version: "1.0", module: strings.Repeat("# padding\n", 200)}.build(t)
			before := h.snapshot()
			resp := h.post(uploadRequest{form: twineForm(tt.name, "1.0", "bdist_wheel", "py3", filename, data)})
			if resp.status != tt.status || !strings.Contains(resp.body, tt.msg) {
				t.Fatalf("upload on a failing disk: %d %q, body %q; want %d %q", resp.status, resp.reason, resp.body, tt.status, tt.msg)
			}
			if strings.Contains(resp.body, "/secret/") || strings.Contains(resp.reason, "/secret/") {
				t.Errorf("the answer shows a server path: %q", resp.body)
			}
			if d := h.snapshot().diff(before); d != "" {
				t.Errorf("a failed write left something behind:\n%s", d)
			}
			if left := h.tmpFiles(); len(left) > 0 {
				t.Errorf("temp files left: %v", left)
			}
			// The same upload succeeds once the disk is fine again: the name
			// was not used up by the failure.
			stop()
			h.mustUpload(uploadRequest{form: twineForm(tt.name, "1.0", "bdist_wheel", "py3", filename, data)})
		})
	}
}

// TestUnplaceFailedKeepsCommittedFile: after a failed commit the placed file
// is removed only when no row refers to it. A concurrent identical upload
// that committed, or a commit that happened although the connection broke
// before its answer, keeps its file.
func TestUnplaceFailedKeepsCommittedFile(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, 0)
	ctx := context.Background()
	pages := staticgen.New(staticgen.Config{DataDir: hs.dataDir}, hs.store, nil)
	h, err := New(Config{DataDir: hs.dataDir}, hs.store, auth.New(hs.store, nil), pages, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	u, err := hs.store.UserByName(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	place := func(filename string) (index.File, fs.FileInfo) {
		t.Helper()
		blake := strings.Repeat("ab", 32)
		if strings.HasPrefix(filename, "kept") {
			blake = strings.Repeat("cd", 32)
		}
		f := index.File{Filename: filename, Type: index.Sdist, PythonVersion: "source", Size: 1,
			SHA256: strings.Repeat("0", 64), MD5: strings.Repeat("0", 32), Blake2b256: blake,
			Path: datadir.PackagePath(blake, filename)}
		dst := filepath.Join(hs.dataDir, "packages", filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(dst)
		if err != nil {
			t.Fatal(err)
		}
		return f, fi
	}
	v, _ := index.ParseVersion("1.0")

	kept, keptInfo := place("kept-1.0.tar.gz")
	if _, err := hs.store.AddFile(ctx, index.NewFile{Project: "kept", Version: v, File: kept, Uploader: u.ID}); err != nil {
		t.Fatal(err)
	}
	h.unplaceFailed(ctx, "kept", kept, keptInfo, errors.New("connection reset during commit"))
	if _, err := os.Stat(filepath.Join(hs.dataDir, "packages", kept.Path)); err != nil {
		t.Errorf("a committed file was removed: %v", err)
	}

	gone, goneInfo := place("gone-1.0.tar.gz")
	h.unplaceFailed(ctx, "gone", gone, goneInfo, errors.New("refused"))
	if _, err := os.Stat(filepath.Join(hs.dataDir, "packages", gone.Path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an uncommitted file stayed: %v", err)
	}

	// A failed upload does not remove the file a concurrent identical
	// upload renamed over the same path (its commit may be coming).
	theirs, _ := place("theirs-1.0.tar.gz")
	// Ours was replaced; any live file's identity stands for it (a removed
	// one's inode may be reused).
	h.unplaceFailed(ctx, "theirs", theirs, keptInfo, errors.New("refused"))
	if _, err := os.Stat(filepath.Join(hs.dataDir, "packages", theirs.Path)); err != nil {
		t.Errorf("another upload's file was removed: %v", err)
	}
}
