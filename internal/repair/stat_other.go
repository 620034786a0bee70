//go:build !(linux || darwin || freebsd || netbsd)

package repair

import (
	"io/fs"
	"time"
)

// fileID is empty on platforms not handled in stat_unix.go; the
// sweep then relies on the project lock and the file's age alone.
type fileID struct{}

func fileIDOf(fs.FileInfo) fileID { return fileID{} }

func changed(fi fs.FileInfo) time.Time { return fi.ModTime() }
