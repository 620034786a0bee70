package datadir

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// writeInPieces writes data to p in pieces that straddle every boundary
// (writeBehind, directFrom, directBlock).
func writeInPieces(t *testing.T, p *PendingFile, data []byte) error {
	t.Helper()
	for b := data; len(b) > 0; {
		k := min(len(b), 1<<20+3)
		if _, err := p.Write(b[:k]); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7 / 5)
	}
	return b
}

// A file of any size, written through a PendingFile in pieces, ends up
// whole and exact, whether the file system takes direct I/O, refuses the
// flag or refuses the write; its page-cache part is handed to the disk as
// it grows. A failed direct write fails the file.
func TestWriteBehind(t *testing.T) {
	refuseFlag := func(*os.File, bool) error { return syscall.EINVAL }
	refuseWrite := func(f *os.File, b []byte, off int64) (int, error) {
		return 0, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.EINVAL}
	}
	diskFull := func(f *os.File, b []byte, off int64) (int, error) {
		return 0, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	noFlag := func(*os.File, bool) error { return nil }
	for _, tc := range []struct {
		name      string
		size      int
		setDirect func(*os.File, bool) error
		write     func(*os.File, []byte, int64) (int, error)
		wantErr   error
	}{
		{name: "small", size: 100 << 10},
		{name: "two write-behinds", size: 2*writeBehind - 5},
		{name: "page-cache part only", size: directFrom},
		{name: "direct blocks and a tail", size: directFrom + 3*directBlock + 12345},
		{name: "direct blocks, no tail", size: directFrom + 2*directBlock},
		{name: "flag refused", size: directFrom + 2*directBlock + 1, setDirect: refuseFlag},
		{name: "write refused", size: directFrom + 2*directBlock + 1, setDirect: noFlag, write: refuseWrite},
		{name: "disk full", size: directFrom + 3*directBlock, setDirect: noFlag, write: diskFull, wantErr: syscall.ENOSPC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setDirect != nil {
				old := setDirect
				setDirect = tc.setDirect
				t.Cleanup(func() { setDirect = old })
			}
			if tc.write != nil {
				old := writeDirect
				writeDirect = tc.write
				t.Cleanup(func() { writeDirect = old })
			}
			path := filepath.Join(t.TempDir(), "big.whl")
			p, err := Create(path, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Cleanup()
			want := pattern(tc.size)
			err = writeInPieces(t, p, want)
			if err == nil {
				if cached := min(tc.size, directFrom); p.w.queued < int64(cached-writeBehind) || p.w.queued > int64(cached) {
					t.Errorf("%d bytes of the %d written through the page cache handed to the disk ahead of Finish", p.w.queued, cached)
				}
				err = p.Finish(true)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				p.Cleanup()
				if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 0 {
					t.Errorf("%d files left after a failed write", len(ents))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.w.Write([]byte("x")); err == nil {
				t.Error("a write after Finish succeeded")
			}
			if err := p.Rename(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("read back %d bytes (%v), want %d exact bytes", len(got), err, len(want))
			}
		})
	}
}

// A file removed before Finish stops its direct writer (no goroutine is
// left blocked) and leaves nothing.
func TestWriteBehindAbort(t *testing.T) {
	dir := t.TempDir()
	p, err := Create(filepath.Join(dir, "big.whl"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeInPieces(t, p, pattern(directFrom+5*directBlock+7)); err != nil {
		t.Fatal(err)
	}
	d := p.w.d
	p.Cleanup()
	select {
	case <-d.done:
	default:
		t.Fatal("the direct writer still runs after Cleanup")
	}
	if _, err := p.Write([]byte("x")); err == nil {
		t.Error("a write after Cleanup succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d files left after Cleanup", len(ents))
	}
}
