package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// QuarantineDir holds the package files of quarantined projects (PEP 792),
// under the same relative paths as in packages/. Nothing serves it: the
// binary, nginx and Apache serve /packages/ from packages/ only, so a file
// moved here stops being downloadable from every server at once, with the
// application running or not and whatever the web server's configuration.
const QuarantineDir = "quarantine"

// Quarantine is DATA/quarantine.
func (d Dir) Quarantine() string { return filepath.Join(d.root, QuarantineDir) }

// Quarantined is the place in DATA/quarantine of the package file at rel.
func (d Dir) Quarantined(rel string) string {
	return filepath.Join(d.root, QuarantineDir, filepath.FromSlash(rel))
}

// QuarantineFile moves the package file at rel and its .metadata sidecar
// from packages/ to quarantine/, durably. A file already moved is not an
// error (a retry after a crash finishes the job).
func (d Dir) QuarantineFile(rel string) error {
	return d.moveFile(rel, d.Package(rel), d.Quarantined(rel))
}

// UnquarantineFile moves the package file at rel and its sidecar back from
// quarantine/ to packages/, durably; a file already back is not an error.
func (d Dir) UnquarantineFile(rel string) error {
	return d.moveFile(rel, d.Quarantined(rel), d.Package(rel))
}

func (d Dir) moveFile(rel, from, to string) error {
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return fmt.Errorf("stored path %q is not inside the data directory's trees", rel)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	moved := false
	for _, sfx := range []string{"", MetadataSuffix} {
		err := os.Rename(from+sfx, to+sfx)
		switch {
		case err == nil:
			moved = true
		case errors.Is(err, fs.ErrNotExist):
			// Already moved, or a file without a sidecar.
		default:
			return err
		}
	}
	if !moved {
		return nil
	}
	// Both directory entries must be durable: a crash must not bring the
	// file back to packages/ or lose it from both trees.
	return errors.Join(SyncDir(filepath.Dir(to)), SyncDir(filepath.Dir(from)))
}
