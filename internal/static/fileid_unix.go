//go:build unix

package static

import (
	"io/fs"
	"os"
	"syscall"
)

// fileID identifies a file independently of its name, so a page replaced by
// rename is told apart from the one it replaced.
type fileID struct{ dev, ino uint64 }

func fileIDOf(fi fs.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return fileID{}
}

// openFile opens path read-only for serving. os.Open would also offer the
// descriptor to the network poller, which refuses regular files, and turn its
// non-blocking flag on and off again around that: four fcntl calls and a
// failing epoll_ctl on every request. A served file is read by pread and
// sendfile, which need neither.
func openFile(path string) (*os.File, error) {
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
