//go:build !unix

package datadir

import "io/fs"

// FileID is empty where the platform offers no portable inode number;
// callers then rely on size, mtime, age and what the file records.
type FileID struct{}

// IDOf returns the zero FileID.
func IDOf(fs.FileInfo) FileID { return FileID{} }
