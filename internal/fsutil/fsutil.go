// Package fsutil holds the few file-system steps that the upload path, the
// page writer and repair all need to get right the same way: replacing a
// file atomically for readers, and making files and directory entries
// durable.
package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// ReplaceFile replaces path with data so that readers see either the old
// file or the whole new one: data goes to a temporary file beside path,
// named "." + base name + random digits (dot-files are what the repair
// sweep removes when stale and what the web servers never serve), which is
// given perm (exactly, whatever the umask) and renamed over path. Nothing is
// synced: the caller syncs the file and its directory when it needs them
// durable. On failure the old file stays and the temporary one is removed.
func ReplaceFile(path string, data []byte, perm fs.FileMode) error {
	f, err := createTemp(filepath.Dir(path), "."+filepath.Base(path))
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	merr := f.Chmod(perm)
	if err := errors.Join(werr, merr, f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// SyncFile fsyncs the file at path (a read-only descriptor suffices on
// Linux and the BSDs).
func SyncFile(path string) error {
	f, err := Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// SyncDir fsyncs a directory, which makes the creations, renames and
// removals of entries in it durable (an fsync of a file does not).
func SyncDir(dir string) error {
	return SyncFile(dir)
}
