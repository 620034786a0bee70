package index

import (
	"context"
	"fmt"
)

// Readme is a release's README rendered for people: sanitised HTML, and the
// version of the renderer that made it (0: render again).
type Readme struct {
	HTML    string
	Version int
}

// ReadmeSource is a stored release whose README is to be rendered again.
type ReadmeSource struct {
	ReleaseID   int64
	Version     string
	Description string
	ContentType string
}

// StaleReadmes returns up to limit releases, in id order after the
// release id after, whose README was rendered by a renderer older than
// version (or never): those of the named project, or of every project when
// name is "".
func (s *Store) StaleReadmes(ctx context.Context, name Normalized, version int, after int64, limit int) ([]ReadmeSource, error) {
	rows, err := s.pool.Query(ctx, `SELECT r.id, r.version, coalesce(r.metadata->>'description', ''),
			coalesce(r.metadata->>'description_content_type', '')
		FROM releases r
		WHERE r.description_html_version < $2 AND r.id > $3
			AND ($1 = '' OR r.project_id = (SELECT id FROM projects WHERE normalized = $1))
		ORDER BY r.id LIMIT $4`, string(name), version, after, limit)
	if err != nil {
		return nil, fmt.Errorf("stale readmes: %w", translate(err))
	}
	defer rows.Close()
	var out []ReadmeSource
	for rows.Next() {
		var r ReadmeSource
		if err := rows.Scan(&r.ReleaseID, &r.Version, &r.Description, &r.ContentType); err != nil {
			return nil, fmt.Errorf("scan readme: %w", err)
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}

// SetReadme stores a release's rendered README. It is no change to the
// release (no journal entry, no serial): the README is derived from the
// stored description, as the pages are.
func (s *Store) SetReadme(ctx context.Context, releaseID int64, r Readme) error {
	if _, err := s.pool.Exec(ctx, `UPDATE releases SET description_html = $2, description_html_version = $3 WHERE id = $1`,
		releaseID, r.HTML, r.Version); err != nil {
		return fmt.Errorf("store readme of release %d: %w", releaseID, translate(err))
	}
	return nil
}
