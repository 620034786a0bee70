package httperr

import (
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// A failure to write to the server's own storage is the server's: 507 for a
// full disk or quota, 500 otherwise, each with a fixed message that shows
// no path.
func TestWriteStorage(t *testing.T) {
	t.Parallel()
	pathErr := func(errno syscall.Errno) error {
		return fmt.Errorf("%w: write temp file: %w", index.ErrStorage,
			&fs.PathError{Op: "write", Path: "/srv/secret/tmp/upload-1.part", Err: errno})
	}
	tests := []struct {
		err    error
		status int
		body   string
	}{
		{pathErr(syscall.ENOSPC), 507, "Insufficient storage: the server's disk is full."},
		{pathErr(syscall.EDQUOT), 507, "Insufficient storage"},
		{pathErr(syscall.EIO), 500, "Internal server error: the server could not write to its storage."},
		{fmt.Errorf("rewrite page: %w", pathErr(syscall.ENOSPC)), 507, "Insufficient storage"},
	}
	for _, tt := range tests {
		checkWrite(t, tt.err, tt.status, tt.body)
	}
}
