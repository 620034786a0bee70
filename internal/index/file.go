package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// NewFile is one uploaded file to record, with the release it belongs to.
type NewFile struct {
	Project  string              // display name as uploaded
	Version  Version             // parsed release version
	Metadata Metadata            // release metadata from the form; used only when the release is new
	Readme   Readme              // Metadata's description rendered; stored only when the release is new
	File     File                // ID, ReleaseID, ProjectID and UploadTime are filled in by AddFile
	Uploader int64               // user id; becomes owner of a new project
	Allowed  func(Project) error // optional extra authorisation (e.g. token scope) checked inside the transaction
	// BeforeCommit, when set, is called last in the transaction, once every
	// check and write succeeded: the upload makes its file durable
	// meanwhile and waits for it here, so no row can commit before its
	// file is on disk. An error rolls the transaction back.
	BeforeCommit func() error
}

// AddResult says what AddFile did.
type AddResult struct {
	Project    Project // after the change
	NewProject bool    // the project was created: the root index must be rewritten
	Identical  bool    // the same file was already there: nothing changed
	Serial     int64   // the project's serial after the change
}

// FileRef is what a duplicate check needs to know about an existing file.
type FileRef struct {
	Filename   string
	SHA256     string
	Blake2b256 string
	Path       string
}

// ExistingFile returns a file row with the given filename or BLAKE2b-256 digest,
// and whether the filename was used by a file that has since been deleted.
func (s *Store) ExistingFile(ctx context.Context, filename, blake2 string) (ref FileRef, found, deleted bool, err error) {
	// One round trip for both questions: the clashing file, if any, and
	// whether the filename was used by a deleted file.
	var fn, sha, b2, path *string
	err = s.pool.QueryRow(ctx, `SELECT f.filename, f.sha256, f.blake2b_256, f.path,
			EXISTS (SELECT 1 FROM deleted_filenames WHERE filename = $1)
		FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT filename, sha256, blake2b_256, path FROM files
			WHERE filename = $1 OR blake2b_256 = $2 ORDER BY filename = $1 DESC LIMIT 1) AS f ON true`,
		filename, blake2).Scan(&fn, &sha, &b2, &path, &deleted)
	if err != nil {
		return ref, false, false, fmt.Errorf("look up %q: %w", filename, translate(err))
	}
	if fn != nil {
		return FileRef{Filename: *fn, SHA256: *sha, Blake2b256: *b2, Path: *path}, true, false, nil
	}
	return ref, false, deleted, nil
}

// DuplicateError returns the error for a file that clashes with ref. The text
// must start with "File already exists": twine --skip-existing matches on it.
func DuplicateError(filename, blake2 string) error {
	return Errorf(ErrExists, "File already exists ('%s', with blake2_256 hash '%s'). See https://pypi.org/help/#file-name-reuse for more information.", filename, blake2)
}

// errDeletedMsg is PyPI's text for re-using the filename of a deleted file.
var errDeletedMsg = "This filename was previously used by a file that has since been deleted. Use a different version. See https://pypi.org/help/#file-name-reuse for more information."

// DeletedFilenameError returns the error for re-uploading a deleted filename.
func DeletedFilenameError() error { return Errorf(ErrInvalid, "%s", errDeletedMsg) }

// AddFile records an uploaded file in one transaction, serialised on the
// project: it creates the project (the uploader becomes its owner) and the
// release when needed, refuses uploaders without a role, duplicates and a
// second sdist, appends journal entries and bumps the serial. Re-uploading
// an identical file is not an error: it returns Identical and changes nothing.
func (s *Store) AddFile(ctx context.Context, nf NewFile) (AddResult, error) {
	var res AddResult
	norm := Normalize(nf.Project)
	f := nf.File
	// BEGIN, the lock and every read that decides the upload go as one
	// pipeline (one round trip); the server runs them in order, so the
	// reads see what was committed before the lock was granted.
	const byName = `(SELECT id FROM projects WHERE normalized = $1)`
	b := &pgx.Batch{}
	b.Queue(projectLockSQL, string(norm))
	b.Queue(`SELECT filename, sha256, blake2b_256 FROM files
		WHERE filename = $1 OR blake2b_256 = $2 ORDER BY filename = $1 DESC LIMIT 1`, f.Filename, f.Blake2b256)
	b.Queue(`SELECT EXISTS (SELECT 1 FROM deleted_filenames WHERE filename = $1)`, f.Filename)
	b.Queue(`SELECT `+projectCols+` FROM projects WHERE normalized = $1`, string(norm))
	b.Queue(`SELECT EXISTS (SELECT 1 FROM roles WHERE project_id = `+byName+` AND user_id = $2),
		coalesce((SELECT name FROM users WHERE id = $2), '')`, string(norm), nf.Uploader)
	b.Queue(`SELECT coalesce((SELECT id FROM releases WHERE project_id = `+byName+` AND canonical = $2), 0)`,
		string(norm), nf.Version.Canonical())
	b.Queue(projectSizeSQL, string(norm))
	err := s.pipelinedTx(ctx, b, func(tx querier, br pgx.BatchResults) error {
		var (
			ref              FileRef
			refErr, projErr  error
			deleted, hasRole bool
			userName         string
			relID            int64
			p                Project
		)
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("lock project: %w", translate(err))
		}
		refErr = br.QueryRow().Scan(&ref.Filename, &ref.SHA256, &ref.Blake2b256)
		if err := br.QueryRow().Scan(&deleted); err != nil {
			return fmt.Errorf("deleted check: %w", translate(err))
		}
		p, projErr = scanProject(br.QueryRow())
		if err := br.QueryRow().Scan(&hasRole, &userName); err != nil {
			return fmt.Errorf("role check: %w", translate(err))
		}
		if err := br.QueryRow().Scan(&relID); err != nil {
			return fmt.Errorf("release: %w", translate(err))
		}
		var totalLimit, totalSize int64
		if err := br.QueryRow().Scan(&totalLimit, &totalSize); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("project size: %w", translate(err))
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("upload checks: %w", translate(err))
		}

		switch {
		case refErr == nil:
			if ref.Filename == f.Filename && ref.SHA256 == f.SHA256 && ref.Blake2b256 == f.Blake2b256 {
				res.Identical = true
			} else {
				return DuplicateError(f.Filename, f.Blake2b256)
			}
		case !errors.Is(refErr, pgx.ErrNoRows):
			return fmt.Errorf("duplicate check: %w", translate(refErr))
		}
		if deleted {
			return DeletedFilenameError()
		}
		switch {
		case errors.Is(projErr, pgx.ErrNoRows):
			var err error
			if p, err = createProject(ctx, tx, nf.Project, nf.Uploader); err != nil {
				return err
			}
			res.NewProject = true
			relID = 0
		case projErr != nil:
			return fmt.Errorf("project: %w", translate(projErr))
		case !hasRole || p.Status.RefusesUploads():
			return roleError(userName, p)
		}
		if nf.Allowed != nil {
			if err := nf.Allowed(p); err != nil {
				return err
			}
		}
		if res.Identical {
			res.Project = p
			res.Serial = p.LastSerial
			return beforeCommit(nf)
		}
		// The project's total size limit, decided under its lock: two
		// uploads at once cannot both fit in the last free bytes.
		if totalLimit > 0 && totalSize+f.Size > totalLimit {
			return ProjectTooLargeError(p.Name, totalLimit)
		}
		if p.Name != nf.Project {
			if _, err := tx.Exec(ctx, `UPDATE projects SET name = $2 WHERE id = $1`, p.ID, nf.Project); err != nil {
				return fmt.Errorf("rename project: %w", translate(err))
			}
			p.Name = nf.Project
		}

		if relID == 0 {
			var err error
			if relID, err = createRelease(ctx, tx, p, nf.Version, nf.Metadata, nf.Readme); err != nil {
				return err
			}
		}
		if f.Type == Sdist {
			var has bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE release_id = $1 AND packagetype = 'sdist')`, relID).Scan(&has); err != nil {
				return fmt.Errorf("sdist check: %w", translate(err))
			}
			if has {
				return Errorf(ErrInvalid, "Only one sdist may be uploaded per release.")
			}
		}
		_, serial, err := journaled(ctx, tx, `INSERT INTO files (release_id, project_id, filename, packagetype, python_version, size,
			sha256, md5, blake2b_256, requires_python, path, metadata_sha256, comment_text)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			[]any{relID, p.ID, f.Filename, string(f.Type), f.PythonVersion, f.Size, f.SHA256, f.MD5, f.Blake2b256,
				nf.Metadata.RequiresPython, f.Path, f.MetadataSHA256, f.CommentText},
			p.ID, p.Name, nf.Version.String(), "add "+f.PythonVersion+" file "+f.Filename)
		if errors.Is(translate(err), ErrExists) {
			return DuplicateError(f.Filename, f.Blake2b256)
		}
		if err != nil {
			return fmt.Errorf("insert file: %w", translate(err))
		}
		p.LastSerial = serial
		res.Project = p
		res.Serial = serial
		return beforeCommit(nf)
	})
	if err != nil {
		return AddResult{}, fmt.Errorf("add file %q: %w", f.Filename, err)
	}
	return res, nil
}

func beforeCommit(nf NewFile) error {
	if nf.BeforeCommit == nil {
		return nil
	}
	return nf.BeforeCommit()
}

// checkRole returns ErrForbidden unless the user has a role on the project.
func checkRole(ctx context.Context, tx pgx.Tx, p Project, userID int64) error {
	var ok bool
	var name string
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM roles WHERE project_id = $1 AND user_id = $2),
		coalesce((SELECT name FROM users WHERE id = $2), '')`, p.ID, userID).Scan(&ok, &name); err != nil {
		return fmt.Errorf("role check: %w", translate(err))
	}
	if !ok || p.Status.RefusesUploads() {
		return roleError(name, p)
	}
	return nil
}

func roleError(userName string, p Project) error {
	return Errorf(ErrForbidden, "The user '%s' isn't allowed to upload to project '%s'. See https://pypi.org/help/#project-name for more information.", userName, p.Name)
}

// createRelease creates the project's release v with metadata md and its
// rendered README.
func createRelease(ctx context.Context, tx querier, p Project, v Version, md Metadata, rd Readme) (int64, error) {
	var id int64
	mdJSON, err := json.Marshal(md)
	if err != nil {
		return 0, fmt.Errorf("encode metadata: %w", err)
	}
	id, _, err = journaled(ctx, tx, `INSERT INTO releases (project_id, version, canonical, metadata, description_html, description_html_version)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		[]any{p.ID, v.String(), v.Canonical(), mdJSON, rd.HTML, rd.Version}, p.ID, p.Name, v.String(), "new release")
	if err != nil {
		return 0, fmt.Errorf("create release: %w", translate(err))
	}
	return id, nil
}

// AppendFileURL appends the download URL of f to dst: its CDN copy once the
// mirror worker has verified one, else base (which ends in "/packages/")
// followed by f.Path percent-encoded. It is the one place file URLs are
// made, for the simple pages and the JSON API alike: a '#', '?' or '%' in a
// filename must not cut or change the URL. The local URL has only bytes
// that need no escaping in HTML attributes or JSON strings either.
func AppendFileURL(dst []byte, base string, f *File) []byte {
	if f.CDNURL != "" {
		return append(dst, f.CDNURL...)
	}
	dst = append(dst, base...)
	for i := 0; i < len(f.Path); i++ {
		c := f.Path[i]
		if urlPathSafe[c] {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&0xf])
	}
	return dst
}

// FileURL is AppendFileURL as a string.
func FileURL(base string, f *File) string {
	return string(AppendFileURL(nil, base, f))
}

// urlPathSafe[c] is true for bytes kept as they are in the path of a file
// URL: RFC 3986 pchar and '/', minus the ampersand and the apostrophe, so
// that the URL needs no further HTML escaping. Distribution filenames only
// ever use safe bytes; the rest is defence against an old or corrupt row.
var urlPathSafe = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$()*+,;=:@/") {
		t[c] = true
	}
	return t
}()

// ProjectRole returns the project with the normalised name and the user's
// role on it ("owner" or "maintainer", "" for none), in one query; an error
// wrapping ErrNotFound when there is no such project.
func (s *Store) ProjectRole(ctx context.Context, name Normalized, userID int64) (Project, string, error) {
	var p Project
	var n, role, st string
	err := s.pool.QueryRow(ctx, `SELECT p.id, p.name, p.normalized, p.last_serial, p.created_at, p.status, p.status_reason,
			coalesce((SELECT role FROM roles WHERE project_id = p.id AND user_id = $2), '')
		FROM projects p WHERE p.normalized = $1`, string(name), userID).
		Scan(&p.ID, &p.Name, &n, &p.LastSerial, &p.CreatedAt, &st, &p.StatusReason, &role)
	if err != nil {
		return Project{}, "", fmt.Errorf("project %q: %w", name, noProject(translate(err), name))
	}
	p.Normalized, p.Status = Normalized(n), Status(st)
	return p, role, nil
}

// Role returns the user's role on the project ("owner" or "maintainer"), or ErrNotFound.
func (s *Store) Role(ctx context.Context, projectID, userID int64) (string, error) {
	var role string
	err := s.pool.QueryRow(ctx, `SELECT role FROM roles WHERE project_id = $1 AND user_id = $2`, projectID, userID).Scan(&role)
	if err != nil {
		return "", fmt.Errorf("role: %w", translate(err))
	}
	return role, nil
}
