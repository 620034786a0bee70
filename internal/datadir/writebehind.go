package datadir

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"
)

// A large file (an upload, a cached upstream file) is written twice over
// if it goes through the page cache: copied into the cache as it arrives,
// then written to the disk by the kernel's flusher, and in between it
// pushes the index's pages out of the cache. A WriteBehind sends the
// first directFrom bytes of a file through the page cache (most files end
// there), handing them to the disk every writeBehind bytes without waiting
// (startWriteback), so the disk write runs alongside the receipt instead
// of all at the final fsync. The rest of a longer file is collected into
// aligned blocks of directBlock bytes that a goroutine of its own writes
// with direct I/O (O_DIRECT: from memory to the disk, the page cache
// untouched) while the next block fills; the last, partial block goes
// through the page cache at Flush. Where the file system refuses direct
// I/O, the blocks go through the page cache too, handed to the disk as
// they are written. Either way the caller still fsyncs the file.
const (
	writeBehind = 8 << 20  // page-cache bytes collected before startWriteback
	directFrom  = 16 << 20 // bytes of a file written through the page cache
	directBlock = 4 << 20  // bytes of one direct write
	directAlign = 4096     // alignment of a direct write's memory, file offset and length
	directHeld  = 2        // blocks one file holds
)

// directBlocks are the blocks of the direct writers, reused across files.
// A file being written holds at most directHeld of them, passed between
// its two goroutines (one being written, one filling).
var directBlocks = sync.Pool{New: func() any {
	b := make([]byte, directBlock+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%directAlign)) % directAlign
	b = b[skip : skip+directBlock : skip+directBlock]
	return &b
}}

// WriteBehind writes a file that will be fsynced when complete (a
// PendingFile, an upload's temp file) as described above. Every write to
// the file must go through it, and Flush must be called before the file is
// synced or closed, after a failure too.
type WriteBehind struct {
	f       *os.File
	start   int64 // f's offset when the WriteBehind began
	written int64 // bytes accepted
	queued  int64 // bytes of the page-cache part handed to the disk so far
	d       *directWriter
	err     error // the first error; every later Write returns it
}

// NewWriteBehind returns a WriteBehind writing to f from its current offset.
func NewWriteBehind(f *os.File) *WriteBehind {
	start, _ := f.Seek(0, io.SeekCurrent)
	return &WriteBehind{f: f, start: start}
}

func (w *WriteBehind) Write(b []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(b)
	if w.d == nil && w.written+int64(len(b)) > directFrom {
		k := directFrom - w.written
		if m, err := w.cached(b[:k]); err != nil {
			return m, err
		}
		b = b[k:]
		// The page-cache part is complete: all of it to the disk.
		startWriteback(w.f, w.start+w.queued, w.written-w.queued)
		w.queued = w.written
		w.d = startDirect(w.f, w.start+w.written)
	}
	if w.d != nil {
		if err := w.d.write(b); err != nil {
			w.err = err
			return n - len(b), err
		}
		w.written += int64(len(b))
		return n, nil
	}
	return w.cached(b)
}

// cached writes b through the page cache at the end of what was written.
func (w *WriteBehind) cached(b []byte) (int, error) {
	k, err := w.f.WriteAt(b, w.start+w.written)
	w.written += int64(k)
	if w.written-w.queued >= writeBehind {
		startWriteback(w.f, w.start+w.queued, w.written-w.queued)
		w.queued = w.written
	}
	if err != nil {
		w.err = err
	}
	return k, err
}

// Flush writes what is still held in memory, waits for the direct writes,
// and returns the first error of any write. It ends the WriteBehind: a
// later Write fails. The file's offset is left where it was.
func (w *WriteBehind) Flush() error {
	if w.d != nil {
		if err := w.d.finish(true); err != nil && w.err == nil {
			w.err = err
		}
		w.d = nil
	}
	err := w.err
	if err == nil {
		w.err = errEnded
	} else if errors.Is(err, errEnded) {
		err = nil
	}
	return err
}

// Abort ends the WriteBehind of a file about to be removed: it waits for
// the direct write under way and drops the rest.
func (w *WriteBehind) Abort() {
	if w.d != nil {
		w.d.err.CompareAndSwap(nil, &errEnded)
		w.d.finish(false) //nolint:errcheck // the file is removed
		w.d = nil
	}
	if w.err == nil {
		w.err = errEnded
	}
}

var errEnded = errors.New("datadir: write to a file after its Flush or Abort")

// directWriter writes a file's blocks from off on, each on a goroutine of
// its own while the next fills.
type directWriter struct {
	f     *os.File
	block *[]byte      // the block being filled, nil between blocks
	fill  int          // bytes in block
	off   int64        // file offset of block
	held  int          // blocks taken from directBlocks
	free  chan *[]byte // written blocks, back from the goroutine
	queue chan directJob
	done  chan struct{}
	err   atomic.Pointer[error] // the goroutine's first error

	// The goroutine's own, read by finish after done.
	tried  bool // the first block set O_DIRECT (or failed to)
	direct bool // O_DIRECT is set on f
}

type directJob struct {
	b   *[]byte
	off int64
}

func startDirect(f *os.File, off int64) *directWriter {
	d := &directWriter{f: f, off: off, free: make(chan *[]byte, directHeld),
		queue: make(chan directJob, 1), done: make(chan struct{})}
	go d.run()
	return d
}

// setDirect turns direct I/O on f on or off, and writeDirect is a write
// with it on; tests replace them to play a file system that refuses one.
var (
	setDirect   = setDirectIO
	writeDirect = (*os.File).WriteAt
)

func (d *directWriter) write(b []byte) error {
	if e := d.err.Load(); e != nil {
		return *e
	}
	for len(b) > 0 {
		if d.block == nil {
			if d.held < directHeld {
				d.block = directBlocks.Get().(*[]byte)
				d.held++
			} else {
				d.block = <-d.free
			}
			d.fill = 0
		}
		k := copy((*d.block)[d.fill:], b)
		d.fill += k
		b = b[k:]
		if d.fill == directBlock {
			d.queue <- directJob{d.block, d.off}
			d.off += directBlock
			d.block = nil
		}
	}
	return nil
}

func (d *directWriter) run() {
	defer close(d.done)
	for job := range d.queue {
		if d.err.Load() == nil {
			if err := d.writeBlock(*job.b, job.off); err != nil {
				d.err.Store(&err)
			}
		}
		d.free <- job.b
	}
}

// writeBlock writes one full block, with direct I/O where the file system
// takes it.
func (d *directWriter) writeBlock(b []byte, off int64) error {
	if !d.tried {
		d.tried = true
		d.direct = setDirect(d.f, true) == nil
	}
	if d.direct {
		_, err := writeDirect(d.f, b, off)
		if !errors.Is(err, errDirectRefused) {
			return err
		}
		// The file system took the flag but refuses the write (EINVAL):
		// this block and the rest go through the page cache.
		setDirect(d.f, false) //nolint:errcheck // the write below tells
		d.direct = false
	}
	_, err := d.f.WriteAt(b, off)
	startWriteback(d.f, off, int64(len(b)))
	return err
}

// finish stops the goroutine, writes the partial block through the page
// cache when tail is set, and returns the first error.
func (d *directWriter) finish(tail bool) error {
	close(d.queue)
	<-d.done
	var err error
	if d.direct {
		err = setDirect(d.f, false)
	}
	if e := d.err.Load(); e != nil {
		err = *e
	}
	if d.block != nil {
		if err == nil && tail && d.fill > 0 {
			_, err = d.f.WriteAt((*d.block)[:d.fill], d.off)
		}
		directBlocks.Put(d.block)
		d.block = nil
		d.held--
	}
	for ; d.held > 0; d.held-- {
		directBlocks.Put(<-d.free)
	}
	return err
}
