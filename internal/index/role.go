package index

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The roles a user can have on a project. Both may upload; only owners may
// yank, delete and (through the command line) manage roles.
const (
	RoleOwner      = "owner"
	RoleMaintainer = "maintainer"
)

// RoleTitle is a role as PyPI spells it in journal entries and in the JSON
// API's ownership ("Owner", "Maintainer").
func RoleTitle(role string) string {
	switch role {
	case RoleOwner:
		return "Owner"
	case RoleMaintainer:
		return "Maintainer"
	}
	return role
}

// RoleAssignment is one user's role on a project.
type RoleAssignment struct {
	User string
	Role string // RoleOwner or RoleMaintainer
}

// Change is what a change to a project did.
type Change struct {
	Project Project // after the change; LastSerial is its new serial
	Changed bool    // false: the project was already in the requested state
	// Removed are the files whose rows were deleted; the caller removes
	// them from disk once the pages no longer link to them.
	Removed []FileRef
}

// change runs fn in one transaction and returns the Change fn filled in;
// an error is wrapped as what's ("what: err").
func (s *Store) change(ctx context.Context, what string, fn func(tx pgx.Tx, ch *Change) error) (Change, error) {
	var ch Change
	if err := s.inTx(ctx, func(tx pgx.Tx) error { return fn(tx, &ch) }); err != nil {
		return Change{}, fmt.Errorf("%s: %w", what, err)
	}
	return ch, nil
}

// record journals the change of ch.Project (action on version, by a user or
// "") and takes the entry's serial as the project's.
func (ch *Change) record(ctx context.Context, tx pgx.Tx, version, action, by string) error {
	serial, err := journal(ctx, tx, ch.Project.ID, ch.Project.Name, version, action, by)
	if err != nil {
		return err
	}
	ch.Project.LastSerial, ch.Changed = serial, true
	return nil
}

// AddRole gives the named user a role on an existing project, or changes
// the role they have, journaling it as PyPI does ("add Owner alice",
// "change Owner alice to Maintainer"). Demoting the last owner is ErrInvalid.
func (s *Store) AddRole(ctx context.Context, project Normalized, userName, role string) (Change, error) {
	if role != RoleOwner && role != RoleMaintainer {
		return Change{}, Errorf(ErrInvalid, "role must be %s or %s, not %q", RoleOwner, RoleMaintainer, role)
	}
	return s.change(ctx, fmt.Sprintf("add role on %s for %q", project, userName), func(tx pgx.Tx, ch *Change) error {
		p, userID, old, err := lockProjectUser(ctx, tx, project, userName)
		if err != nil {
			return err
		}
		ch.Project = p
		var action string
		switch old {
		case role:
			return nil
		case "":
			action = "add " + RoleTitle(role) + " " + userName
		default:
			if old == RoleOwner {
				if err := keepAnOwner(ctx, tx, p, userID); err != nil {
					return err
				}
			}
			action = "change " + RoleTitle(old) + " " + userName + " to " + RoleTitle(role)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO roles (project_id, user_id, role) VALUES ($1, $2, $3)
			ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role`, p.ID, userID, role); err != nil {
			return fmt.Errorf("set role: %w", translate(err))
		}
		return ch.record(ctx, tx, "", action, "")
	})
}

// RemoveRole takes the named user's role on the project away ("remove
// Owner alice"). A user without a role is ErrNotFound; removing the last
// owner is ErrInvalid, so every project keeps someone who can manage it.
func (s *Store) RemoveRole(ctx context.Context, project Normalized, userName string) (Change, error) {
	return s.change(ctx, fmt.Sprintf("remove role on %s for %q", project, userName), func(tx pgx.Tx, ch *Change) error {
		p, userID, old, err := lockProjectUser(ctx, tx, project, userName)
		if err != nil {
			return err
		}
		ch.Project = p
		if old == "" {
			return Errorf(ErrNotFound, "user %q has no role on project %q", userName, p.Name)
		}
		if old == RoleOwner {
			if err := keepAnOwner(ctx, tx, p, userID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM roles WHERE project_id = $1 AND user_id = $2`, p.ID, userID); err != nil {
			return fmt.Errorf("remove role: %w", translate(err))
		}
		return ch.record(ctx, tx, "", "remove "+RoleTitle(old)+" "+userName, "")
	})
}

// lockProjectUser takes the project's lock and returns the project, the
// user's id and their current role ("" for none).
func lockProjectUser(ctx context.Context, tx pgx.Tx, project Normalized, userName string) (Project, int64, string, error) {
	p, err := lockProject(ctx, tx, project)
	if err != nil {
		return Project{}, 0, "", err
	}
	var userID int64
	if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE name = $1`, userName).Scan(&userID); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Project{}, 0, "", Errorf(ErrNotFound, "no user %q", userName)
		}
		return Project{}, 0, "", fmt.Errorf("user %q: %w", userName, translate(err))
	}
	var role string
	err = tx.QueryRow(ctx, `SELECT role FROM roles WHERE project_id = $1 AND user_id = $2`, p.ID, userID).Scan(&role)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Project{}, 0, "", fmt.Errorf("role: %w", translate(err))
	}
	return p, userID, role, nil
}

// lockProject takes the project's advisory lock (the one uploads and page
// rewrites take) and reads the project under it.
func lockProject(ctx context.Context, tx pgx.Tx, project Normalized) (Project, error) {
	if _, err := tx.Exec(ctx, projectLockSQL, string(project)); err != nil {
		return Project{}, fmt.Errorf("lock project: %w", translate(err))
	}
	p, err := scanProject(tx.QueryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE normalized = $1`, string(project)))
	if errors.Is(err, pgx.ErrNoRows) {
		return Project{}, Errorf(ErrNotFound, "no project %q", project)
	}
	if err != nil {
		return Project{}, fmt.Errorf("project %q: %w", project, translate(err))
	}
	return p, nil
}

// keepAnOwner refuses a change that would leave the project without an
// owner other than userID.
func keepAnOwner(ctx context.Context, tx pgx.Tx, p Project, userID int64) error {
	var others bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM roles WHERE project_id = $1 AND role = 'owner' AND user_id <> $2)`,
		p.ID, userID).Scan(&others); err != nil {
		return fmt.Errorf("owner check: %w", translate(err))
	}
	if !others {
		return Errorf(ErrInvalid, "project %q would have no owner left; add another owner first", p.Name)
	}
	return nil
}

// rolesSQL lists a project's roles: owners first, then by user name.
const rolesSQL = `SELECT u.name, r.role FROM roles r JOIN users u ON u.id = r.user_id
	WHERE r.project_id = $1 ORDER BY r.role = 'owner' DESC, u.name`

// Roles lists who has which role on the project: owners first, then by
// user name.
func (s *Store) Roles(ctx context.Context, projectID int64) ([]RoleAssignment, error) {
	roles, err := collectRoles(s.pool.Query(ctx, rolesSQL, projectID))
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	return roles, nil
}

func collectRoles(rows pgx.Rows, err error) ([]RoleAssignment, error) {
	if err != nil {
		return nil, translate(err)
	}
	roles, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (RoleAssignment, error) {
		var ra RoleAssignment
		err := row.Scan(&ra.User, &ra.Role)
		return ra, err
	})
	return roles, translate(err)
}
