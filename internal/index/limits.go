package index

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Limits are a project's own size limits (PyPI's model): FileSize caps one
// uploaded file, in place of the server's --max-file-size; TotalSize caps
// the sum of the sizes of the project's files. 0 means not set.
type Limits struct {
	FileSize  int64
	TotalSize int64
}

// ProjectLimits returns the limits of the project called name, and whether
// the project exists (a new project has none).
func (s *Store) ProjectLimits(ctx context.Context, name Normalized) (Limits, bool, error) {
	var l Limits
	err := s.pool.QueryRow(ctx, `SELECT coalesce(upload_limit, 0), coalesce(total_size_limit, 0)
		FROM projects WHERE normalized = $1`, string(name)).Scan(&l.FileSize, &l.TotalSize)
	if errors.Is(err, pgx.ErrNoRows) {
		return Limits{}, false, nil
	}
	if err != nil {
		return Limits{}, false, fmt.Errorf("limits of %q: %w", name, translate(err))
	}
	return l, true, nil
}

// LargestFileLimit returns the largest per-project file limit, 0 if no
// project has one.
func (s *Store) LargestFileLimit(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(upload_limit), 0) FROM projects WHERE upload_limit IS NOT NULL`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("largest file limit: %w", translate(err))
	}
	return n, nil
}

// SetProjectLimits changes the limits of the project called name: a nil
// pointer leaves that limit as it is, 0 removes it. It returns the project
// and its limits after the change. Uploads already under way keep the
// limits they started with; files already stored are never removed.
func (s *Store) SetProjectLimits(ctx context.Context, name Normalized, fileSize, totalSize *int64) (Project, Limits, error) {
	for _, v := range []*int64{fileSize, totalSize} {
		if v != nil && *v < 0 {
			return Project{}, Limits{}, Errorf(ErrInvalid, "A size limit must be positive, or 0 to remove it.")
		}
	}
	arg := func(v *int64) any {
		if v == nil {
			return nil
		}
		return *v
	}
	var p Project
	var l Limits
	var id int64
	err := s.pool.QueryRow(ctx, `UPDATE projects SET
			upload_limit = CASE WHEN $2::bigint IS NULL THEN upload_limit ELSE nullif($2::bigint, 0) END,
			total_size_limit = CASE WHEN $3::bigint IS NULL THEN total_size_limit ELSE nullif($3::bigint, 0) END
		WHERE normalized = $1
		RETURNING id, name, coalesce(upload_limit, 0), coalesce(total_size_limit, 0)`,
		string(name), arg(fileSize), arg(totalSize)).Scan(&id, &p.Name, &l.FileSize, &l.TotalSize)
	if err != nil {
		return Project{}, Limits{}, fmt.Errorf("set limits: %w", noProject(translate(err), name))
	}
	p.ID, p.Normalized = id, name
	return p, l, nil
}

// projectSizeSQL reads, under the project's lock, its total size limit and
// (only when it has one) the sum of its files' sizes; no row for a project
// that does not exist yet.
const projectSizeSQL = `SELECT coalesce(p.total_size_limit, 0),
		CASE WHEN p.total_size_limit IS NULL THEN 0
		ELSE (SELECT coalesce(sum(size), 0) FROM files WHERE project_id = p.id) END
	FROM projects p WHERE normalized = $1`

// ProjectTooLargeError is PyPI's refusal of an upload that would take the
// project's files past its total size limit.
func ProjectTooLargeError(project string, limit int64) error {
	return Errorf(ErrTooLarge, "Project size too large. Limit for project %s total size is %s. See https://docs.pypi.org/project-management/storage-limits#requesting-a-project-size-limit-increase",
		Repr(project), SizeText(limit))
}

// SizeText shows a size limit as PyPI does: in whole "GB" or "MB" (GiB,
// MiB) when it is one, else in KB or bytes rather than rounded down to a
// misleading "0 MB".
func SizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
