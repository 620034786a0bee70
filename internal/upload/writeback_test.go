package upload

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The writeback writer writes every byte in order, and starts the
// writeback of each whole writebackEvery bytes as it goes.
func TestWriteback(t *testing.T) {
	t.Parallel()
	f, err := os.Create(filepath.Join(t.TempDir(), "upload.part"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := make([]byte, 2*writebackEvery+12345)
	newNoise().Read(data) //nolint:errcheck
	w := &writeback{f: f}
	if n, err := io.CopyBuffer(w, bytes.NewReader(data), make([]byte, 100<<10)); err != nil || n != int64(len(data)) {
		t.Fatalf("copy: %d, %v", n, err)
	}
	if w.off != int64(len(data)) || w.started < 2*writebackEvery || w.started > w.off {
		t.Errorf("wrote %d, writeback started for %d; want %d and at least %d", w.off, w.started, len(data), 2*writebackEvery)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("the file holds %d bytes (%v), not the %d written", len(got), err, len(data))
	}
}
