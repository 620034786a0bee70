package datadir

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing n bytes of f from off to
// the disk (sync_file_range with SYNC_FILE_RANGE_WRITE: no wait for the
// writes, no flush of the disk's cache; Finish's fsync still makes the file
// durable). It is a hint: an error changes nothing.
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) { //nolint:errcheck // a hint
		unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE) //nolint:errcheck // a hint
	})
}
