//go:build linux || darwin || freebsd || netbsd

package repair

import (
	"io/fs"
	"syscall"
	"time"
)

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
