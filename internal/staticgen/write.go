package staticgen

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Pages are public: nginx or Apache may serve them as another user, so they
// are world-readable, whatever the umask.
const (
	pagePerm fs.FileMode = 0o644
	dirPerm  fs.FileMode = 0o755
)

// validDirName reports whether name is a PEP 503 normalized name of a valid
// project ([a-z0-9] at both ends, [a-z0-9-] between). Anything else could
// escape DATA/simple or collide with the dot-named temporary files.
func validDirName(name index.Normalized) bool {
	if len(name) == 0 || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(name)-1) {
			return false
		}
	}
	return true
}

// maxPooledBuf keeps large buffers out of the pool: project pages (a
// 10,000-file project is ~5 MB) are rewritten often and reuse theirs, while
// the root of a 700,000-project index (~40 MB, two of them) is rewritten only
// when a project is added and should not stay in the heap between rewrites.
const maxPooledBuf = 8 << 20

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuf {
		bufPool.Put(b)
	}
}

// writePages renders both representations of a page and has datadir
// replace them in dir, which must exist. With durable set it returns once
// both are complete and durable; otherwise once both are complete (renamed
// into place), leaving the fsyncs to the caller.
//
// The two halves run concurrently: on ext4 two concurrent fsyncs share one
// journal commit where two sequential ones cost one each, and rendering one
// page overlaps the other's I/O. The renames may land in either order;
// readers compare serials, not the two files' ages.
func writePages(dir string, renderJSON, renderHTML func(*bytes.Buffer), durable bool) error {
	var jsonErr error
	var wg sync.WaitGroup
	wg.Go(func() { jsonErr = renderFile(datadir.PageFile(dir, datadir.JSON), renderJSON, durable) })
	htmlErr := renderFile(datadir.PageFile(dir, datadir.HTML), renderHTML, durable)
	wg.Wait()
	if err := errors.Join(jsonErr, htmlErr); err != nil {
		return err
	}
	if !durable {
		return nil
	}
	// One directory fsync makes both renames durable.
	return datadir.SyncDir(dir)
}

// renderFile renders a page and replaces the file at path with it
// (datadir.Replace: a temporary file beside it, renamed over it), fsyncing
// the new file first when durable is set; the caller syncs the directory.
// A failed write leaves the old page in place.
func renderFile(path string, render func(*bytes.Buffer), durable bool) error {
	buf := getBuf()
	defer putBuf(buf)
	render(buf)
	return datadir.Replace(path, buf.Bytes(), pagePerm, durable)
}

// ensureDir creates dir if it is missing and then fsyncs its parent, so the
// new directory entry survives a crash along with the pages written into it.
// The parent must exist.
func ensureDir(dir string) error {
	made, err := mkdirOnce(dir)
	if err != nil || !made {
		return err
	}
	return datadir.SyncDir(filepath.Dir(dir))
}

// mkdirOnce creates dir if it is missing, without syncing its parent, and
// reports whether it did.
//
// It looks first: mkdir takes the parent's inode lock exclusively, even
// when the directory exists, and DATA/simple is the parent of every page
// directory. With the cache cold its lookup waits for a disk read, and
// every other lookup in DATA/simple (each page read, by every rewrite and
// by nginx) waited behind it; a stat takes the lock shared. A cold
// `regenerate --all` at 700,000 projects took 94-97 s instead of 102 s
// (BENCHMARKS.md, session 5).
func mkdirOnce(dir string) (bool, error) {
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		return false, nil
	}
	err := os.Mkdir(dir, dirPerm)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

// removePageDir removes DATA/simple/<name> as one step for readers: the
// directory is first renamed into a fresh hidden directory beside it, so
// nobody sees the HTML page gone while the JSON one is still served. A
// missing directory is not an error.
func removePageDir(simple, name string) error {
	dir := filepath.Join(simple, name)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	trash, err := os.MkdirTemp(simple, "."+name+".removed-")
	if err != nil {
		return err
	}
	if err := os.Rename(dir, filepath.Join(trash, name)); err != nil {
		os.Remove(trash)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed concurrently
		}
		return err
	}
	return errors.Join(datadir.SyncDir(simple), os.RemoveAll(trash))
}
