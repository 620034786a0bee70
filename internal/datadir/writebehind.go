package datadir

import "os"

// writeBehind is how many bytes a WriteBehind collects before it asks the
// kernel to start writing them to the disk.
const writeBehind = 8 << 20

// WriteBehind writes to a file that will be fsynced when complete (a
// PendingFile, an upload's temp file) and, every writeBehind bytes, asks
// the kernel to start writing what came before to the disk, without
// waiting (startWriteback). Without it a large file stays in the page
// cache until the fsync after its last byte (the kernel starts on its own
// only at a tenth or so of the RAM), and the whole disk write comes after
// the receipt instead of alongside it.
type WriteBehind struct {
	f       *os.File
	written int64 // bytes written
	queued  int64 // bytes handed to the disk so far
}

// NewWriteBehind returns a WriteBehind writing to f from its current end.
func NewWriteBehind(f *os.File) *WriteBehind { return &WriteBehind{f: f} }

func (w *WriteBehind) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	w.written += int64(n)
	if w.written-w.queued >= writeBehind {
		startWriteback(w.f, w.queued, w.written-w.queued)
		w.queued = w.written
	}
	return n, err
}
