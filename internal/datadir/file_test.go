package datadir

import (
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
