package upstream

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// Buffers of one fan-out: fanChunks chunks of fanChunkSize bytes each, the
// most a download holds in memory besides the client's holdback.
const (
	fanChunks    = 8
	fanChunkSize = 128 << 10
)

// fanOut reads src to its end and hands every chunk to each of sinks, each
// on its own goroutine, and to client (when not nil) on this one: the
// cache file's write and the sha256 run beside the download instead of
// after each read, so a first download through the proxy is paced by the
// upstream and the client, not by the sum of the work done on each byte.
// It returns the bytes read and the first error of src or a sink (a sink
// that fails stops the read). client's errors are its own: a client that
// goes away does not stop the download.
func fanOut(src io.Reader, client io.Writer, sinks ...io.Writer) (int64, error) {
	type chunk struct {
		b    []byte
		refs atomic.Int32
	}
	free := make(chan *chunk, fanChunks)
	for range fanChunks {
		free <- &chunk{b: make([]byte, fanChunkSize)}
	}
	release := func(c *chunk) {
		if c.refs.Add(-1) == 0 {
			free <- c
		}
	}
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
		errs   = make([]error, len(sinks))
		queues = make([]chan *chunk, len(sinks))
	)
	for i, sink := range sinks {
		queues[i] = make(chan *chunk, fanChunks)
		wg.Go(func() {
			for c := range queues[i] {
				if errs[i] == nil {
					if _, err := sink.Write(c.b); err != nil {
						errs[i] = err
						failed.Store(true)
					}
				}
				release(c)
			}
		})
	}
	var n int64
	var rerr error
	for !failed.Load() {
		c := <-free
		k, err := src.Read(c.b[:cap(c.b)])
		if k > 0 {
			n += int64(k)
			c.b = c.b[:k]
			c.refs.Store(int32(len(sinks) + 1))
			for _, q := range queues {
				q <- c
			}
			if client != nil {
				client.Write(c.b) //nolint:errcheck // see above
			}
			release(c)
		} else {
			free <- c
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	return n, errors.Join(append([]error{rerr}, errs...)...)
}
