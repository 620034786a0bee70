package fsutil

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Not parallel: the umask is the whole process's.
func TestReplaceFile(t *testing.T) {
	old := syscall.Umask(0o077) // ReplaceFile's perm must win over a strict umask
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "page.html")
	for _, body := range []string{"first", "second, longer than the first"} {
		if err := ReplaceFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != body {
			t.Fatalf("after ReplaceFile(%q): %q, %v", body, b, err)
		}
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("mode %v, want 0644", fi.Mode().Perm())
		}
		if err := SyncFile(p); err != nil {
			t.Fatal(err)
		}
		if err := SyncDir(dir); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	// A directory that does not exist: an error, and nothing written.
	if err := ReplaceFile(filepath.Join(dir, "missing", "x"), []byte("x"), 0o644); err == nil {
		t.Error("ReplaceFile into a missing directory succeeded")
	}
	// A temp file that cannot be renamed (the target is a non-empty
	// directory): the old content stays and no dot-file is left.
	sub := filepath.Join(dir, "sub")
	os.MkdirAll(filepath.Join(sub, "inner"), 0o755)
	if err := ReplaceFile(sub, []byte("x"), 0o644); err == nil {
		t.Error("ReplaceFile over a non-empty directory succeeded")
	}
	entries, _ = os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	if err := SyncFile(filepath.Join(dir, "nope")); err == nil {
		t.Error("SyncFile of a missing file succeeded")
	}
}
