// Package fanout copies one stream to several writers at once, each on its
// own goroutine: an upload's temp file and its digests, an upstream file's
// cache copy, its digest and its client.
package fanout

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// Written one after another (io.MultiWriter), a stream costs the sum of
// its writers' times; Copy gives each writer its own goroutine, all fed
// from one read of the source, so it costs the slowest of them (or, on
// fewer cores than writers, their CPU time spread over the cores).
//
// The bytes go through a small ring of fixed chunks, shared by reference:
// the reader fills a free chunk and hands it to every writer; the last
// writer done with a chunk gives it back. Memory is the ring's, whatever
// the size of the stream, and the reader runs at most ringChunks chunks ahead
// of the slowest writer.
const (
	fanChunk  = 128 << 10 // bytes per chunk
	fanChunks = 8         // chunks per ring (1 MiB per copy in flight)
)

// fanRing is one copy's chunks; rings are reused across copies.
type fanRing [fanChunks][fanChunk]byte

var fanRings = sync.Pool{New: func() any { return new(fanRing) }}

// fanItem is a filled chunk: its index in the ring and its length.
type fanItem struct{ idx, n int }

// Copy copies src to every writer in ws, each written on its own
// goroutine in the order the bytes arrive, and returns the bytes read. It
// stops at the first error: src's (other than io.EOF), or a writer's (the
// first writer's in ws order when several fail). A writer that fails gets
// no further bytes; the others still get every byte read before the copy
// stopped, so their state is of a prefix of src, never of a gap.
func Copy(src io.Reader, ws ...io.Writer) (int64, error) {
	ring := fanRings.Get().(*fanRing)
	defer fanRings.Put(ring)

	var (
		refs   [fanChunks]atomic.Int32
		free   = make(chan int, fanChunks)
		feeds  = make([]chan fanItem, len(ws))
		errs   = make([]error, len(ws))
		failed atomic.Bool
		wg     sync.WaitGroup
	)
	for i := range fanChunks {
		free <- i
	}
	for i, w := range ws {
		feed := make(chan fanItem, fanChunks)
		feeds[i] = feed
		wg.Go(func() {
			for it := range feed {
				if errs[i] == nil {
					if _, err := w.Write(ring[it.idx][:it.n]); err != nil {
						errs[i] = err
						failed.Store(true)
					}
				}
				if refs[it.idx].Add(-1) == 0 {
					free <- it.idx
				}
			}
		})
	}

	var total int64
	var rerr error
	for !failed.Load() {
		idx := <-free
		n, err := fill(src, ring[idx][:])
		if n > 0 {
			total += int64(n)
			refs[idx].Store(int32(len(ws)))
			for _, feed := range feeds {
				feed <- fanItem{idx, n}
			}
		} else {
			free <- idx
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				rerr = err
			}
			break
		}
	}
	for _, feed := range feeds {
		close(feed)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return total, err
		}
	}
	return total, rerr
}

// fill reads from r until buf is full or r fails, and returns r's error as
// is (io.ReadFull would turn a short read's io.EOF into
// io.ErrUnexpectedEOF, which a broken multipart body returns too).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
