//go:build !linux

package datadir

import (
	"errors"
	"os"
)

// startWriteback is a no-op where sync_file_range does not exist: the file
// reaches the disk at Finish's fsync.
func startWriteback(*os.File, int64, int64) {}

// Direct I/O is not used where O_DIRECT is not Linux's: the blocks of a
// large file go through the page cache.
var errDirectRefused = errors.ErrUnsupported

func setDirectIO(*os.File, bool) error { return errors.ErrUnsupported }
