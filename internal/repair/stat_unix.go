//go:build linux || darwin || freebsd || netbsd

package repair

import (
	"io/fs"
	"syscall"
	"time"
)

// fileID identifies a file independently of its name, so a file replaced by
// rename is told apart from the one the sweep judged.
type fileID struct{ dev, ino uint64 }

func fileIDOf(fi fs.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return fileID{}
}

// changed is the later of a file's mtime and ctime. An upload's rename into
// place keeps the temp file's mtime but, with the chmod before it, sets the
// ctime, so a file placed a moment ago is young even if its bytes were
// written long before.
func changed(fi fs.FileInfo) time.Time {
	t := fi.ModTime()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if c := time.Unix(statCtime(st)); c.After(t) {
			t = c
		}
	}
	return t
}
