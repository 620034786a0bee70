//go:build !unix

package static

import "io/fs"

// fileID is empty where the platform offers no portable inode number; the
// page cache then relies on size, mtime and the page's own serial.
type fileID struct{}

func fileIDOf(fs.FileInfo) fileID { return fileID{} }
