package upload

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback starts writing the file's dirty pages in [off, off+n) to
// disk and returns without waiting for them (sync_file_range(2) with
// SYNC_FILE_RANGE_WRITE). It only schedules work the later fsync would do
// anyway, so a failure is left for that fsync to report.
func startWriteback(f *os.File, off, n int64) {
	unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE) //nolint:errcheck // the fsync reports
}
