package index

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// UpstreamProject is what the upstream cache knows of one name of the
// upstream index (--upstream): its page's validators and when the upstream
// last answered. Found is false for a cached 404.
type UpstreamProject struct {
	Normalized   Normalized
	Name         string
	Found        bool
	ETag         string
	LastModified string
	CheckedAt    time.Time
}

// UpstreamFile is one file of a cached upstream project. Path is its place
// below the cache's packages tree and the URL path below /packages/ the
// cached pages link (the upstream sha256 split 2/2/60, then the filename).
type UpstreamFile struct {
	Path     string
	Project  Normalized
	Filename string
	SHA256   string
	URL      string // the upstream's absolute URL, without a fragment
	// Metadata says the upstream serves a PEP 658 .metadata beside the file;
	// MetadataSHA256 is its digest, "" when the upstream gave none.
	Metadata       bool
	MetadataSHA256 string
	Size           int64 // -1 until the file is cached
	MetadataSize   int64 // -1 until the .metadata is cached
}

// UpstreamStats sums up the upstream cache for `cheeseshop upstream status`.
type UpstreamStats struct {
	Projects, NotFound        int64 // cached projects; cached 404s
	Files, CachedFiles, Bytes int64 // files known, files on disk, their bytes (with .metadata)
	Hits, Misses, StaleServed int64
	Claims                    int64
}

// notLocalSQL is true when name ($1) is neither a local project nor a name
// an administrator claimed: only such names are looked up upstream.
const notLocalSQL = `NOT EXISTS (SELECT 1 FROM projects WHERE normalized = $1)
	AND NOT EXISTS (SELECT 1 FROM upstream_claims WHERE normalized = $1)`

// IsLocal reports whether name exists locally in any form (a project row,
// whatever it holds now: releases, only a registration, only deleted
// files) or was claimed by an administrator. Such a name is never looked
// up upstream.
func (s *Store) IsLocal(ctx context.Context, name Normalized) (bool, error) {
	var notLocal bool
	if err := s.pool.QueryRow(ctx, `SELECT `+notLocalSQL, string(name)).Scan(&notLocal); err != nil {
		return false, fmt.Errorf("is %q local: %w", name, translate(err))
	}
	return !notLocal, nil
}

// UpstreamProject returns what the cache knows of name; ErrNotFound when
// it was never looked up (or was purged).
func (s *Store) UpstreamProject(ctx context.Context, name Normalized) (UpstreamProject, error) {
	p := UpstreamProject{Normalized: name}
	err := s.pool.QueryRow(ctx, `SELECT name, found, etag, last_modified, checked_at
		FROM upstream_projects WHERE normalized = $1`, string(name)).
		Scan(&p.Name, &p.Found, &p.ETag, &p.LastModified, &p.CheckedAt)
	if err != nil {
		return UpstreamProject{}, fmt.Errorf("upstream project %q: %w", name, translate(err))
	}
	return p, nil
}

// errLocal is the cause of SaveUpstreamProject's refusal when the name
// became local meanwhile.
var errLocal = errors.New("the name is local")

// SaveUpstreamProject records the upstream's answer for p.Normalized and,
// when found, the files its page lists (files the page no longer lists
// and that are not cached are forgotten). It holds the project's advisory
// lock, the one uploads take, and refuses (ErrExists) when the name is
// local by then: an upload and a cache fill never both win.
func (s *Store) SaveUpstreamProject(ctx context.Context, p UpstreamProject, files []UpstreamFile) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, projectLockSQL, string(p.Normalized)); err != nil {
			return fmt.Errorf("lock project: %w", translate(err))
		}
		var notLocal bool
		if err := tx.QueryRow(ctx, `SELECT `+notLocalSQL, string(p.Normalized)).Scan(&notLocal); err != nil {
			return fmt.Errorf("is %q local: %w", p.Normalized, translate(err))
		}
		if !notLocal {
			return &Error{Kind: ErrExists, Message: fmt.Sprintf("%s is a local project", p.Normalized), Err: errLocal}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO upstream_projects (normalized, name, found, etag, last_modified, checked_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (normalized) DO UPDATE SET name = $2, found = $3, etag = $4, last_modified = $5, checked_at = $6`,
			string(p.Normalized), p.Name, p.Found, p.ETag, p.LastModified, p.CheckedAt); err != nil {
			return fmt.Errorf("save upstream project %q: %w", p.Normalized, translate(err))
		}
		paths := make([]string, len(files))
		b := &pgx.Batch{}
		for i, f := range files {
			paths[i] = f.Path
			var md *string
			if f.Metadata {
				md = &f.MetadataSHA256
			}
			b.Queue(`INSERT INTO upstream_files (path, project, filename, sha256, url, metadata_sha256)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (path) DO UPDATE SET project = $2, url = $5, metadata_sha256 = $6`,
				f.Path, string(p.Normalized), f.Filename, f.SHA256, f.URL, md)
		}
		b.Queue(`DELETE FROM upstream_files WHERE project = $1 AND size IS NULL AND metadata_size IS NULL
			AND NOT path = ANY($2)`, string(p.Normalized), paths)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("save upstream files of %q: %w", p.Normalized, translate(err))
		}
		return nil
	})
}

// TouchUpstreamProject records that the upstream confirmed name's cached
// page (a 304) at t.
func (s *Store) TouchUpstreamProject(ctx context.Context, name Normalized, t time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE upstream_projects SET checked_at = $2 WHERE normalized = $1`, string(name), t)
	if err != nil {
		return fmt.Errorf("touch upstream project %q: %w", name, translate(err))
	}
	return nil
}

const upstreamFileCols = `path, project, filename, sha256, url, metadata_sha256, coalesce(size, -1), coalesce(metadata_size, -1)`

func scanUpstreamFile(row pgx.Row) (UpstreamFile, error) {
	var f UpstreamFile
	var project string
	var md *string
	err := row.Scan(&f.Path, &project, &f.Filename, &f.SHA256, &f.URL, &md, &f.Size, &f.MetadataSize)
	f.Project = Normalized(project)
	if md != nil {
		f.Metadata, f.MetadataSHA256 = true, *md
	}
	return f, err
}

// UpstreamFile returns the cached project's file at path (see
// UpstreamFile.Path); ErrNotFound when no cached page lists it.
func (s *Store) UpstreamFile(ctx context.Context, path string) (UpstreamFile, error) {
	f, err := scanUpstreamFile(s.pool.QueryRow(ctx, `SELECT `+upstreamFileCols+` FROM upstream_files WHERE path = $1`, path))
	if err != nil {
		return UpstreamFile{}, fmt.Errorf("upstream file %q: %w", path, translate(err))
	}
	return f, nil
}

// MarkUpstreamFileCached records that the file at path (or, with metadata,
// its .metadata) is on disk with size bytes.
func (s *Store) MarkUpstreamFileCached(ctx context.Context, path string, metadata bool, size int64) error {
	col := "size"
	if metadata {
		col = "metadata_size"
	}
	_, err := s.pool.Exec(ctx, `UPDATE upstream_files SET `+col+` = $2 WHERE path = $1`, path, size)
	if err != nil {
		return fmt.Errorf("mark upstream file %q cached: %w", path, translate(err))
	}
	return nil
}

// AddUpstreamStats adds to the cache's request counters.
func (s *Store) AddUpstreamStats(ctx context.Context, hits, misses, stale int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE upstream_stats SET hits = hits + $1, misses = misses + $2, stale = stale + $3 WHERE id = 1`,
		hits, misses, stale)
	if err != nil {
		return fmt.Errorf("upstream stats: %w", translate(err))
	}
	return nil
}

// UpstreamStatus sums up the cache.
func (s *Store) UpstreamStatus(ctx context.Context) (UpstreamStats, error) {
	var st UpstreamStats
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM upstream_projects WHERE found),
		(SELECT count(*) FROM upstream_projects WHERE NOT found),
		(SELECT count(*) FROM upstream_files),
		(SELECT count(*) FROM upstream_files WHERE size IS NOT NULL),
		(SELECT coalesce(sum(coalesce(size, 0) + coalesce(metadata_size, 0)), 0)::bigint FROM upstream_files),
		hits, misses, stale,
		(SELECT count(*) FROM upstream_claims)
		FROM upstream_stats WHERE id = 1`).
		Scan(&st.Projects, &st.NotFound, &st.Files, &st.CachedFiles, &st.Bytes, &st.Hits, &st.Misses, &st.StaleServed, &st.Claims)
	if err != nil {
		return UpstreamStats{}, fmt.Errorf("upstream status: %w", translate(err))
	}
	return st, nil
}

// PurgeUpstream forgets the named cached projects (all of them when names
// is empty) and returns the names forgotten and the paths of their files,
// for the caller to remove from disk.
func (s *Store) PurgeUpstream(ctx context.Context, names []Normalized) (purged []Normalized, paths []string, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		purged, paths, err = purgeUpstream(ctx, tx, names)
		return err
	})
	return purged, paths, err
}

func purgeUpstream(ctx context.Context, tx pgx.Tx, names []Normalized) (purged []Normalized, paths []string, err error) {
	strs := make([]string, len(names))
	for i, n := range names {
		strs[i] = string(n)
	}
	all := len(names) == 0
	rows, err := tx.Query(ctx, `DELETE FROM upstream_files WHERE $1 OR project = ANY($2) RETURNING path`, all, strs)
	if err != nil {
		return nil, nil, fmt.Errorf("purge upstream files: %w", translate(err))
	}
	if paths, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, nil, fmt.Errorf("purge upstream files: %w", translate(err))
	}
	rows, err = tx.Query(ctx, `DELETE FROM upstream_projects WHERE $1 OR normalized = ANY($2) RETURNING normalized`, all, strs)
	if err != nil {
		return nil, nil, fmt.Errorf("purge upstream projects: %w", translate(err))
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, fmt.Errorf("purge upstream projects: %w", translate(err))
	}
	for _, n := range got {
		purged = append(purged, Normalized(n))
	}
	return purged, paths, nil
}

// ClaimName reserves name for local uploads: it is never looked up
// upstream again and an upload may create it. Whatever the cache held for
// it is forgotten; the paths of its files are returned for the caller to
// remove from disk. Claiming twice is harmless.
func (s *Store) ClaimName(ctx context.Context, name Normalized) (paths []string, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, projectLockSQL, string(name)); err != nil {
			return fmt.Errorf("lock project: %w", translate(err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO upstream_claims (normalized) VALUES ($1) ON CONFLICT DO NOTHING`, string(name)); err != nil {
			return fmt.Errorf("claim %q: %w", name, translate(err))
		}
		_, paths, err = purgeUpstream(ctx, tx, []Normalized{name})
		return err
	})
	return paths, err
}

// checkNotUpstream refuses to create a local project under a name the
// upstream cache holds, unless an administrator claimed it: nobody inside
// shadows a public package by accident. The caller holds the project's
// lock.
func checkNotUpstream(ctx context.Context, tx querier, norm Normalized) error {
	var cached bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM upstream_projects WHERE normalized = $1 AND found)
		AND NOT EXISTS (SELECT 1 FROM upstream_claims WHERE normalized = $1)`, string(norm)).Scan(&cached)
	if err != nil {
		return fmt.Errorf("upstream check: %w", translate(err))
	}
	if cached {
		return Errorf(ErrForbidden, "The name '%s' belongs to a project of the upstream index this server proxies. "+
			"An administrator must claim it (cheeseshop project claim %s) before it can be uploaded here.", norm, norm)
	}
	return nil
}
