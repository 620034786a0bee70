package datadir

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Not parallel: the umask is the whole process's.
func TestReplace(t *testing.T) {
	old := syscall.Umask(0o077) // Replace's perm must win over a strict umask
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "page.html")
	for i, body := range []string{"first", "second, longer than the first", "third"} {
		var err error
		switch i {
		case 0:
			err = Replace(p, []byte(body), 0o644, false)
		case 1:
			err = Replace(p, []byte(body), 0o644, true)
		case 2:
			err = WriteFile(p, []byte(body), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != body {
			t.Fatalf("after replacing with %q: %q, %v", body, b, err)
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
	if err := Replace(filepath.Join(dir, "missing", "x"), []byte("x"), 0o644, false); err == nil {
		t.Error("Replace into a missing directory succeeded")
	}
	// A temp file that cannot be renamed (the target is a non-empty
	// directory): the old content stays and no dot-file is left.
	sub := filepath.Join(dir, "sub")
	os.MkdirAll(filepath.Join(sub, "inner"), 0o755)
	if err := WriteFile(sub, []byte("x"), 0o644); err == nil {
		t.Error("WriteFile over a non-empty directory succeeded")
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

func TestOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr error // matched with errors.Is; nil: opens
	}{
		{"file", p, nil},
		{"directory", dir, nil},
		{"missing", filepath.Join(dir, "nope"), fs.ErrNotExist},
		{"below a file", filepath.Join(p, "x"), syscall.ENOTDIR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Open(tt.path)
			if tt.wantErr != nil {
				var pe *fs.PathError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &pe) || pe.Path != tt.path {
					t.Fatalf("Open(%s) = %v, want a *fs.PathError for it wrapping %v", tt.path, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Name() != tt.path {
				t.Errorf("Name() = %q", f.Name())
			}
			fi, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if fi.IsDir() {
				names, err := f.Readdirnames(-1)
				if err != nil || len(names) != 1 || names[0] != "f" {
					t.Errorf("Readdirnames = %v, %v", names, err)
				}
				return
			}
			b := make([]byte, 4)
			if n, err := f.ReadAt(b, 3); err != nil || string(b[:n]) != "3456" {
				t.Errorf("ReadAt = %q, %v", b[:n], err)
			}
			// Read-only, as os.Open.
			if _, err := f.Write([]byte("x")); err == nil {
				t.Error("Write on a file Open returned succeeded")
			}
		})
	}
}

// TestReplaceFailures: whatever step fails, the old file keeps its bytes
// and no temporary file is left beside it.
func TestReplaceFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(path string) error
	}{
		{"rename over a non-empty directory", func(path string) error {
			sub := path + "-dir"
			if err := os.MkdirAll(filepath.Join(sub, "inner"), 0o755); err != nil {
				return nil
			}
			return WriteFile(sub, []byte("new"), 0o644)
		}},
		{"abandoned before Finish", func(path string) error {
			p, err := Create(path, 0o644)
			if err != nil {
				return nil
			}
			p.Write([]byte("new"))
			p.Cleanup()
			return errors.New("abandoned")
		}},
		{"abandoned after Finish", func(path string) error {
			p, err := Create(path, 0o644)
			if err != nil {
				return nil
			}
			p.Write([]byte("new"))
			if err := p.Finish(true); err != nil {
				return nil
			}
			p.Cleanup()
			return errors.New("abandoned")
		}},
		{"Rename before Finish", func(path string) error {
			p, err := Create(path, 0o644)
			if err != nil {
				return nil
			}
			defer p.Cleanup()
			p.Write([]byte("new"))
			return p.Rename()
		}},
		{"write after Finish", func(path string) error {
			p, err := Create(path, 0o644)
			if err != nil {
				return nil
			}
			defer p.Cleanup()
			p.Finish(false)
			_, err = p.Write([]byte("new"))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "page")
			if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := tt.run(path); err == nil {
				t.Fatal("no error")
			}
			if b, err := os.ReadFile(path); err != nil || string(b) != "old" {
				t.Errorf("old file = %q, %v", b, err)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("temporary file left: %s", e.Name())
				}
			}
		})
	}
}

// A committed PendingFile is in place whole, with its permissions, and a
// later Cleanup leaves it alone.
func TestPendingFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "root.html")
	p, err := Create(path, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []string{"a", "b", "c"} {
		if _, err := p.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("destination exists before Rename: %v", err)
	}
	if err := p.Finish(false); err != nil {
		t.Fatal(err)
	}
	if err := p.Rename(); err != nil {
		t.Fatal(err)
	}
	p.Cleanup()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "abc" {
		t.Fatalf("read %q, %v", b, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	if err := SyncPages(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SyncPages without pages = %v, want not-exist", err)
	}
	for _, pg := range Pages {
		if err := WriteFile(PageFile(dir, pg), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := SyncPages(dir); err != nil {
		t.Errorf("SyncPages = %v", err)
	}
}

func TestFileID(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	stat := func() fs.FileInfo {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	if err := WriteFile(path, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	first := stat()
	if IDOf(first) != IDOf(stat()) {
		t.Error("two stats of one file differ")
	}
	if err := Replace(path, []byte("one"), 0o644, false); err != nil {
		t.Fatal(err)
	}
	if IDOf(first) == IDOf(stat()) {
		t.Error("a file replaced by rename keeps its identity")
	}
	if IDOf(fakeInfo{}) != (FileID{}) {
		t.Error("a FileInfo without a stat has an identity")
	}
}

type fakeInfo struct{ fs.FileInfo }

func (fakeInfo) Sys() any { return nil }

// A file larger than writeBehind, written in pieces that straddle its
// boundaries, is handed to the disk in ranges as it grows and still ends
// up whole and exact.
func TestPendingFileWriteBehind(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "big.whl")
	p, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Cleanup()
	want := make([]byte, 2*writeBehind+12345)
	for i := range want {
		want[i] = byte(i * 7 / 5)
	}
	for b := want; len(b) > 0; {
		k := min(len(b), 1<<20+3)
		if _, err := p.Write(b[:k]); err != nil {
			t.Fatal(err)
		}
		b = b[k:]
	}
	if p.w.queued < 2*writeBehind || p.w.queued > int64(len(want)) {
		t.Errorf("%d bytes of %d handed to the disk ahead of Finish, want at least %d", p.w.queued, len(want), 2*writeBehind)
	}
	if err := p.Finish(true); err != nil {
		t.Fatal(err)
	}
	if err := p.Rename(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes (%v), want %d exact bytes", len(got), err, len(want))
	}
}
