package upload

import "os"

// writebackEvery is how many bytes of the temp file may be written before
// the kernel is asked to start writing them to disk.
const writebackEvery = 8 << 20

// writeback writes an upload's temp file and, every writebackEvery bytes,
// asks the kernel to start writing what it has so far to disk without
// waiting for it (startWriteback). Otherwise the dirty pages of a large
// upload stay in memory until the fsync after the last byte, and that fsync
// then writes the whole file while the client waits; started early, the
// disk writes overlap with the receiving, and the fsync finds little left.
type writeback struct {
	f       *os.File
	off     int64 // bytes written
	started int64 // bytes whose writeback has been started
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.started >= writebackEvery {
		startWriteback(w.f, w.started, w.off-w.started)
		w.started = w.off
	}
	return n, err
}
