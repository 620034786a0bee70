//go:build unix

package static

import (
	"io/fs"
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
