package index

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// This file holds what start-up repair, `cheeseshop check` and
// `cheeseshop regenerate` need from the database: which pages are stale, the
// serial each project's pages were built from, every project and file, and
// the per-project lock the upload path commits under.

// StalePage is a project whose pages may not show its last change: the
// serial recorded for its pages differs from its last serial.
type StalePage struct {
	Name       Normalized
	LastSerial int64
	PageSerial int64 // -1 when no page was ever recorded
}

// PageMark says that a project's pages on disk were found to reflect Serial.
type PageMark struct {
	Name   Normalized
	Serial int64
}

// recordPageSerial notes, inside the transaction that holds the project's
// page lock, that its pages were just rebuilt from p. The update is
// skipped when nothing changes, so rewriting an up-to-date page writes
// nothing to the database.
//
// The commit need not wait for the WAL flush: losing this update in a crash
// leaves an older page_serial, which only makes repair rewrite a page that
// was fine. A page_serial newer than the page it describes cannot happen,
// because the page is durable before fn returns.
func recordPageSerial(ctx context.Context, tx querier, p Project) error {
	tag, err := tx.Exec(ctx, `UPDATE projects SET page_serial = $2 WHERE id = $1 AND page_serial IS DISTINCT FROM $2`,
		p.ID, p.LastSerial)
	if err != nil {
		return fmt.Errorf("record page serial of %q: %w", p.Normalized, translate(err))
	}
	if tag.RowsAffected() > 0 {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return fmt.Errorf("record page serial of %q: %w", p.Normalized, translate(err))
		}
	}
	return nil
}

// InspectProject is LockedProject without the recording: fn gets the
// committed state under the project's lock, so pages compared against it
// are not being rewritten meanwhile, and page_serial is left alone. Readers
// use it, and so do page rewrites that are not yet durable when fn returns
// (staticgen's DeferSync), which record their serial with MarkPageSerials
// once they are.
func (s *Store) InspectProject(ctx context.Context, name Normalized, fn func(ProjectState) error) error {
	return s.lockedPageState(ctx, name, func(_ querier, st ProjectState) error { return fn(st) })
}

// LockedFiles calls fn with the rows of the named files that exist (keyed
// by filename) while holding the advisory lock of the project with the
// normalised name, the lock AddFile commits under, whether or not the
// project exists. The rows are read under the lock, in the same
// transaction, so no upload of those files can commit until fn returns:
// the orphan sweep moves a file aside, and a failed upload removes its
// placed file, only when fn sees no row for it.
func (s *Store) LockedFiles(ctx context.Context, name Normalized, filenames []string, fn func(map[string]File) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, projectLockSQL, string(name)); err != nil {
			return fmt.Errorf("lock project %q: %w", name, translate(err))
		}
		files, err := scanFiles(tx.Query(ctx, `SELECT `+fileCols+` FROM files WHERE filename = ANY($1)`, filenames))
		if err != nil {
			return fmt.Errorf("look up files: %w", err)
		}
		return fn(byFilename(files))
	})
}

// StalePages returns the projects whose pages may be older than their last
// change, in name order. It reads only the partial index of such rows
// (migration 0004), so it stays cheap however many projects there are.
func (s *Store) StalePages(ctx context.Context) ([]StalePage, error) {
	rows, err := s.pool.Query(ctx, `SELECT normalized, last_serial, coalesce(page_serial, -1) FROM projects
		WHERE page_serial IS DISTINCT FROM last_serial ORDER BY normalized COLLATE "C"`)
	return collectRows("stale pages", rows, err, pgx.RowToStructByPos[StalePage])
}

// MarkPageSerials records serials read back from pages on disk. A mark only
// moves page_serial forward and never past last_serial, so a mark that races
// with a page rewrite cannot claim more than the rewrite recorded.
func (s *Store) MarkPageSerials(ctx context.Context, marks []PageMark) error {
	const batch = 1000
	for len(marks) > 0 {
		n := min(batch, len(marks))
		names := make([]string, n)
		serials := make([]int64, n)
		for i, m := range marks[:n] {
			names[i], serials[i] = string(m.Name), m.Serial
		}
		_, err := s.pool.Exec(ctx, `UPDATE projects p SET page_serial = m.serial
			FROM unnest($1::text[], $2::bigint[]) AS m(name, serial)
			WHERE p.normalized = m.name AND m.serial <= p.last_serial
			  AND (p.page_serial IS NULL OR p.page_serial < m.serial)`, names, serials)
		if err != nil {
			return fmt.Errorf("mark page serials: %w", translate(err))
		}
		marks = marks[n:]
	}
	return nil
}

// ProjectNames returns every project's normalised name in byte order (the
// order os.ReadDir lists DATA/simple in). At 700,000 projects that is about
// 20 MB, read in one query.
func (s *Store) ProjectNames(ctx context.Context) ([]Normalized, error) {
	return s.projectNames(ctx, projectNamesSQL)
}

const projectNamesSQL = `SELECT normalized FROM projects ORDER BY normalized COLLATE "C"`

// EachProjectName calls fn with every project's normalised name in byte
// order, as ProjectNames lists them, one at a time: the caller need not hold
// all of them. fn runs while the query is open, so it must not use the
// store; an error from fn stops the listing and is returned.
func (s *Store) EachProjectName(ctx context.Context, fn func(Normalized) error) error {
	return s.eachProjectName(ctx, projectNamesSQL, fn)
}

// ProjectNamesByAge returns every project's normalised name in the order the
// projects were created (by id). That is roughly the order in which their
// page directories, and so their pages, lie on disk: a file system puts a
// new directory's inode and blocks after its predecessors', and a page's
// beside its directory. Reading every page in this order, rather than by
// name, keeps a cold rebuild's reads close together on disk (at 700,000
// projects on a VM disk: 71 s instead of 83 s, BENCHMARKS.md).
func (s *Store) ProjectNamesByAge(ctx context.Context) ([]Normalized, error) {
	return s.projectNames(ctx, `SELECT normalized FROM projects ORDER BY id`)
}

func (s *Store) projectNames(ctx context.Context, query string) ([]Normalized, error) {
	var out []Normalized
	err := s.eachProjectName(ctx, query, func(n Normalized) error {
		out = append(out, n)
		return nil
	})
	return out, err
}

func (s *Store) eachProjectName(ctx context.Context, query string, fn func(Normalized) error) error {
	rows, err := s.pool.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("list projects: %w", translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return fmt.Errorf("list projects: %w", translate(err))
		}
		if err := fn(Normalized(n)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list projects: %w", translate(err))
	}
	return nil
}

// FilesByFilename returns the rows of the named files that exist, keyed by
// filename. It uses the unique index on filename.
func (s *Store) FilesByFilename(ctx context.Context, filenames []string) (map[string]File, error) {
	files, err := scanFiles(s.pool.Query(ctx, `SELECT `+fileCols+` FROM files WHERE filename = ANY($1)`, filenames))
	if err != nil {
		return nil, fmt.Errorf("look up files: %w", err)
	}
	return byFilename(files), nil
}

func byFilename(files []File) map[string]File {
	out := make(map[string]File, len(files))
	for _, f := range files {
		out[f.Filename] = f
	}
	return out
}

// ForEachFile calls fn with every file row, in id order, batch rows at a
// time. No connection is held while fn runs.
func (s *Store) ForEachFile(ctx context.Context, batch int, fn func([]File) error) error {
	if batch <= 0 {
		batch = 1000
	}
	var after int64
	for {
		files, err := scanFiles(s.pool.Query(ctx, `SELECT `+fileCols+` FROM files WHERE id > $1 ORDER BY id LIMIT $2`, after, batch))
		if err != nil {
			return fmt.Errorf("list files: %w", err)
		}
		if len(files) == 0 {
			return nil
		}
		if err := fn(files); err != nil {
			return err
		}
		after = files[len(files)-1].ID
	}
}
