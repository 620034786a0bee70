//go:build unix

package datadir

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Open opens a file or directory for reading, as os.Open does, minus the
// network poller's round: os.Open offers every descriptor to the poller,
// which refuses regular files and directories, and turns the descriptor's
// non-blocking flag on and off again around that, so four fcntl calls and a
// failing epoll_ctl per open. Serving a page, reading one back in a rebuild
// of 700,000 projects, or fsyncing a file need neither.
func Open(path string) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}

// createTemp creates a new file in dir named prefix + random digits,
// readable and writable by its owner only, without the poller's round (see
// Open): a page rewrite creates two of these.
func createTemp(dir, prefix string) (*os.File, error) {
	for range 10000 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		fd, err := syscall.Open(name, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o600)
		switch err {
		case nil:
			return os.NewFile(uintptr(fd), name), nil
		case syscall.EEXIST, syscall.EINTR:
			continue
		default:
			return nil, &fs.PathError{Op: "createtemp", Path: name, Err: err}
		}
	}
	return nil, &fs.PathError{Op: "createtemp", Path: filepath.Join(dir, prefix+"*"), Err: fs.ErrExist}
}
