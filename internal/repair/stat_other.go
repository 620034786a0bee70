//go:build !(linux || darwin || freebsd || netbsd)

package repair

import (
	"io/fs"
	"time"
)

// changed is the mtime on platforms whose ctime is not handled in
// stat_unix.go.
func changed(fi fs.FileInfo) time.Time { return fi.ModTime() }
