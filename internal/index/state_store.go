package index

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"sync"

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
	return s.lockedPageState(ctx, name, func(q querier, st ProjectState) error {
		if err := fn(st); err != nil {
			return err
		}
		return recordPageSerial(ctx, q, st.Project)
	})
}

// lockedPageState takes the project's page lock and reads what its pages
// are built from, then calls fn in the same transaction. BEGIN, the lock
// and the four reads go in one round trip (pipelinedTx), and the server
// runs them in order, so the reads see the state committed before the lock
// was granted. Releases and files come unordered (the renderer sorts them)
// and with the columns pages show only: a release's ID, version and yank,
// a file's pageFileCols. The state's slices are recycled when fn returns.
func (s *Store) lockedPageState(ctx context.Context, name Normalized, fn func(q querier, st ProjectState) error) error {
	const byName = `(SELECT id FROM projects WHERE normalized = $1)`
	b := &pgx.Batch{}
	b.Queue(projectLockSQL, string(name))
	b.Queue(`SELECT `+projectCols+` FROM projects WHERE normalized = $1`, string(name))
	b.Queue(`SELECT `+pageReleaseCols+` FROM releases WHERE project_id = `+byName, string(name))
	b.Queue(`SELECT project_id, version, max(id) FROM journal WHERE project_id = `+byName+`
		AND version IS NOT NULL GROUP BY project_id, version`, string(name))
	b.Queue(`SELECT `+pageFileCols+` FROM files WHERE project_id = `+byName, string(name))
	buf := getPageSlices()
	var st ProjectState
	defer func() { buf.put(st) }()
	return s.pipelinedTx(ctx, b, func(q querier, br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("lock project %q: %w", name, translate(err))
		}
		p, err := scanProject(br.QueryRow())
		if err != nil {
			return fmt.Errorf("project %q: %w", name, translate(err))
		}
		st.Project = p
		rows, err := br.Query()
		if st.Releases, err = scanPageReleases(buf.releases[:0], rows, err); err != nil {
			return fmt.Errorf("releases of %q: %w", name, err)
		}
		rows, err = br.Query()
		if err := setReleaseSerials(st.Releases, rows, err); err != nil {
			return fmt.Errorf("release serials of %q: %w", name, err)
		}
		rows, err = br.Query()
		if st.Files, err = scanPageFiles(buf.files[:0], rows, err); err != nil {
			return fmt.Errorf("files of %q: %w", name, err)
		}
		if err := br.Close(); err != nil {
			return translate(err)
		}
		st.details = func(ctx context.Context, ids []int64) ([]ReleaseDetail, error) {
			return releaseDetails(ctx, q, ids)
		}
		return fn(q, st)
	})
}

// pageSlices are the slices of one page read, reused from read to read: a
// project with thousands of files would otherwise allocate, and make the
// collector scan, hundreds of kilobytes per rewrite. fn of LockedProject
// and InspectProject must therefore not keep st's slices.
type pageSlices struct {
	releases []Release
	files    []File
}

var pageSlicesPool = sync.Pool{New: func() any { return new(pageSlices) }}

// maxPooledFiles keeps the slices of the very largest projects out of the
// pool, so one rewrite of them does not pin megabytes between rewrites.
const maxPooledFiles = 20000

func getPageSlices() *pageSlices { return pageSlicesPool.Get().(*pageSlices) }

// put recycles the slices st was read into, cleared so they refer to
// nothing.
func (b *pageSlices) put(st ProjectState) {
	if cap(st.Files) > maxPooledFiles || cap(st.Releases) > maxPooledFiles {
		return
	}
	clear(st.Releases[:cap(st.Releases)])
	clear(st.Files[:cap(st.Files)])
	b.releases, b.files = st.Releases[:0], st.Files[:0]
	pageSlicesPool.Put(b)
}

// pageReleaseCols are the columns of a release that pages show; its
// serial comes apart (setReleaseSerials).
const pageReleaseCols = `id, project_id, version, yanked, yanked_reason, created_at`

// scanPageReleases appends to out the releases of rows of pageReleaseCols.
func scanPageReleases(out []Release, rows pgx.Rows, err error) ([]Release, error) {
	if err != nil {
		return nil, translate(err)
	}
	var r Release
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.ProjectID, &r.Version, &r.Yanked, &r.YankedReason, &r.CreatedAt}, func() error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan release: %w", translate(err))
	}
	return out, nil
}

// setReleaseSerials sets each release's Serial from rows of (project_id,
// version, serial): the last journal entry naming the release, which the
// pages for people compare with a page's serial to rewrite only the
// releases that changed. The two are read apart and joined here, not in
// SQL: a join of the releases to the journal's grouped entries is planned
// from statistics that a busy index's new rows lack, and a nested loop
// that groups the journal once per release made a rewrite of a project
// of 300 releases take 7 ms instead of a fraction of one.
func setReleaseSerials(releases []Release, rows pgx.Rows, err error) error {
	if err != nil {
		return translate(err)
	}
	type key struct {
		project int64
		version string
	}
	serials := make(map[key]int64, len(releases))
	var k key
	var serial int64
	if _, err := pgx.ForEachRow(rows, []any{&k.project, &k.version, &serial}, func() error {
		serials[k] = serial
		return nil
	}); err != nil {
		return translate(err)
	}
	for i := range releases {
		releases[i].Serial = serials[key{releases[i].ProjectID, releases[i].Version}]
	}
	return nil
}

// loadProject reads a project's whole state, release metadata and every
// file column included (the JSON API shows them); pages read less, through
// lockedPageState.
func loadProject(ctx context.Context, tx pgx.Tx, name Normalized) (ProjectState, error) {
	var st ProjectState
	p, err := scanProject(tx.QueryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE normalized = $1`, string(name)))
	if err != nil {
		return st, fmt.Errorf("project %q: %w", name, translate(err))
	}
	st.Project = p
	rows, err := tx.Query(ctx, `SELECT id, version, canonical, created_at, yanked, yanked_reason, metadata
		FROM releases WHERE project_id = $1 ORDER BY id`, p.ID)
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
	st.Files, err = scanFiles(tx.Query(ctx, `SELECT `+fileCols+` FROM files WHERE project_id = $1 ORDER BY id`, p.ID))
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

func scanPageFiles(files []File, rows pgx.Rows, err error) ([]File, error) {
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	if files, ok, err := rawPageFiles(files, rows); ok {
		return files, err
	}
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
// page's advisory lock and calls fn before releasing it. The projects come
// in byte order of their normalized names.
func (s *Store) LockedRoot(ctx context.Context, fn func(RootState) error) error {
	return s.StreamRoot(ctx, func(serial int64, projects iter.Seq2[RootRow, error]) error {
		st := RootState{Serial: serial}
		for r, err := range projects {
			if err != nil {
				return err
			}
			st.Projects = append(st.Projects, Project{Name: string(r.Name), Normalized: Normalized(r.Normalized), LastSerial: r.LastSerial})
		}
		return fn(st)
	})
}

// RootRow is one project as StreamRoot hands it over. Its slices are valid
// only until the iteration moves on.
type RootRow struct {
	Name       []byte
	Normalized []byte
	LastSerial int64
}

// StreamRoot is LockedRoot without the slice: under the root page's lock it
// reads the global serial and hands fn the projects one at a time, in byte
// order of their normalized names, as PostgreSQL sends them (an index-only
// scan of migration 0005's covering index). Nothing per project is kept, so
// memory stays flat however many projects there are. If reading fails the
// sequence ends with that error, and fn must then not publish what it
// built from the rows before it.
func (s *Store) StreamRoot(ctx context.Context, fn func(serial int64, projects iter.Seq2[RootRow, error]) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, rootLockSQL); err != nil {
			return fmt.Errorf("lock root: %w", translate(err))
		}
		var serial int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM journal`).Scan(&serial); err != nil {
			return fmt.Errorf("global serial: %w", translate(err))
		}
		rows, err := tx.Query(ctx, `SELECT name, normalized, last_serial FROM projects ORDER BY normalized COLLATE "C"`)
		if err != nil {
			return fmt.Errorf("list projects: %w", translate(err))
		}
		defer rows.Close()
		return fn(serial, func(yield func(RootRow, error) bool) {
			binarySerial := rows.FieldDescriptions()[2].Format == pgx.BinaryFormatCode
			for rows.Next() {
				// Raw values: text columns are their UTF-8 bytes in either
				// format, and nothing is allocated per row.
				v := rows.RawValues()
				r := RootRow{Name: v[0], Normalized: v[1]}
				if len(v[2]) == 0 {
					yield(RootRow{}, fmt.Errorf("list projects: %q has no last serial", v[1]))
					return
				}
				if binarySerial {
					if len(v[2]) != 8 {
						yield(RootRow{}, fmt.Errorf("list projects: last serial of %q is %d bytes", v[1], len(v[2])))
						return
					}
					r.LastSerial = int64(binary.BigEndian.Uint64(v[2]))
				} else if r.LastSerial, err = strconv.ParseInt(string(v[2]), 10, 64); err != nil {
					yield(RootRow{}, fmt.Errorf("list projects: last serial of %q: %w", v[1], err))
					return
				}
				if !yield(r, nil) {
					return
				}
			}
			if err := rows.Err(); err != nil {
				yield(RootRow{}, fmt.Errorf("list projects: %w", translate(err)))
			}
		})
	})
}
