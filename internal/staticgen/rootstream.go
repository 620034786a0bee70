package staticgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"unsafe"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// RootStreamer is the store capability the root rewrite prefers to
// LockedRoot: the projects one row at a time, in byte order of their
// normalized names (index.Store.StreamRoot).
type RootStreamer interface {
	StreamRoot(ctx context.Context, fn func(serial int64, projects iter.Seq2[index.RootRow, error]) error) error
}

// streamChunk is how much of each root page is rendered before it is
// written out to its temporary file.
const streamChunk = 256 << 10

// streamRoot rewrites both root pages in one pass over the rows: each row
// is rendered into two small buffers, which go to the two temporary files
// whenever they fill. Neither the project list nor a page is ever whole in
// memory (PyPI's root is ~40 MB per page), and nothing per project is
// allocated or sorted. The pages are renamed into place only after the last
// row, and only if every row arrived without error and in strictly
// ascending byte order, so a broken read never publishes a partial root.
func (g *Generator) streamRoot(ctx context.Context, rs RootStreamer, durable bool) (projects int, serial int64, err error) {
	err = rs.StreamRoot(ctx, func(s int64, rows iter.Seq2[index.RootRow, error]) error {
		serial = s
		html, err := newStreamFile(g.dir.RootPage(datadir.HTML))
		if err != nil {
			return err
		}
		defer html.cleanup()
		jsn, err := newStreamFile(g.dir.RootPage(datadir.JSON))
		if err != nil {
			return err
		}
		defer jsn.cleanup()

		writeRootHTMLHead(&html.buf)
		writeRootJSONHead(&jsn.buf, serial)
		var prev []byte
		for r, err := range rows {
			if err != nil {
				return err
			}
			if projects > 0 && bytes.Compare(prev, r.Normalized) >= 0 {
				return fmt.Errorf("root rows out of order: %q after %q", r.Normalized, prev)
			}
			prev = append(prev[:0], r.Normalized...)
			norm := transient(r.Normalized)
			display := norm
			if len(r.Name) > 0 {
				display = transient(r.Name)
			}
			writeRootHTMLEntry(&html.buf, norm, display)
			writeRootJSONEntry(&jsn.buf, projects == 0, display, r.LastSerial)
			projects++
			if err := errors.Join(html.flushFull(), jsn.flushFull()); err != nil {
				return err
			}
		}
		writeHTMLTail(&html.buf, serial)
		writeRootJSONTail(&jsn.buf)
		if err := errors.Join(html.finish(durable), jsn.finish(durable)); err != nil {
			return err
		}
		if err := errors.Join(jsn.publish(), html.publish()); err != nil {
			return err
		}
		if durable {
			return datadir.SyncDir(g.simple)
		}
		return nil
	})
	return projects, serial, err
}

// transient views b as a string without copying, for the escaping writers,
// which copy it into their buffer at once and keep nothing: b is the
// database driver's row buffer and changes with the next row.
func transient(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// streamFile is one page being streamed, a chunk at a time, to the
// temporary file that replaces it when complete (datadir.PendingFile).
type streamFile struct {
	f   *datadir.PendingFile
	buf bytes.Buffer
}

func newStreamFile(path string) (*streamFile, error) {
	f, err := datadir.Create(path, pagePerm)
	if err != nil {
		return nil, err
	}
	s := &streamFile{f: f}
	s.buf.Grow(streamChunk + 4<<10)
	return s, nil
}

// flushFull writes the buffer out once it holds a chunk.
func (s *streamFile) flushFull() error {
	if s.buf.Len() < streamChunk {
		return nil
	}
	return s.flush()
}

func (s *streamFile) flush() error {
	_, err := s.f.Write(s.buf.Bytes())
	s.buf.Reset()
	return err
}

// finish writes the rest, syncs the file if durable, and closes it.
func (s *streamFile) finish(durable bool) error {
	if err := s.flush(); err != nil {
		return err
	}
	return s.f.Finish(durable)
}

// publish renames the complete file over the page.
func (s *streamFile) publish() error { return s.f.Rename() }

// cleanup removes the temporary file unless it was published.
func (s *streamFile) cleanup() { s.f.Cleanup() }
