package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// How a command treats the data directory against the database's record
// (docs/operations.md, "The data directory and its marker").
type dirUse int

const (
	// dirWrite: a command that writes pages (or reads them to check): it
	// refuses a directory that is not the recorded one.
	dirWrite dirUse = iota
	// dirClaim: serve, migrate --data-dir, dev seed: as dirWrite, and it
	// records the directory when the index has none yet, or its new path
	// when the recorded directory was moved.
	dirClaim
)

// serveDefaultDataDir is the data directory of a new index whose serve was
// given none.
const serveDefaultDataDir = "./data"

// errNotOurs is the refusal of a directory that is not the index's.
func errNotOurs(dir, recorded string) error {
	return fmt.Errorf("%s is not the data directory of this index: the server uses %s (leave --data-dir out, or give that directory)", dir, recorded)
}

// resolveDataDir settles c.dataDir against the data directory the database
// records, before anything is written: with no --data-dir it becomes the
// recorded one; a directory whose marker is not the recorded one is
// refused. It leaves c.dataDir absolute.
func (c *common) resolveDataDir(ctx context.Context, store *index.Store, use dirUse) error {
	rec, err := store.DataDir(ctx)
	hasRec := err == nil
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return err
	}
	if c.dataDir == "" {
		switch {
		case hasRec:
			c.dataDir = rec.Path
		case use == dirClaim:
			c.dataDir = serveDefaultDataDir
		default:
			return errors.New("this index records no data directory yet: give --data-dir (serve records its directory when it starts)")
		}
	}
	abs, err := filepath.Abs(c.dataDir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	c.dataDir = abs
	dir := datadir.New(abs)
	marker, err := dir.ReadMarker()
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	switch {
	case hasRec && marker == rec.Marker:
		if use == dirClaim && abs != rec.Path {
			// Moved or restored elsewhere: the marker travelled with it.
			if err := store.MoveDataDir(ctx, index.DataDirRecord{Marker: marker, Path: abs}, false); err != nil {
				return err
			}
			c.log.Info("the data directory moved; recorded its new path", "data_dir", abs, "was", rec.Path)
		}
		return nil
	case hasRec && marker == "" && abs == rec.Path:
		// The recorded directory without its marker: a claim cut short
		// between the row and the file, or a marker removed by hand.
		if use == dirClaim {
			return dir.WriteMarker(rec.Marker)
		}
		return nil
	case hasRec:
		return errNotOurs(abs, rec.Path)
	case marker != "":
		return fmt.Errorf("%s is the data directory of another index: its marker is not this database's; "+
			"if this database really is its index (restored from an older backup), run `cheeseshop migrate --adopt-data-dir --data-dir %s`", abs, abs)
	case use == dirWrite:
		// No record yet (the index was migrated without a data directory):
		// accept a directory that has been served from, or any for an empty
		// index; refuse to start a second tree beside an index in use.
		has, err := store.HasProjects(ctx)
		if err != nil {
			return err
		}
		if has && !dir.InUse() {
			return fmt.Errorf("%s holds no pages, and this index records no data directory yet: give the --data-dir the server uses", abs)
		}
		return nil
	}
	// dirClaim with no record: record this directory, then mark it.
	fresh, err := datadir.NewMarker()
	if err != nil {
		return err
	}
	got, err := store.ClaimDataDir(ctx, index.DataDirRecord{Marker: fresh, Path: abs})
	if err != nil {
		return err
	}
	if got.Marker != fresh { // another process claimed first
		if got.Path != abs {
			return errNotOurs(abs, got.Path)
		}
	}
	if err := dir.WriteMarker(got.Marker); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	c.log.Info("recorded the data directory of this index", "data_dir", abs)
	return nil
}

// adoptDataDir makes c.dataDir the index's data directory whatever was
// recorded before: a new marker in the directory and in the database.
func (c *common) adoptDataDir(ctx context.Context, store *index.Store) error {
	if c.dataDir == "" {
		return errors.New("--adopt-data-dir needs --data-dir")
	}
	abs, err := filepath.Abs(c.dataDir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	marker, err := datadir.NewMarker()
	if err != nil {
		return err
	}
	if err := store.MoveDataDir(ctx, index.DataDirRecord{Marker: marker, Path: abs}, true); err != nil {
		return err
	}
	if err := datadir.New(abs).WriteMarker(marker); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	c.dataDir = abs
	return nil
}
