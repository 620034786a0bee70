package index

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// BulkInsert loads whole projects (with their releases and files) with COPY,
// for seeding a large synthetic index. IDs and serials are assigned here:
// each project gets a "create" journal entry and one "add … file" entry per
// file, and its last serial is the last of them. The tables are locked for
// the duration; run it against an otherwise idle database. It fills in the
// IDs of states in place so the caller can render pages from them.
func (s *Store) BulkInsert(ctx context.Context, states []ProjectState) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE projects, releases, files, journal IN EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("lock tables: %w", translate(err))
		}
		// Row triggers (the mirror's NOTIFY per file) would queue millions of
		// notifications; the worker finds pending files by polling anyway.
		if _, err := tx.Exec(ctx, `ALTER TABLE files DISABLE TRIGGER USER`); err != nil {
			return fmt.Errorf("disable triggers: %w", translate(err))
		}
		var pid, rid, fid, jid int64
		if err := tx.QueryRow(ctx, `SELECT
			(SELECT coalesce(max(id), 0) FROM projects), (SELECT coalesce(max(id), 0) FROM releases),
			(SELECT coalesce(max(id), 0) FROM files), (SELECT coalesce(max(id), 0) FROM journal)`).
			Scan(&pid, &rid, &fid, &jid); err != nil {
			return fmt.Errorf("max ids: %w", translate(err))
		}
		var projects, releases, files, journal [][]any
		for i := range states {
			st := &states[i]
			pid++
			st.Project.ID = pid
			jid++
			journal = append(journal, []any{jid, pid, st.Project.Name, nil, "create", st.Project.CreatedAt})
			relIDs := make(map[int64]int64, len(st.Releases)) // caller's release ID → new ID
			for j := range st.Releases {
				r := &st.Releases[j]
				rid++
				relIDs[r.ID] = rid
				r.ID, r.ProjectID = rid, pid
				md, err := json.Marshal(r.Metadata)
				if err != nil {
					return fmt.Errorf("encode metadata: %w", err)
				}
				releases = append(releases, []any{rid, pid, r.Version, r.Canonical, r.CreatedAt, r.Yanked, r.YankedReason, md})
			}
			for j := range st.Files {
				f := &st.Files[j]
				fid++
				jid++
				f.ID, f.ProjectID, f.ReleaseID = fid, pid, relIDs[f.ReleaseID]
				files = append(files, []any{fid, f.ReleaseID, pid, f.Filename, string(f.Type), f.PythonVersion, f.Size,
					f.SHA256, f.MD5, f.Blake2b256, f.UploadTime, f.RequiresPython, f.Path, f.MetadataSHA256})
				journal = append(journal, []any{jid, pid, st.Project.Name, nil, "add " + f.PythonVersion + " file " + f.Filename, f.UploadTime})
			}
			st.Project.LastSerial = jid
			projects = append(projects, []any{pid, st.Project.Name, string(st.Project.Normalized), jid, st.Project.CreatedAt})
		}
		copies := []struct {
			table string
			cols  []string
			rows  [][]any
		}{
			{"projects", []string{"id", "name", "normalized", "last_serial", "created_at"}, projects},
			{"releases", []string{"id", "project_id", "version", "canonical", "created_at", "yanked", "yanked_reason", "metadata"}, releases},
			{"files", []string{"id", "release_id", "project_id", "filename", "packagetype", "python_version", "size",
				"sha256", "md5", "blake2b_256", "upload_time", "requires_python", "path", "metadata_sha256"}, files},
			{"journal", []string{"id", "project_id", "name", "version", "action", "submitted_at"}, journal},
		}
		for _, c := range copies {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", c.table, translate(err))
			}
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE files ENABLE TRIGGER USER`); err != nil {
			return fmt.Errorf("enable triggers: %w", translate(err))
		}
		for _, t := range []string{"projects", "releases", "files", "journal"} {
			if _, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT coalesce(max(id), 1) FROM %s))`, t, t)); err != nil {
				return fmt.Errorf("setval %s: %w", t, translate(err))
			}
		}
		return nil
	})
}
