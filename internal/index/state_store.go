package index

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// LockedProject reads the committed state of one project while holding the
// project's advisory lock, and calls fn before releasing it. Page rewrites
// happen inside fn: every rewrite reads the state after the previous rewrite
// finished, across all processes on this database, so a page never goes
// backwards and never misses a committed file.
//
// The releases' Metadata is left empty and the files carry only the
// columns pages show (pageFileCols): pages need no more.
//
// When fn returns nil the project's page_serial becomes the serial of the
// state fn got, in the same transaction, for start-up repair; readers that
// write no page use InspectProject.
func (s *Store) LockedProject(ctx context.Context, name Normalized, fn func(ProjectState) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, projectLockSQL, string(name)); err != nil {
			return fmt.Errorf("lock project %q: %w", name, translate(err))
		}
		st, err := loadProject(ctx, tx, name, false)
		if err != nil {
			return err
		}
		if err := fn(st); err != nil {
			return err
		}
		return recordPageSerial(ctx, tx, st.Project)
	})
}

// loadProject reads a project's state. Pages need no release metadata
// (versions, yanks and the files' own columns are enough), and decoding it
// is a good part of a large project's rewrite, so it is read only withMetadata.
func loadProject(ctx context.Context, tx pgx.Tx, name Normalized, withMetadata bool) (ProjectState, error) {
	var st ProjectState
	p, err := scanProject(tx.QueryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE normalized = $1`, string(name)))
	if err != nil {
		return st, fmt.Errorf("project %q: %w", name, translate(err))
	}
	st.Project = p
	rows, err := tx.Query(ctx, `SELECT id, version, canonical, created_at, yanked, yanked_reason,
		CASE WHEN $2 THEN metadata END
		FROM releases WHERE project_id = $1 ORDER BY id`, p.ID, withMetadata)
	if err != nil {
		return st, fmt.Errorf("releases of %q: %w", name, translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		r := Release{ProjectID: p.ID}
		var md []byte
		if err := rows.Scan(&r.ID, &r.Version, &r.Canonical, &r.CreatedAt, &r.Yanked, &r.YankedReason, &md); err != nil {
			return st, fmt.Errorf("scan release: %w", err)
		}
		if md != nil {
			if err := json.Unmarshal(md, &r.Metadata); err != nil {
				return st, fmt.Errorf("decode metadata of %s %s: %w", name, r.Version, err)
			}
		}
		st.Releases = append(st.Releases, r)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("releases of %q: %w", name, translate(err))
	}
	if withMetadata {
		st.Files, err = scanFiles(tx.Query(ctx, `SELECT `+fileCols+` FROM files WHERE project_id = $1 ORDER BY id`, p.ID))
	} else {
		st.Files, err = scanPageFiles(tx.Query(ctx, `SELECT `+pageFileCols+` FROM files WHERE project_id = $1 ORDER BY id`, p.ID))
	}
	if err != nil {
		return st, fmt.Errorf("files of %q: %w", name, err)
	}
	return st, nil
}

// pageFileCols are the columns of a file that pages show (staticgen):
// reading only these is a good part cheaper for a project with thousands of
// files. Files read this way have no type, Python version, MD5, BLAKE2 or
// comment.
const pageFileCols = `id, release_id, project_id, filename, size, sha256, upload_time, requires_python, path,
	metadata_sha256, coalesce(cdn_url, '')`

func scanPageFiles(rows pgx.Rows, err error) ([]File, error) {
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var files []File
	for rows.Next() {
		var f File
		if err := rows.Scan(&f.ID, &f.ReleaseID, &f.ProjectID, &f.Filename, &f.Size, &f.SHA256, &f.UploadTime,
			&f.RequiresPython, &f.Path, &f.MetadataSHA256, &f.CDNURL); err != nil {
			return nil, fmt.Errorf("scan file: %w", err)
		}
		files = append(files, f)
	}
	return files, translate(rows.Err())
}

const fileCols = `id, release_id, project_id, filename, packagetype, python_version, size, sha256, md5, blake2b_256,
	upload_time, requires_python, path, metadata_sha256, coalesce(cdn_url, ''), comment_text`

func scanFiles(rows pgx.Rows, err error) ([]File, error) {
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var files []File
	for rows.Next() {
		var f File
		var typ string
		if err := rows.Scan(&f.ID, &f.ReleaseID, &f.ProjectID, &f.Filename, &typ, &f.PythonVersion, &f.Size,
			&f.SHA256, &f.MD5, &f.Blake2b256, &f.UploadTime, &f.RequiresPython, &f.Path, &f.MetadataSHA256,
			&f.CDNURL, &f.CommentText); err != nil {
			return nil, fmt.Errorf("scan file: %w", err)
		}
		f.Type = PackageType(typ)
		files = append(files, f)
	}
	return files, translate(rows.Err())
}

// LockedRoot reads the list of projects and the global serial under the root
// page's advisory lock and calls fn before releasing it.
func (s *Store) LockedRoot(ctx context.Context, fn func(RootState) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, rootLockSQL); err != nil {
			return fmt.Errorf("lock root: %w", translate(err))
		}
		var st RootState
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM journal`).Scan(&st.Serial); err != nil {
			return fmt.Errorf("global serial: %w", translate(err))
		}
		rows, err := tx.Query(ctx, `SELECT name, normalized, last_serial FROM projects ORDER BY normalized COLLATE "C"`)
		if err != nil {
			return fmt.Errorf("list projects: %w", translate(err))
		}
		defer rows.Close()
		for rows.Next() {
			var p Project
			var n string
			if err := rows.Scan(&p.Name, &n, &p.LastSerial); err != nil {
				return fmt.Errorf("scan project: %w", err)
			}
			p.Normalized = Normalized(n)
			st.Projects = append(st.Projects, p)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list projects: %w", translate(err))
		}
		rows.Close()
		return fn(st)
	})
}
