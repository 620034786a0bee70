//go:build !linux

package datadir

import "os"

// startWriteback is a no-op where sync_file_range does not exist: the file
// reaches the disk at Finish's fsync.
func startWriteback(*os.File, int64, int64) {}
