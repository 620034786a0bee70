package upstream

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, f.err
	}
	return len(p), nil
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += k
	return k, err
}

func TestFanOut(t *testing.T) {
	src := bytes.Repeat([]byte("0123456789abcdefghij"), 3<<20/20+7) // ~3 MiB, not a multiple of a chunk
	t.Run("every sink and the client get every byte in order", func(t *testing.T) {
		var file, client bytes.Buffer
		h := sha256.New()
		n, err := fanOut(iotest.HalfReader(bytes.NewReader(src)), &client, &file, h)
		if err != nil || n != int64(len(src)) {
			t.Fatalf("fanOut = %d, %v", n, err)
		}
		if !bytes.Equal(file.Bytes(), src) || !bytes.Equal(client.Bytes(), src) {
			t.Fatal("a sink or the client got other bytes")
		}
		if want := sha256.Sum256(src); !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatal("hash of other bytes")
		}
	})
	t.Run("a failing sink stops the read and its error is returned", func(t *testing.T) {
		full := errors.New("no space left on device")
		r := &countingReader{r: bytes.NewReader(src)}
		_, err := fanOut(r, nil, io.Discard, &failAfter{n: 256 << 10, err: full})
		if !errors.Is(err, full) {
			t.Fatalf("err = %v", err)
		}
		if r.n == len(src) {
			t.Fatal("the whole source was read after a sink failed")
		}
	})
	t.Run("a client gone away does not stop the download", func(t *testing.T) {
		var file bytes.Buffer
		n, err := fanOut(bytes.NewReader(src), &failAfter{n: 1000, err: errors.New("broken pipe")}, &file)
		if err != nil || n != int64(len(src)) || !bytes.Equal(file.Bytes(), src) {
			t.Fatalf("fanOut = %d, %v; file %d bytes", n, err, file.Len())
		}
	})
	t.Run("a read error is returned", func(t *testing.T) {
		bad := errors.New("connection reset")
		_, err := fanOut(io.MultiReader(bytes.NewReader(src[:1000]), iotest.ErrReader(bad)), nil, io.Discard)
		if !errors.Is(err, bad) {
			t.Fatalf("err = %v", err)
		}
	})
}
