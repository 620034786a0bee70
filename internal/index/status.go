package index

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Status is a project's PEP 792 status. A project always has exactly one;
// the zero value reads as StatusActive.
type Status string

// The four statuses of PEP 792 (Final).
const (
	// StatusActive: uploads accepted, files offered (the default).
	StatusActive Status = "active"
	// StatusArchived: no new uploads; existing files still offered.
	StatusArchived Status = "archived"
	// StatusDeprecated: as active; installers may warn.
	StatusDeprecated Status = "deprecated"
	// StatusQuarantined: no uploads and no files offered at all.
	StatusQuarantined Status = "quarantined"
)

// ParseStatus returns the status named s, or ErrInvalid.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusActive, StatusArchived, StatusDeprecated, StatusQuarantined:
		return st, nil
	}
	return "", Errorf(ErrInvalid, "unknown project status %q: use active, archived, deprecated or quarantined", s)
}

// String returns the status's name, "active" for the zero value.
func (s Status) String() string {
	if s == "" {
		return string(StatusActive)
	}
	return string(s)
}

// RefusesUploads reports whether PEP 792 forbids new distributions (and,
// here, registers): archived and quarantined projects.
func (s Status) RefusesUploads() bool { return s == StatusArchived || s == StatusQuarantined }

// OffersFiles reports whether the project's files may be listed and
// downloaded: every status but quarantined.
func (s Status) OffersFiles() bool { return s != StatusQuarantined }

// maxStatusReason bounds the reason text: it goes into every page of the
// project.
const maxStatusReason = 1000

// StatusChange is what SetProjectStatus did.
type StatusChange struct {
	Change
	Previous Status // the status before the change
}

// SetProjectStatus sets the project's PEP 792 status and reason, journaled
// ("project quarantined", "project status archived", ...), under the
// project's lock. Setting the status and reason it already has changes
// nothing (Changed is false). The root keeps listing the project whatever
// its status.
func (s *Store) SetProjectStatus(ctx context.Context, project Normalized, st Status, reason, by string) (StatusChange, error) {
	if _, err := ParseStatus(string(st)); err != nil {
		return StatusChange{}, err
	}
	if p := TextProblem(reason); p != "" {
		return StatusChange{}, Errorf(ErrInvalid, "The reason %s.", p)
	}
	if len(reason) > maxStatusReason {
		return StatusChange{}, Errorf(ErrInvalid, "the reason is longer than %d bytes", maxStatusReason)
	}
	var ch StatusChange
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		p, err := lockProject(ctx, tx, project)
		if err != nil {
			return err
		}
		ch.Project, ch.Previous = p, p.Status
		if p.Status.String() == st.String() && p.StatusReason == reason {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE projects SET status = $2, status_reason = $3 WHERE id = $1`, p.ID, string(st), reason); err != nil {
			return fmt.Errorf("update project: %w", translate(err))
		}
		if err := quarantineMirror(ctx, tx, p, st); err != nil {
			return err
		}
		action := "project status " + string(st)
		if st == StatusQuarantined {
			action = "project quarantined" // Warehouse's journal wording
		}
		serial, err := journal(ctx, tx, p.ID, p.Name, "", action, by)
		if err != nil {
			return err
		}
		ch.Project.Status, ch.Project.StatusReason = st, reason
		ch.Project.LastSerial, ch.Changed = serial, true
		return nil
	})
	if err != nil {
		return StatusChange{}, fmt.Errorf("set status of %s: %w", project, err)
	}
	return ch, nil
}

// ProjectFiles returns the project's files (name, digests and path), for
// moving them in or out of quarantine.
func (s *Store) ProjectFiles(ctx context.Context, project Normalized) ([]FileRef, error) {
	rows, err := s.pool.Query(ctx, `SELECT f.filename, f.sha256, f.blake2b_256, f.path FROM files f
		JOIN projects p ON p.id = f.project_id WHERE p.normalized = $1 ORDER BY f.filename`, string(project))
	if err != nil {
		return nil, fmt.Errorf("files of %s: %w", project, translate(err))
	}
	refs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[FileRef])
	if err != nil {
		return nil, fmt.Errorf("files of %s: %w", project, translate(err))
	}
	return refs, nil
}

// QuarantinedProjects returns the names of the quarantined projects, for
// start-up repair to check their files are out of reach.
func (s *Store) QuarantinedProjects(ctx context.Context) ([]Normalized, error) {
	return s.projectNames(ctx, `SELECT normalized FROM projects WHERE status = 'quarantined' ORDER BY normalized COLLATE "C"`)
}

// unquarantineDelay is how long after a project leaves quarantine its
// files are due for a push.
const unquarantineDelay = 3 * time.Second

// quarantineMirror keeps the CDN in step with a status change. Entering
// quarantine queues the removal of the project's CDN copies and forgets
// them (cdn_url, mirror state), so the files are pushed afresh, after the
// removal, when the project leaves quarantine; leaving it wakes the
// mirror workers for that push.
func quarantineMirror(ctx context.Context, tx pgx.Tx, p Project, st Status) error {
	switch {
	case st == StatusQuarantined && p.Status != StatusQuarantined:
		if err := queueDeletions(ctx, tx, `f.project_id = $1`, p.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE files SET cdn_url = NULL, mirror_state = 'pending', mirror_attempts = 0,
			mirror_next_attempt_at = now(), mirror_last_error = '' WHERE project_id = $1`, p.ID); err != nil {
			return fmt.Errorf("forget CDN copies: %w", translate(err))
		}
	case st != StatusQuarantined && p.Status == StatusQuarantined:
		// The files move back into packages/ after this commits: give
		// that a moment before the pushes are due (a push that finds no
		// local copy fails and is retried later, so this only saves time).
		if _, err := tx.Exec(ctx, `UPDATE files SET mirror_next_attempt_at = now() + $2::float8 * interval '1 second'
			WHERE project_id = $1 AND mirror_state = 'pending'`, p.ID, unquarantineDelay.Seconds()); err != nil {
			return fmt.Errorf("schedule pushes: %w", translate(err))
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, 'unquarantined')`, MirrorChannel); err != nil {
			return fmt.Errorf("wake mirror workers: %w", translate(err))
		}
	}
	return nil
}
