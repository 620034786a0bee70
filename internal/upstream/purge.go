package upstream

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// AdminStore is what Purge and Claim need of the database (*index.Store).
type AdminStore interface {
	PurgeUpstream(ctx context.Context, names []index.Normalized) ([]index.Normalized, []string, error)
	ClaimName(ctx context.Context, name index.Normalized) ([]string, error)
}

// Purge forgets the named cached projects, or the whole cache when names
// is empty, in the database and on disk; the next request fetches them
// again. It returns the projects forgotten and how many files were.
// Servers may run meanwhile: a page being written as it is purged is at
// worst fetched again after the TTL.
func Purge(ctx context.Context, store AdminStore, dataDir string, names []index.Normalized) ([]index.Normalized, int, error) {
	purged, paths, err := store.PurgeUpstream(ctx, names)
	if err != nil {
		return nil, 0, err
	}
	dir := datadir.New(dataDir)
	if len(names) == 0 {
		return purged, len(paths), removeAll(dir.Cache())
	}
	var errs []error
	for _, n := range names {
		errs = append(errs, removeAll(dir.CacheProjectPages(n)))
	}
	errs = append(errs, removeFiles(dir, paths))
	return purged, len(paths), errors.Join(errs...)
}

// Claim reserves name for local uploads (index.Store.ClaimName) and
// removes whatever the cache held for it from disk.
func Claim(ctx context.Context, store AdminStore, dataDir string, name index.Normalized) (int, error) {
	paths, err := store.ClaimName(ctx, name)
	if err != nil {
		return 0, err
	}
	dir := datadir.New(dataDir)
	return len(paths), errors.Join(removeAll(dir.CacheProjectPages(name)), removeFiles(dir, paths))
}

func removeFiles(dir datadir.Dir, paths []string) error {
	var errs []error
	for _, p := range paths {
		for _, f := range []string{dir.CachePackage(p), dir.CachePackage(p) + datadir.MetadataSuffix} {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func removeAll(path string) error { return os.RemoveAll(path) }
