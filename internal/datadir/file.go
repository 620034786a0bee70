package datadir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Every file in the data directory that readers may see while it changes
// (pages, package files' sidecars, seeded files) is replaced in one step:
// its bytes go to a temporary file beside it, named "." + its name +
// random digits (dot-files are what repair's sweep removes when stale and
// what the web servers never serve), which gets its permissions exactly
// (whatever the umask: nginx or Apache may read as another user), is
// optionally fsynced, and is renamed over the file. Readers see the old
// file or the whole new one, never a part.
//
// Durability is a separate, explicit step, because the server defers it:
// a rename is durable once the file was fsynced before it and its
// directory after it (SyncFile, SyncDir). WriteFile does all of it at
// once; Replace with sync set leaves the directory to the caller, who may
// sync it once for several files; Replace without sync leaves both to a
// later round (staticgen's deferred page syncs) or a file-system-wide sync.

// PendingFile is a file being written to replace its destination. Write
// it, Finish it, then Rename it into place; Cleanup removes it unless it
// was renamed, so `defer p.Cleanup()` after Create covers every failure.
type PendingFile struct {
	f       *os.File
	w       WriteBehind
	dst     string
	perm    fs.FileMode
	closed  bool
	renamed bool
}

// Create starts the replacement of path (which need not exist yet) by a
// file with permissions perm. path's directory must exist.
func Create(path string, perm fs.FileMode) (*PendingFile, error) {
	f, err := createTemp(filepath.Dir(path), "."+filepath.Base(path))
	if err != nil {
		return nil, err
	}
	return &PendingFile{f: f, w: WriteBehind{f: f}, dst: path, perm: perm}, nil
}

// Write appends b to the new file, handing it to the disk as it grows
// (WriteBehind).
func (p *PendingFile) Write(b []byte) (int, error) { return p.w.Write(b) }

// Finish gives the new file its permissions, fsyncs it when sync is set,
// and closes it.
func (p *PendingFile) Finish(sync bool) error {
	err := p.f.Chmod(p.perm)
	if err == nil && sync {
		err = p.f.Sync()
	}
	p.closed = true
	return errors.Join(err, p.f.Close())
}

// Rename puts the finished file in place of its destination. It does not
// sync the directory.
func (p *PendingFile) Rename() error {
	if !p.closed {
		return errors.New("datadir: rename of an unfinished file " + p.f.Name())
	}
	if err := os.Rename(p.f.Name(), p.dst); err != nil {
		return err
	}
	p.renamed = true
	return nil
}

// Cleanup closes and removes the temporary file unless it was renamed.
func (p *PendingFile) Cleanup() {
	if p.renamed {
		return
	}
	if !p.closed {
		p.closed = true
		p.f.Close()
	}
	os.Remove(p.f.Name())
}

// Replace replaces path with data in one step for readers (see above),
// fsyncing the new file before the rename when sync is set. It never syncs
// the directory. On failure the old file stays and no temporary file is
// left.
func Replace(path string, data []byte, perm fs.FileMode, sync bool) error {
	p, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer p.Cleanup()
	if _, err := p.Write(data); err != nil {
		return err
	}
	if err := p.Finish(sync); err != nil {
		return err
	}
	return p.Rename()
}

// WriteFile replaces path with data atomically and durably: temporary file
// beside it, fsync, rename, fsync of the directory. When it returns nil the
// new file survives a crash.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	if err := Replace(path, data, perm, true); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
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
