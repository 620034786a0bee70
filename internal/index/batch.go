package index

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
)

// LockedProjects is LockedProject for many projects at once, for rebuilding
// every page (`regenerate --all`): it takes the page locks of all names in
// byte order (every other holder takes one project lock at a time, so the
// fixed order cannot deadlock), reads their committed state in three queries
// instead of three per project, calls fn with the states of the projects that
// exist, and records their page serials when fn returns nil. Uploads to these
// projects wait while fn runs, so callers keep batches to a few thousand.
func (s *Store) LockedProjects(ctx context.Context, names []Normalized, fn func([]ProjectState) error) error {
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	strs := make([]string, len(sorted))
	for i, n := range sorted {
		strs[i] = string(n)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('project:' || n, 0))
			FROM unnest($1::text[]) AS t(n)`, strs); err != nil {
			return fmt.Errorf("lock %d projects: %w", len(strs), translate(err))
		}
		// unnest yields the (sorted) array in order, so the locks are taken in it.
		states, err := loadProjects(ctx, tx, strs)
		if err != nil {
			return err
		}
		if err := fn(states); err != nil {
			return err
		}
		ids := make([]int64, len(states))
		serials := make([]int64, len(states))
		for i, st := range states {
			ids[i], serials[i] = st.Project.ID, st.Project.LastSerial
		}
		// As in recordPageSerial: losing this in a crash only causes a rewrite.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return fmt.Errorf("record page serials: %w", translate(err))
		}
		if _, err := tx.Exec(ctx, `UPDATE projects p SET page_serial = m.serial
			FROM unnest($1::bigint[], $2::bigint[]) AS m(id, serial)
			WHERE p.id = m.id AND p.page_serial IS DISTINCT FROM m.serial`, ids, serials); err != nil {
			return fmt.Errorf("record page serials: %w", translate(err))
		}
		return nil
	})
}

// loadProjects reads the state of the named projects; names that do not
// exist are left out.
func loadProjects(ctx context.Context, tx pgx.Tx, names []string) ([]ProjectState, error) {
	rows, err := tx.Query(ctx, `SELECT `+projectCols+` FROM projects WHERE normalized = ANY($1) ORDER BY normalized COLLATE "C"`, names)
	if err != nil {
		return nil, fmt.Errorf("load projects: %w", translate(err))
	}
	states, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ProjectState, error) {
		p, err := scanProject(r)
		return ProjectState{Project: p}, err
	})
	if err != nil {
		return nil, fmt.Errorf("load projects: %w", translate(err))
	}
	byID := make(map[int64]int, len(states))
	ids := make([]int64, len(states))
	for i, st := range states {
		byID[st.Project.ID] = i
		ids[i] = st.Project.ID
	}
	// Only what pages show, in no order (the renderer sorts), as lockedPageState reads.
	rows, err = tx.Query(ctx, `SELECT `+pageReleaseCols+` FROM releases WHERE project_id = ANY($1)`, ids)
	releases, err := scanPageReleases(nil, rows, err)
	if err != nil {
		return nil, fmt.Errorf("load releases: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT project_id, version, max(id) FROM journal
		WHERE project_id = ANY($1) AND version IS NOT NULL GROUP BY project_id, version`, ids)
	if err := setReleaseSerials(releases, rows, err); err != nil {
		return nil, fmt.Errorf("load release serials: %w", err)
	}
	for _, r := range releases {
		st := &states[byID[r.ProjectID]]
		st.Releases = append(st.Releases, r)
	}
	rows, err = tx.Query(ctx, `SELECT `+pageFileCols+` FROM files WHERE project_id = ANY($1)`, ids)
	files, err := scanPageFiles(nil, rows, err)
	if err != nil {
		return nil, fmt.Errorf("load files: %w", err)
	}
	for _, f := range files {
		st := &states[byID[f.ProjectID]]
		st.Files = append(st.Files, f)
	}
	// The states share one transaction, and a connection runs one
	// statement at a time: callers rendering the batch's pages in parallel
	// take turns.
	var mu sync.Mutex
	details := func(ctx context.Context, ids []int64) ([]ReleaseDetail, error) {
		mu.Lock()
		defer mu.Unlock()
		return releaseDetails(ctx, tx, ids)
	}
	for i := range states {
		states[i].details = details
	}
	return states, nil
}
