package index

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// YankRelease marks a release yanked (PEP 592): installers skip it unless a
// requirement pins it exactly. Yanking applies to every file of the release,
// as on PyPI. Yanking a yanked release again only changes its reason.
func (s *Store) YankRelease(ctx context.Context, project Normalized, version, reason, by string) (Change, error) {
	return s.change(ctx, fmt.Sprintf("yank %s %s", project, version), func(tx pgx.Tx, ch *Change) error {
		return setYanked(ctx, tx, ch, project, version, true, reason, by)
	})
}

// UnyankRelease takes a release's yank back. A release that is not yanked
// is left alone (Changed is false).
func (s *Store) UnyankRelease(ctx context.Context, project Normalized, version, by string) (Change, error) {
	return s.change(ctx, fmt.Sprintf("unyank %s %s", project, version), func(tx pgx.Tx, ch *Change) error {
		return setYanked(ctx, tx, ch, project, version, false, "", by)
	})
}

func setYanked(ctx context.Context, tx pgx.Tx, ch *Change, project Normalized, version string, yanked bool, reason, by string) error {
	p, r, err := lockRelease(ctx, tx, project, version)
	if err != nil {
		return err
	}
	ch.Project = p
	if r.Yanked == yanked && r.YankedReason == reason {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE releases SET yanked = $2, yanked_reason = $3 WHERE id = $1`, r.ID, yanked, reason); err != nil {
		return fmt.Errorf("update release: %w", translate(err))
	}
	action := "yank release"
	if !yanked {
		action = "unyank release"
	}
	return ch.record(ctx, tx, r.Version, action, by)
}

// DeleteFile deletes one file of a release. Its filename goes into
// deleted_filenames for good: it can never be uploaded again, whatever the
// bytes (PyPI's rule, so a filename always means one content). The caller
// removes ch.Removed from disk after rewriting the pages.
func (s *Store) DeleteFile(ctx context.Context, project Normalized, version, filename, by string) (Change, error) {
	return s.change(ctx, "delete "+filename, func(tx pgx.Tx, ch *Change) error {
		p, r, err := lockRelease(ctx, tx, project, version)
		if err != nil {
			return err
		}
		ch.Project = p
		removed, err := deleteFiles(ctx, tx, p, r, filename, by)
		if err != nil {
			return err
		}
		if len(removed) == 0 {
			return Errorf(ErrNotFound, "release %s of project %q has no file %q", r.Version, p.Name, filename)
		}
		ch.Removed, ch.Changed = removed, true
		return tx.QueryRow(ctx, `SELECT last_serial FROM projects WHERE id = $1`, p.ID).Scan(&ch.Project.LastSerial)
	})
}

// DeleteRelease deletes a release and all its files (whose filenames, as
// with DeleteFile, can never be used again). The project stays, as on PyPI,
// even when it has no release left.
func (s *Store) DeleteRelease(ctx context.Context, project Normalized, version, by string) (Change, error) {
	return s.change(ctx, fmt.Sprintf("delete %s %s", project, version), func(tx pgx.Tx, ch *Change) error {
		p, r, err := lockRelease(ctx, tx, project, version)
		if err != nil {
			return err
		}
		ch.Project = p
		if ch.Removed, err = deleteFiles(ctx, tx, p, r, "", by); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM releases WHERE id = $1`, r.ID); err != nil {
			return fmt.Errorf("delete release: %w", translate(err))
		}
		return ch.record(ctx, tx, r.Version, "remove release", by)
	})
}

// deleteFiles deletes the release's file named filename, or all its files
// when filename is "", tombstones their names and journals each removal.
// The removal of their CDN copies is queued for the mirror worker.
func deleteFiles(ctx context.Context, tx pgx.Tx, p Project, r Release, filename, by string) ([]FileRef, error) {
	if err := queueDeletions(ctx, tx, `f.release_id = $1 AND ($2 = '' OR f.filename = $2)`, r.ID, filename); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `DELETE FROM files WHERE release_id = $1 AND ($2 = '' OR filename = $2)
		RETURNING filename, sha256, blake2b_256, path`, r.ID, filename)
	if err != nil {
		return nil, fmt.Errorf("delete files: %w", translate(err))
	}
	removed, err := pgx.CollectRows(rows, pgx.RowToStructByPos[FileRef])
	if err != nil {
		return nil, fmt.Errorf("delete files: %w", translate(err))
	}
	for _, f := range removed {
		if _, err := tx.Exec(ctx, `INSERT INTO deleted_filenames (filename) VALUES ($1) ON CONFLICT DO NOTHING`, f.Filename); err != nil {
			return nil, fmt.Errorf("tombstone %s: %w", f.Filename, translate(err))
		}
		if _, err := journal(ctx, tx, p.ID, p.Name, r.Version, "remove file "+f.Filename, by); err != nil {
			return nil, err
		}
	}
	return removed, nil
}

// lockRelease takes the project's lock and returns the project and its
// release whose canonical version equals version's.
func lockRelease(ctx context.Context, tx pgx.Tx, project Normalized, version string) (Project, Release, error) {
	p, err := lockProject(ctx, tx, project)
	if err != nil {
		return Project{}, Release{}, err
	}
	notFound := Errorf(ErrNotFound, "project %q has no release %q", p.Name, version)
	v, err := ParseVersion(version)
	if err != nil {
		return Project{}, Release{}, notFound
	}
	r := Release{ProjectID: p.ID}
	err = tx.QueryRow(ctx, `SELECT id, version, canonical, created_at, yanked, yanked_reason FROM releases
		WHERE project_id = $1 AND canonical = $2`, p.ID, v.Canonical()).
		Scan(&r.ID, &r.Version, &r.Canonical, &r.CreatedAt, &r.Yanked, &r.YankedReason)
	if errors.Is(err, pgx.ErrNoRows) {
		return Project{}, Release{}, notFound
	}
	if err != nil {
		return Project{}, Release{}, fmt.Errorf("release: %w", translate(err))
	}
	return p, r, nil
}
