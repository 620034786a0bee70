//go:build unix

package upstream

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockPoll is how often a waiter tries a lock another download holds.
const lockPoll = 20 * time.Millisecond

// lockPath takes the exclusive lock of the file at path, creating it,
// waiting until ctx is done. flock locks belong to the open file, so two
// requests of one process exclude each other as two processes do.
//
// unlock removes the file before it releases the lock, so that lock files
// do not pile up, one for every file ever fetched. A waiter may have opened
// the file before its removal: once it holds the lock it checks that path
// still names the file it locked, and if not (the path names a newer lock
// file, or none) starts again on what path names now.
func lockPath(ctx context.Context, path string) (unlock func(), err error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, err
		}
		if err := flockWait(ctx, f); err != nil {
			f.Close()
			return nil, err
		}
		held, herr := f.Stat()
		now, nerr := os.Stat(path)
		if herr == nil && nerr == nil && os.SameFile(held, now) {
			return func() {
				os.Remove(path) //nolint:errcheck // a file left is only a file; the next holder removes it
				f.Close()       // releases the lock
			}, nil
		}
		f.Close()
		if herr != nil {
			return nil, herr
		}
		if nerr != nil && !errors.Is(nerr, os.ErrNotExist) {
			return nil, nerr
		}
	}
}

// flockWait takes f's exclusive lock, trying every lockPoll until ctx is
// done.
func flockWait(ctx context.Context, f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}
