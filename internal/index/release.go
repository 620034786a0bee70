package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// NewRelease is a release registered without files (the legacy API's
// :action=submit, distutils' `setup.py register`).
type NewRelease struct {
	Project    string              // display name as registered
	Version    Version             // parsed release version
	Metadata   Metadata            // the release's metadata
	Readme     Readme              // Metadata's description rendered
	Registrant int64               // user id; becomes owner of a new project
	Allowed    func(Project) error // optional extra authorisation (token scope), checked inside the transaction
}

// RegisterRelease creates the project (the registrant becomes its owner)
// and the release, with no files, in one transaction serialised on the
// project, as AddFile does. Registering an existing release replaces its
// metadata, as PyPI's register did; registering it again with the same
// metadata changes nothing (Identical), so a retry is harmless. Users
// without a role on an existing project get ErrForbidden.
func (s *Store) RegisterRelease(ctx context.Context, nr NewRelease) (AddResult, error) {
	var res AddResult
	norm := Normalize(nr.Project)
	mdJSON, err := json.Marshal(nr.Metadata)
	if err != nil {
		return AddResult{}, fmt.Errorf("encode metadata: %w", err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, projectLockSQL, string(norm)); err != nil {
			return fmt.Errorf("lock project: %w", translate(err))
		}
		p, err := scanProject(tx.QueryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE normalized = $1`, string(norm)))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if nr.Allowed != nil {
				if err := nr.Allowed(Project{Name: nr.Project, Normalized: norm}); err != nil {
					return err
				}
			}
			if p, err = createProject(ctx, tx, nr.Project, nr.Registrant); err != nil {
				return err
			}
			res.NewProject = true
		case err != nil:
			return fmt.Errorf("project: %w", translate(err))
		default:
			if err := checkRole(ctx, tx, p, nr.Registrant); err != nil {
				return err
			}
			if nr.Allowed != nil {
				if err := nr.Allowed(p); err != nil {
					return err
				}
			}
		}

		var relID int64
		action := "new release"
		err = tx.QueryRow(ctx, `SELECT id FROM releases WHERE project_id = $1 AND canonical = $2`, p.ID, nr.Version.Canonical()).Scan(&relID)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if _, err := tx.Exec(ctx, `INSERT INTO releases (project_id, version, canonical, metadata, description_html, description_html_version)
				VALUES ($1, $2, $3, $4, $5, $6)`,
				p.ID, nr.Version.String(), nr.Version.Canonical(), mdJSON, nr.Readme.HTML, nr.Readme.Version); err != nil {
				return fmt.Errorf("create release: %w", translate(err))
			}
		case err != nil:
			return fmt.Errorf("release: %w", translate(err))
		default:
			tag, err := tx.Exec(ctx, `UPDATE releases SET metadata = $2, description_html = $3, description_html_version = $4
				WHERE id = $1 AND metadata <> $2::jsonb`, relID, mdJSON, nr.Readme.HTML, nr.Readme.Version)
			if err != nil {
				return fmt.Errorf("update release: %w", translate(err))
			}
			if tag.RowsAffected() == 0 {
				res.Identical = true
				res.Project, res.Serial = p, p.LastSerial
				return nil
			}
			action = "update release"
		}
		if p.Name != nr.Project {
			if _, err := tx.Exec(ctx, `UPDATE projects SET name = $2 WHERE id = $1`, p.ID, nr.Project); err != nil {
				return fmt.Errorf("rename project: %w", translate(err))
			}
			p.Name = nr.Project
		}
		serial, err := journal(ctx, tx, p.ID, p.Name, nr.Version.String(), action, "")
		if err != nil {
			return err
		}
		p.LastSerial = serial
		res.Project, res.Serial = p, serial
		return nil
	})
	if err != nil {
		return AddResult{}, fmt.Errorf("register %s %s: %w", nr.Project, nr.Version.String(), err)
	}
	return res, nil
}

// createProject inserts a project with userID as its owner and journals
// both, as PyPI does ("create", then "add Owner <user>").
func createProject(ctx context.Context, tx querier, name string, userID int64) (Project, error) {
	if err := checkNotUpstream(ctx, tx, Normalize(name)); err != nil {
		return Project{}, err
	}
	p, err := scanProject(tx.QueryRow(ctx, `INSERT INTO projects (name, normalized) VALUES ($1, $2) RETURNING `+projectCols,
		name, string(Normalize(name))))
	if err != nil {
		return Project{}, fmt.Errorf("create project: %w", translate(err))
	}
	var userName string
	if err := tx.QueryRow(ctx, `INSERT INTO roles (project_id, user_id, role) VALUES ($1, $2, 'owner')
		RETURNING (SELECT name FROM users WHERE id = $2)`, p.ID, userID).Scan(&userName); err != nil {
		return Project{}, fmt.Errorf("add owner: %w", translate(err))
	}
	if _, err := journal(ctx, tx, p.ID, name, "", "create", ""); err != nil {
		return Project{}, err
	}
	if p.LastSerial, err = journal(ctx, tx, p.ID, name, "", "add "+RoleTitle(RoleOwner)+" "+userName, ""); err != nil {
		return Project{}, err
	}
	return p, nil
}

// ProjectDetail is a project's releases, files and roles, read at one
// instant: what the JSON API shows.
type ProjectDetail struct {
	ProjectState
	Roles []RoleAssignment
}

// ProjectDetail reads the named project in one read-only snapshot, without
// taking the project's lock (readers never wait for an upload). An unknown
// project is ErrNotFound.
func (s *Store) ProjectDetail(ctx context.Context, name Normalized) (ProjectDetail, error) {
	var d ProjectDetail
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return d, fmt.Errorf("project %q: %w", name, translate(err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	if d.ProjectState, err = loadProject(ctx, tx, name); err != nil {
		return ProjectDetail{}, err
	}
	if d.Roles, err = collectRoles(tx.Query(ctx, rolesSQL, d.Project.ID)); err != nil {
		return ProjectDetail{}, fmt.Errorf("roles of %q: %w", name, err)
	}
	return d, nil
}
