package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// Dir is a target directory that something else publishes: an rsync or
// rclone job, a bucket mounted with a FUSE driver, a directory a CDN pulls
// from. Objects are written atomically (temporary file, fsync, rename), so
// whatever publishes the directory never sees half a file.
type Dir struct {
	root   string
	public *url.URL
}

// NewDir returns a target writing under the directory of a file:///dir URL.
// It has a public URL only when opts.PublicURL gives one.
func NewDir(u *url.URL, opts TargetOptions) (*Dir, error) {
	if u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("mirror target %q: want file:///absolute/dir", redact(u))
	}
	if u.Path == "" || !filepath.IsAbs(filepath.FromSlash(u.Path)) {
		return nil, fmt.Errorf("mirror target %q: the directory must be an absolute path", redact(u))
	}
	d := &Dir{root: filepath.Clean(filepath.FromSlash(u.Path))}
	if opts.PublicURL != "" {
		var err error
		if d.public, err = parseBase(opts.PublicURL, "mirror public URL"); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Put writes the object atomically, creating directories as needed. It
// replaces the object only when exactly size bytes arrived.
func (d *Dir) Put(ctx context.Context, path string, r io.Reader, size int64) error {
	if err := checkPath(path); err != nil {
		return err
	}
	dest := filepath.Join(d.root, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("put %s: %w", path, err)
	}
	// The temporary file sits beside the destination: rename is atomic only
	// within one file system.
	pf, err := renameio.NewPendingFile(dest, renameio.WithPermissions(0o644))
	if err != nil {
		return fmt.Errorf("put %s: %w", path, err)
	}
	defer pf.Cleanup() //nolint:errcheck // no-op after CloseAtomicallyReplace
	n, err := io.Copy(pf, io.LimitReader(ctxReader{ctx, r}, size+1))
	if err != nil {
		return fmt.Errorf("put %s: %w", path, err)
	}
	if n != size {
		return fmt.Errorf("put %s: got %d bytes, want %d", path, n, size)
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("put %s: %w", path, err)
	}
	return nil
}

// Delete removes the object's file; one already gone is not an error. The
// directories stay: another object may be put there.
func (d *Dir) Delete(ctx context.Context, path string) error {
	if err := checkPath(path); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	if err := os.Remove(filepath.Join(d.root, filepath.FromSlash(path))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	return nil
}

// PublicURL returns the configured public base URL joined with path, or ""
// when none was configured.
func (d *Dir) PublicURL(path string) string { return joinURL(d.public, path) }

// ctxReader stops a copy once ctx is done, so a cancelled push of a large
// file to a slow disk ends promptly.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
