package index

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// DataDirRecord is the data directory an index was created with: the marker
// also written in a file at its top, and where it was last served from.
type DataDirRecord struct {
	Marker string
	Path   string
}

// DataDir returns the recorded data directory, or an error wrapping
// ErrNotFound when none is recorded yet.
func (s *Store) DataDir(ctx context.Context) (DataDirRecord, error) {
	var r DataDirRecord
	err := s.pool.QueryRow(ctx, `SELECT marker, path FROM data_dir`).Scan(&r.Marker, &r.Path)
	if errors.Is(err, pgx.ErrNoRows) {
		return DataDirRecord{}, Errorf(ErrNotFound, "this index records no data directory yet")
	}
	if err != nil {
		return DataDirRecord{}, fmt.Errorf("read the data directory's record: %w", translate(err))
	}
	return r, nil
}

// ClaimDataDir records r unless a data directory is already recorded, and
// returns the record that holds afterwards: r, or the one recorded before
// (by another process, perhaps at the same moment).
func (s *Store) ClaimDataDir(ctx context.Context, r DataDirRecord) (DataDirRecord, error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO data_dir (marker, path) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		r.Marker, r.Path); err != nil {
		return DataDirRecord{}, fmt.Errorf("record the data directory: %w", translate(err))
	}
	return s.DataDir(ctx)
}

// MoveDataDir records a new path for the data directory with the given
// marker (it was moved or restored elsewhere), or takes a new marker and
// path (replace: an operator adopting a directory). It returns ErrNotFound
// when no record with that marker exists and replace is false.
func (s *Store) MoveDataDir(ctx context.Context, r DataDirRecord, replace bool) error {
	var (
		tag interface{ RowsAffected() int64 }
		err error
	)
	if replace {
		tag, err = s.pool.Exec(ctx, `INSERT INTO data_dir (marker, path) VALUES ($1, $2)
			ON CONFLICT (only_row) DO UPDATE SET marker = EXCLUDED.marker, path = EXCLUDED.path`, r.Marker, r.Path)
	} else {
		tag, err = s.pool.Exec(ctx, `UPDATE data_dir SET path = $2 WHERE marker = $1`, r.Marker, r.Path)
	}
	if err != nil {
		return fmt.Errorf("record the data directory: %w", translate(err))
	}
	if tag.RowsAffected() == 0 {
		return Errorf(ErrNotFound, "this index records another data directory")
	}
	return nil
}

// MaxSerial is the newest serial (journal entry) of the index, 0 when empty.
func (s *Store) MaxSerial(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM journal`).Scan(&n); err != nil {
		return 0, fmt.Errorf("newest serial: %w", translate(err))
	}
	return n, nil
}

// HasProjects reports whether the index has any project.
func (s *Store) HasProjects(ctx context.Context) (bool, error) {
	var b bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM projects)`).Scan(&b); err != nil {
		return false, fmt.Errorf("any project: %w", translate(err))
	}
	return b, nil
}

// StalePageCount is the number of projects whose pages may be older than
// their last change (StalePages, counted; the same partial index).
func (s *Store) StalePageCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM projects WHERE page_serial IS DISTINCT FROM last_serial`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count stale pages: %w", translate(err))
	}
	return n, nil
}

// MirrorStateCounts is the number of files in each mirror state. It reads
// every file row: call it seldom (metrics cache it).
func (s *Store) MirrorStateCounts(ctx context.Context) (map[MirrorState]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT mirror_state, count(*) FROM files GROUP BY mirror_state`)
	if err != nil {
		return nil, fmt.Errorf("count files by mirror state: %w", translate(err))
	}
	out := map[MirrorState]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count files by mirror state: %w", translate(err))
		}
		out[MirrorState(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count files by mirror state: %w", translate(err))
	}
	return out, nil
}
