package index

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MirrorDeleting is the state of a CDN copy whose removal is pending; it
// shows in `mirror status` beside the push states. A removal that ran out
// of attempts is MirrorFailed, like a push.
const MirrorDeleting MirrorState = "deleting"

// queueDeletionsSQL queues the removal of the CDN copies of the files
// matching a condition on f (files) and p (projects): every file the
// worker may have pushed, due once a push in flight has run out.
const queueDeletionsSQL = `INSERT INTO mirror_deletions (project, filename, path, next_attempt_at)
	SELECT p.normalized, f.filename, f.path,
		CASE WHEN f.mirror_state = 'pending' THEN greatest(now(), f.mirror_next_attempt_at) ELSE now() END
	FROM files f JOIN projects p ON p.id = f.project_id
	WHERE (f.mirror_attempts > 0 OR f.cdn_url IS NOT NULL) AND `

// queueDeletions runs queueDeletionsSQL with the condition where.
func queueDeletions(ctx context.Context, tx pgx.Tx, where string, args ...any) error {
	if _, err := tx.Exec(ctx, queueDeletionsSQL+where, args...); err != nil {
		return fmt.Errorf("queue CDN deletions: %w", translate(err))
	}
	return nil
}

// MirrorDeletion is one CDN copy to remove, claimed by a worker.
type MirrorDeletion struct {
	ID       int64
	Project  Normalized
	Filename string
	Path     string // object path; its sidecar is Path + ".metadata"
	// Attempt is this attempt's number, from 1, and the claim's token, as
	// MirrorJob.Attempt is.
	Attempt int
}

// ClaimMirrorDeletion claims up to limit due deletions, as ClaimMirror
// claims pushes: each claim counts as an attempt and leases the row.
func (s *Store) ClaimMirrorDeletion(ctx context.Context, limit int, lease time.Duration) ([]MirrorDeletion, error) {
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT id FROM mirror_deletions
			WHERE state = 'pending' AND next_attempt_at <= now()
			ORDER BY next_attempt_at, id
			LIMIT $1
			FOR UPDATE SKIP LOCKED)
		UPDATE mirror_deletions d SET attempts = d.attempts + 1,
			next_attempt_at = now() + $2::float8 * interval '1 second'
		FROM due WHERE d.id = due.id
		RETURNING d.id, d.project, d.filename, d.path, d.attempts`, limit, lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("claim CDN deletions: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (MirrorDeletion, error) {
		var d MirrorDeletion
		var norm string
		err := row.Scan(&d.ID, &norm, &d.Filename, &d.Path, &d.Attempt)
		d.Project = Normalized(norm)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim CDN deletions: %w", translate(err))
	}
	return out, nil
}

// RecordMirrorDeleted records that the copy is gone: the row goes. It
// reports false when the claim is no longer the row's latest.
func (s *Store) RecordMirrorDeleted(ctx context.Context, id int64, attempt int) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM mirror_deletions WHERE id = $1 AND attempts = $2`, id, attempt)
	if err != nil {
		return false, fmt.Errorf("record CDN deletion %d: %w", id, translate(err))
	}
	return tag.RowsAffected() == 1, nil
}

// RecordMirrorDeletionFailure records a failed attempt, as
// RecordMirrorFailure does for pushes; f.FileID is the deletion's id.
func (s *Store) RecordMirrorDeletionFailure(ctx context.Context, f MirrorFailure) (bool, error) {
	return s.recordFailure(ctx, "record failure of CDN deletion", `UPDATE mirror_deletions SET last_error = $3, state = $4,
			next_attempt_at = now() + $5::float8 * interval '1 second'
		WHERE id = $1 AND attempts = $2 AND state = 'pending'`, f)
}

// ReleaseMirrorDeletion gives a claimed deletion back without counting the
// attempt, as ReleaseMirror does.
func (s *Store) ReleaseMirrorDeletion(ctx context.Context, id int64, attempt int) error {
	return s.releaseClaim(ctx, "release CDN deletion", `UPDATE mirror_deletions SET attempts = attempts - 1, next_attempt_at = now()
		WHERE id = $1 AND attempts = $2 AND state = 'pending'`, id, attempt)
}

// MirrorDeletions lists the CDN copies whose removal is pending (state
// MirrorDeleting) or failed (MirrorFailed), as MirrorStatus rows with
// FileID the deletion's id, failed first.
func (s *Store) MirrorDeletions(ctx context.Context) ([]MirrorStatus, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, project, filename, state, attempts, next_attempt_at, last_error
		FROM mirror_deletions ORDER BY state = 'pending', project, filename, id`)
	if err != nil {
		return nil, fmt.Errorf("CDN deletions: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (MirrorStatus, error) {
		var m MirrorStatus
		var norm, state string
		err := row.Scan(&m.FileID, &norm, &m.Filename, &state, &m.Attempts, &m.NextAttempt, &m.LastError)
		m.Project, m.State = Normalized(norm), MirrorDeleting
		if state == "failed" {
			m.State = MirrorFailed
		}
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("CDN deletions: %w", translate(err))
	}
	return out, nil
}

// RetryFailedMirrorDeletions makes every failed deletion pending again
// with a fresh count of attempts and wakes the workers; it returns how
// many there were.
func (s *Store) RetryFailedMirrorDeletions(ctx context.Context) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE mirror_deletions SET state = 'pending', attempts = 0, next_attempt_at = now()
			WHERE state = 'failed'`)
		if err != nil {
			return translate(err)
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, 'retry')`, MirrorChannel); err != nil {
			return translate(err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("retry failed CDN deletions: %w", err)
	}
	return n, nil
}
