package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Failures to write to the data directory (a full disk, an I/O error) are
// the server's, not the client's: they wrap index.ErrStorage, which the
// status table answers with 507 Insufficient Storage for a full disk or
// quota and 500 otherwise, each with a fixed message that names no path.
// Whatever the upload half-wrote is removed before the answer: the temp
// file always, the placed file and its .metadata when the commit did not
// happen.

// storageErr wraps a failure to write to the data directory. The OS error
// stays in the chain for the log and for errors.Is(err, syscall.ENOSPC).
func storageErr(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", index.ErrStorage, op, err)
}

// asStorage marks err as a storage failure when it is a file-system error
// (a page that could not be written) rather than, say, the database's.
func asStorage(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	var errno syscall.Errno
	if errors.Is(err, index.ErrStorage) || errors.Is(err, index.ErrUnavailable) {
		return err
	}
	if errors.As(err, &pe) || errors.As(err, &le) || errors.As(err, &errno) {
		return fmt.Errorf("%w: %w", index.ErrStorage, err)
	}
	return err
}

// tempWriter is the upload's temp file as the hashing copy sees it. It
// remembers a write error, so a full disk is told apart from a client
// that sent a broken body (both end io.Copy with an error).
type tempWriter struct {
	w   io.Writer
	err error
}

func (t *tempWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil && t.err == nil {
		t.err = err
	}
	return n, err
}

// wrapTempFile, when set by a test, wraps the writer of the temp file of an
// upload of filename: tests inject a failing disk without mounting one.
// It is atomic because tests run in parallel.
var wrapTempFile atomic.Pointer[func(filename string, w io.Writer) io.Writer]

// failPlaceSync, when set by a test, may fail the syncs of a file just
// renamed to dst, as a disk that fails the flush would.
var failPlaceSync atomic.Pointer[func(dst string) error]

// fileRows is an optional Store capability (index.Store has it). With it, a
// placed file whose commit failed is removed only under the project's lock
// and only if no row refers to it: an identical upload running at the same
// time may have committed a row for this very path, and a commit that
// failed with a broken connection may in fact have happened.
type fileRows interface {
	LockedFiles(ctx context.Context, name index.Normalized, filenames []string, fn func(map[string]index.File) error) error
}

// unplaceTimeout bounds the clean-up after a failed commit; it runs
// detached from the request, whose client may be gone.
const unplaceTimeout = 5 * time.Second

// unplaceFailed removes a placed file after its commit failed with
// commitErr, if the file at its path is still the one this upload placed
// (placed: the temp file's info from before the rename; a concurrent
// identical upload renames its own file over the path, and that one is not
// ours to remove). When the store cannot say that no row refers to the file
// (the database is away), the file stays: the sweep (internal/repair) moves
// it aside after the grace period if no row ever refers to it.
func (h *Handler) unplaceFailed(ctx context.Context, norm index.Normalized, f index.File, placed fs.FileInfo, commitErr error) {
	rows, ok := h.store.(fileRows)
	if !ok {
		if !errors.Is(commitErr, index.ErrUnavailable) {
			h.unplace(f.Path, placed)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unplaceTimeout)
	defer cancel()
	err := rows.LockedFiles(ctx, norm, []string{f.Filename}, func(found map[string]index.File) error {
		if row, ok := found[f.Filename]; ok && row.Path == f.Path {
			return nil // committed after all, or by an identical upload
		}
		h.unplace(f.Path, placed)
		return nil
	})
	if err != nil {
		h.log.WarnContext(ctx, "placed file left for the sweep", "path", filepath.ToSlash(f.Path), "err", err)
	}
}
