package fanout

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"

	"golang.org/x/crypto/blake2b"
)

func newDigests() []hash.Hash {
	b2, _ := blake2b.New256(nil)
	return []hash.Hash{md5.New(), sha256.New(), b2}
}

func sums(hs []hash.Hash) []string {
	var out []string
	for _, h := range hs {
		out = append(out, hex.EncodeToString(h.Sum(nil)))
	}
	return out
}

// newNoise is an endless stream of pseudo-random bytes.
func newNoise() io.Reader { return rand.NewChaCha8([32]byte{7}) }

// failingWriter passes n bytes on to w, then fails with err.
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
	return k, f.err
}

func writers(hs []hash.Hash, extra ...io.Writer) []io.Writer {
	ws := append([]io.Writer{}, extra...)
	for _, h := range hs {
		ws = append(ws, h)
	}
	return ws
}

// Copy gives every writer every byte, in order, whatever the sizes of
// the reads and of the body relative to the ring's chunks.
func TestFanOut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		size int
		wrap func(io.Reader) io.Reader
	}{
		{"empty", 0, nil},
		{"one byte", 1, nil},
		{"chunk less one", fanChunk - 1, nil},
		{"one chunk", fanChunk, nil},
		{"chunk and one", fanChunk + 1, nil},
		{"past the ring", 3*fanChunks*fanChunk + 17, nil},
		{"odd reads", 2*fanChunk + 5, func(r io.Reader) io.Reader { return iotest.HalfReader(r) }},
		{"data with EOF", fanChunk + 3, func(r io.Reader) io.Reader { return iotest.DataErrReader(r) }},
		{"one byte reads", 5000, func(r io.Reader) io.Reader { return iotest.OneByteReader(r) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := make([]byte, tc.size)
			newNoise().Read(data) //nolint:errcheck // never fails
			var src io.Reader = bytes.NewReader(data)
			if tc.wrap != nil {
				src = tc.wrap(src)
			}
			want := newDigests()
			for _, h := range want {
				h.Write(data)
			}
			got := newDigests()
			var file bytes.Buffer
			n, err := Copy(src, writers(got, &file)...)
			if err != nil || n != int64(tc.size) {
				t.Fatalf("Copy = %d, %v; want %d, nil", n, err, tc.size)
			}
			if !bytes.Equal(file.Bytes(), data) {
				t.Errorf("the file writer got %d bytes, not the %d sent", file.Len(), len(data))
			}
			if g, w := sums(got), sums(want); !equal(g, w) {
				t.Errorf("digests %q, want %q", g, w)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A broken body ends the copy with its error (an io.ErrUnexpectedEOF of a
// cut multipart body stays one), after every writer got the bytes read
// before it.
func TestFanOutReadError(t *testing.T) {
	t.Parallel()
	for _, cause := range []error{errors.New("connection reset"), io.ErrUnexpectedEOF} {
		data := make([]byte, 5*fanChunk+9)
		newNoise().Read(data) //nolint:errcheck
		src := io.MultiReader(bytes.NewReader(data), iotest.ErrReader(cause))
		var file bytes.Buffer
		got := newDigests()
		n, err := Copy(src, writers(got, &file)...)
		if !errors.Is(err, cause) || n != int64(len(data)) {
			t.Fatalf("Copy = %d, %v; want %d, %v", n, err, len(data), cause)
		}
		want := newDigests()
		for _, h := range want {
			h.Write(data)
		}
		if !bytes.Equal(file.Bytes(), data) || !equal(sums(got), sums(want)) {
			t.Errorf("%v: the writers did not get the %d bytes before the error", cause, len(data))
		}
	}
}

// A failing writer (a full disk) stops the copy soon, not at the end of the
// body, and its error is the one returned even if the body fails too.
func TestFanOutWriteError(t *testing.T) {
	t.Parallel()
	full := errors.New("no space left on device")
	src := &tallyReader{r: newNoise()}
	disk := &failingWriter{w: io.Discard, n: 100, err: full}
	n, err := Copy(io.LimitReader(src, 1<<30), writers(newDigests(), disk)...)
	if !errors.Is(err, full) {
		t.Fatalf("Copy error %v, want %v", err, full)
	}
	// The reader may run ahead of the failed writer by the ring's chunks,
	// plus the one it was filling when the failure showed.
	if bound := int64((fanChunks + 2) * fanChunk); n > bound || src.n > bound {
		t.Errorf("read %d bytes (%d counted) after the disk failed at 100; bound %d", n, src.n, bound)
	}
}

type tallyReader struct {
	r io.Reader
	n int64
}

func (c *tallyReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Memory stays flat whatever the size: 256 MiB of a generated body go
// through a file writer and the three digests, and the bytes allocated in
// all may not grow with the body (the ring is reused, chunks are shared by
// reference; a copy that allocated per chunk would allocate the body).
//
// Not parallel: the allocation counter is the process's.
func TestFanOutMemory(t *testing.T) {
	const size = 256 << 20
	if testing.Short() {
		t.Skip("256 MiB through three digests; not in -short")
	}
	noise := newNoise()
	hs := newDigests()
	var file countingWriter
	// Warm the pool of rings after the collection, which empties it.
	runtime.GC()
	Copy(io.LimitReader(noise, fanChunk), writers(newDigests(), io.Discard)...) //nolint:errcheck
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, err := Copy(io.LimitReader(noise, size), writers(hs, &file)...)
	runtime.ReadMemStats(&after)
	if err != nil || n != size || file.n != size {
		t.Fatalf("Copy = %d, %v (file got %d); want %d", n, err, file.n, size)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d MiB: %d KiB allocated in all", size>>20, allocated>>10)
	// At most one ring (1 MiB), when a collection emptied the pool between
	// the warm-up and the copy, and a few KiB of channels and goroutines.
	if allocated > 2<<20 {
		t.Errorf("allocated %d KiB to copy %d MiB; want under 2 MiB", allocated>>10, size>>20)
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// BenchmarkDigests compares, in one run, each digest alone (the physical
// limits), the sequential io.MultiWriter uploads used to hash with (the
// sum of the digests), and Copy (the slowest digest, or on fewer cores
// than digests their CPU time over the cores). 64 MiB of generated bytes
// per operation; compare the MB/s columns.
func BenchmarkDigests(b *testing.B) {
	const size = 64 << 20
	src := func() io.Reader { return io.LimitReader(newNoise(), size) }
	b2 := func() hash.Hash { h, _ := blake2b.New256(nil); return h }
	for _, bc := range []struct {
		name string
		run  func() error
	}{
		{"md5", func() error { _, err := io.Copy(md5.New(), src()); return err }},
		{"sha256", func() error { _, err := io.Copy(sha256.New(), src()); return err }},
		{"blake2b256", func() error { _, err := io.Copy(b2(), src()); return err }},
		{"sequential", func() error {
			_, err := io.Copy(io.MultiWriter(writers(newDigests(), io.Discard)...), src())
			return err
		}},
		{"parallel", func() error { _, err := Copy(src(), writers(newDigests(), io.Discard)...); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				if err := bc.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
