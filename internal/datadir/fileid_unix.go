//go:build unix

package datadir

import (
	"io/fs"
	"syscall"
)

// FileID identifies a file independently of its name (device and inode),
// so a file replaced by rename is told apart from the one it replaced: the
// HTTP layer's page cache and repair's sweep rely on it.
type FileID struct{ dev, ino uint64 }

// IDOf returns the identity of the file fi describes; the zero FileID when
// fi does not come from a stat.
func IDOf(fi fs.FileInfo) FileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return FileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return FileID{}
}
