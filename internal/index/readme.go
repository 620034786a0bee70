package index

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Readme is a release's README rendered for people: sanitised HTML, and the
// version of the renderer that made it (0: render again).
type Readme struct {
	HTML    string
	Version int
}

// ReadmePending is the version of a README left to be rendered after the
// release was stored (serve renders it in the background, see
// PendingReadmeProjects); it is older than every renderer's version.
const ReadmePending = -1

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
	return collectRows("stale readmes", rows, err, pgx.RowToStructByPos[ReadmeSource])
}

// SetReadme stores the README rendered from src. It is no change to the
// release (no journal entry, no serial): the README is derived from the
// stored description, as the pages are. It reports false, and stores
// nothing, when the release's description or its content type is no longer
// src's (a register replaced them meanwhile, and left a README to render
// from the new ones).
func (s *Store) SetReadme(ctx context.Context, src ReadmeSource, r Readme) (bool, error) {
	// Storing the HTML that is there already (serve marks a README
	// rendered once its pages are written) keeps the stored value, which
	// PostgreSQL then does not write again.
	tag, err := s.pool.Exec(ctx, `UPDATE releases SET description_html_version = $3,
			description_html = CASE WHEN description_html = $2 THEN description_html ELSE $2 END
		WHERE id = $1 AND coalesce(metadata->>'description', '') = $4
			AND coalesce(metadata->>'description_content_type', '') = $5`,
		src.ReleaseID, r.HTML, r.Version, src.Description, src.ContentType)
	if err != nil {
		return false, fmt.Errorf("store readme of release %d: %w", src.ReleaseID, translate(err))
	}
	return tag.RowsAffected() == 1, nil
}

// PendingReadmeProjects lists the projects with a release whose README is
// ReadmePending: left by a server that stopped before it rendered them.
// It reads every release (there is no index on the README's version); serve
// calls it once, in the background, when it starts.
func (s *Store) PendingReadmeProjects(ctx context.Context) ([]Normalized, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT p.normalized FROM releases r JOIN projects p ON p.id = r.project_id
		WHERE r.description_html_version = $1 ORDER BY 1`, ReadmePending)
	return collectRows("pending readmes", rows, err, pgx.RowTo[Normalized])
}

// releaseDetails reads the metadata, without the description, and the
// rendered README of the releases ids.
func releaseDetails(ctx context.Context, q querier, ids []int64) ([]ReleaseDetail, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT id, metadata - 'description', description_html FROM releases WHERE id = ANY($1)`, ids)
	return collectRows("release details", rows, err, func(row pgx.CollectableRow) (ReleaseDetail, error) {
		var d ReleaseDetail
		var md []byte
		if err := row.Scan(&d.ID, &md, &d.Readme); err != nil {
			return d, err
		}
		if err := json.Unmarshal(md, &d.Metadata); err != nil {
			return d, fmt.Errorf("decode metadata of release %d: %w", d.ID, err)
		}
		return d, nil
	})
}

// HomeStats is what the home page shows of the whole index.
type HomeStats struct {
	Projects int
	Files    int64
	Recent   []Project // the projects changed last, newest first (Name, Normalized, LastSerial)
}

// HomeStats counts projects and files and lists the recent projects
// changed last. It scans the projects table; the root rewrite, which calls
// it, is rare.
func (s *Store) HomeStats(ctx context.Context, recent int) (HomeStats, error) {
	var h HomeStats
	b := &pgx.Batch{}
	b.Queue(`SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM files)`)
	b.Queue(`SELECT name, normalized, last_serial FROM projects ORDER BY last_serial DESC, normalized LIMIT $1`, recent)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	if err := br.QueryRow().Scan(&h.Projects, &h.Files); err != nil {
		return h, fmt.Errorf("count projects: %w", translate(err))
	}
	rows, err := br.Query()
	h.Recent, err = collectRows("recent projects", rows, err, func(row pgx.CollectableRow) (Project, error) {
		var p Project
		err := row.Scan(&p.Name, &p.Normalized, &p.LastSerial)
		return p, err
	})
	return h, err
}
