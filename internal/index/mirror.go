package index

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MirrorState is where a file stands with the mirror worker.
type MirrorState string

// A file is pending until the worker records a verified CDN copy (mirrored)
// or gives up after the configured number of attempts (failed). A failed file
// keeps its local URL and goes back to pending only by an operator's retry.
const (
	MirrorPending  MirrorState = "pending"
	MirrorMirrored MirrorState = "mirrored"
	MirrorFailed   MirrorState = "failed"
)

// MirrorChannel is the LISTEN/NOTIFY channel that wakes mirror workers. The
// trigger of migration 0003 notifies it for every new file row; retries
// notify it too. The payload is the file id.
const MirrorChannel = "cheeseshop_mirror"

// maxMirrorError bounds the stored error text: enough for a status line,
// small enough that a chatty target cannot bloat the files table.
const maxMirrorError = 2000

// MirrorJob is one file claimed for a push.
type MirrorJob struct {
	File    File
	Project Normalized
	// Attempt is this attempt's number, from 1. It is also the claim's
	// token: a worker whose lease ran out, and whose file another worker
	// claimed since, can no longer record a failure for it.
	Attempt int
}

// MirrorFailure is a failed attempt to record.
type MirrorFailure struct {
	FileID  int64
	Attempt int           // the MirrorJob's Attempt
	Err     string        // what went wrong, shown by `mirror status`
	RetryIn time.Duration // back-off until the next attempt; ignored when Final
	Final   bool          // no attempts left: the file becomes failed
}

// MirrorStatus is one file's mirror state.
type MirrorStatus struct {
	FileID      int64
	Project     Normalized
	Filename    string
	State       MirrorState
	Attempts    int
	NextAttempt time.Time // when a pending file is due
	LastError   string
	CDNURL      string
}

// ClaimMirror claims up to limit pending files that are due, in due order.
// Each claim counts as an attempt and pushes the file's next attempt lease
// into the future, so other workers skip it until the lease runs out: if this
// worker dies, the file comes back by itself. Rows another transaction is
// claiming at the same moment are skipped (SKIP LOCKED), never waited for,
// so several workers on one database never claim one file twice.
func (s *Store) ClaimMirror(ctx context.Context, limit int, lease time.Duration) ([]MirrorJob, error) {
	var jobs []MirrorJob
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH due AS (
				SELECT id FROM files f
				WHERE mirror_state = 'pending' AND mirror_next_attempt_at <= now() AND `+pushableSQL+`
				ORDER BY mirror_next_attempt_at, id
				LIMIT $1
				FOR UPDATE SKIP LOCKED)
			UPDATE files f SET mirror_attempts = f.mirror_attempts + 1,
				mirror_next_attempt_at = now() + $2::float8 * interval '1 second'
			FROM due WHERE f.id = due.id
			RETURNING f.id, f.mirror_attempts`, limit, lease.Seconds())
		claims, err := collectRows("claim", rows, err, pgx.RowToStructByPos[idValue[int]])
		if err != nil || len(claims) == 0 {
			return err
		}
		attempts := map[int64]int{}
		ids := make([]int64, len(claims))
		for i, c := range claims {
			attempts[c.ID], ids[i] = c.Value, c.ID
		}
		files, err := scanFiles(tx.Query(ctx, `SELECT `+fileCols+` FROM files WHERE id = ANY($1) ORDER BY id`, ids))
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT id, normalized FROM projects
			WHERE id IN (SELECT project_id FROM files WHERE id = ANY($1))`, ids)
		projects, err := collectRows("projects of claimed files", rows, err, pgx.RowToStructByPos[idValue[Normalized]])
		if err != nil {
			return err
		}
		names := map[int64]Normalized{}
		for _, p := range projects {
			names[p.ID] = p.Value
		}
		for _, f := range files {
			jobs = append(jobs, MirrorJob{File: f, Project: names[f.ProjectID], Attempt: attempts[f.ID]})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim files to mirror: %w", err)
	}
	return jobs, nil
}

// idValue is a row of a row's id and one value of it.
type idValue[T any] struct {
	ID    int64
	Value T
}

// pushableSQL is the condition on a pending file f that lets it be pushed:
// its project is not quarantined (its files are out of packages/, and
// their CDN copies are being removed), and no removal of a copy at its path
// is pending (a file leaving quarantine waits until its old copy is gone).
const pushableSQL = `NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = f.project_id AND p.status = 'quarantined')
	AND NOT EXISTS (SELECT 1 FROM mirror_deletions d WHERE d.path = f.path AND d.state = 'pending')`

// MirrorDue reports how long until the next pending file or CDN deletion is due (zero when
// one is due now), by the database's clock; ok is false when none is pending.
func (s *Store) MirrorDue(ctx context.Context) (wait time.Duration, ok bool, err error) {
	var secs *float64
	err = s.pool.QueryRow(ctx, `SELECT greatest(extract(epoch FROM min(due) - now()), 0)::float8 FROM (
			SELECT min(mirror_next_attempt_at) AS due FROM files f WHERE mirror_state = 'pending' AND `+pushableSQL+`
			UNION ALL
			SELECT min(next_attempt_at) FROM mirror_deletions WHERE state = 'pending') t`).Scan(&secs)
	if err != nil {
		return 0, false, fmt.Errorf("next mirror due: %w", translate(err))
	}
	if secs == nil {
		return 0, false, nil
	}
	return time.Duration(*secs * float64(time.Second)), true, nil
}

// RecordMirrored records that the file has a verified copy at cdnURL: in one
// transaction, serialised with the project's other changes, it sets the
// file's cdn_url, marks it mirrored, appends a journal entry and bumps the
// project's serial, so that the pages rebuilt next link to the CDN and
// mirrors of this index see the change. It returns the project whose pages
// must be rebuilt. Recording a file that is already mirrored changes nothing,
// and so does recording a copy whose removal is queued (its project was
// quarantined during the push): the removal wins.
func (s *Store) RecordMirrored(ctx context.Context, fileID int64, cdnURL string) (Normalized, error) {
	var name Normalized
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var norm string
		if err := tx.QueryRow(ctx, `SELECT p.normalized FROM files f JOIN projects p ON p.id = f.project_id
			WHERE f.id = $1`, fileID).Scan(&norm); err != nil {
			return translate(err)
		}
		name = Normalized(norm)
		if _, err := tx.Exec(ctx, projectLockSQL, norm); err != nil {
			return fmt.Errorf("lock project: %w", translate(err))
		}
		var projectID int64
		var display, version, filename string
		err := tx.QueryRow(ctx, `UPDATE files f SET cdn_url = $2, mirror_state = 'mirrored', mirror_last_error = ''
			FROM projects p, releases r
			WHERE f.id = $1 AND f.mirror_state <> 'mirrored' AND p.id = f.project_id AND r.id = f.release_id
				AND `+pushableSQL+`
			RETURNING p.id, p.name, r.version, f.filename`, fileID, cdnURL).Scan(&projectID, &display, &version, &filename)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // already mirrored (the file exists: the first query found it)
		}
		if err != nil {
			return translate(err)
		}
		_, err = journal(ctx, tx, projectID, display, version, "mirror file "+filename, "")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("record mirrored file %d: %w", fileID, err)
	}
	return name, nil
}

// RecordMirrorFailure records a failed attempt: the error, and either the
// time of the next attempt or, when f.Final, the failed state. It reports
// false, changing nothing, when the claim is no longer the file's latest
// (the lease ran out and another worker claimed it) or the file is not
// pending any more.
func (s *Store) RecordMirrorFailure(ctx context.Context, f MirrorFailure) (bool, error) {
	return s.recordFailure(ctx, "record mirror failure of file", `UPDATE files SET mirror_last_error = $3, mirror_state = $4,
			mirror_next_attempt_at = now() + $5::float8 * interval '1 second'
		WHERE id = $1 AND mirror_attempts = $2 AND mirror_state = 'pending'`, f)
}

// recordFailure runs update for the failed attempt f, of a push or of a
// CDN deletion: an UPDATE of the claimed row ($1 its id) while the claim
// is its latest ($2 the attempt) that stores the error ($3, cut to
// maxMirrorError), the state ($4: pending, or failed when f is final) and
// when to try again ($5 seconds from now). It reports whether it changed
// the row; what names the attempt in its error.
func (s *Store) recordFailure(ctx context.Context, what, update string, f MirrorFailure) (bool, error) {
	msg := f.Err
	if len(msg) > maxMirrorError {
		msg = msg[:maxMirrorError]
	}
	state := MirrorPending
	if f.Final {
		state = MirrorFailed
	}
	tag, err := s.pool.Exec(ctx, update, f.FileID, f.Attempt, msg, string(state), f.RetryIn.Seconds())
	if err != nil {
		return false, fmt.Errorf("%s %d: %w", what, f.FileID, translate(err))
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseMirror gives a claimed file back without counting the attempt, for
// a worker that stops before it could finish: the file is due again at once.
func (s *Store) ReleaseMirror(ctx context.Context, fileID int64, attempt int) error {
	return s.releaseClaim(ctx, "release file", `UPDATE files SET mirror_attempts = mirror_attempts - 1, mirror_next_attempt_at = now()
		WHERE id = $1 AND mirror_attempts = $2 AND mirror_state = 'pending'`, fileID, attempt)
}

// releaseClaim runs update, which gives back the claim of a push or of a
// CDN deletion: the claimed row ($1 its id) while the claim is its latest
// ($2 the attempt). what names the claim in its error.
func (s *Store) releaseClaim(ctx context.Context, what, update string, id int64, attempt int) error {
	if _, err := s.pool.Exec(ctx, update, id, attempt); err != nil {
		return fmt.Errorf("%s %d: %w", what, id, translate(err))
	}
	return nil
}

// MirrorStatuses lists the files in the given states (all files when none is
// given), ordered by state, project and filename.
func (s *Store) MirrorStatuses(ctx context.Context, states ...MirrorState) ([]MirrorStatus, error) {
	want := make([]string, len(states))
	for i, st := range states {
		want[i] = string(st)
	}
	rows, err := s.pool.Query(ctx, `SELECT f.id, p.normalized, f.filename, f.mirror_state, f.mirror_attempts,
			f.mirror_next_attempt_at, f.mirror_last_error, coalesce(f.cdn_url, '')
		FROM files f JOIN projects p ON p.id = f.project_id
		WHERE cardinality($1::text[]) = 0 OR f.mirror_state = ANY($1)
		ORDER BY array_position(ARRAY['failed', 'pending', 'mirrored'], f.mirror_state), p.normalized, f.filename`, want)
	return collectRows("mirror status", rows, err, pgx.RowToStructByPos[MirrorStatus])
}

// RetryMirror makes a failed file pending again with a fresh count of
// attempts, due at once, and wakes the workers. A file that is pending or
// mirrored is left alone (ErrInvalid): a pending file may be in a worker's
// hands right now, and resetting its claim would let a second worker push it.
func (s *Store) RetryMirror(ctx context.Context, filename string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		var state string
		if err := tx.QueryRow(ctx, `SELECT id, mirror_state FROM files WHERE filename = $1 FOR UPDATE`, filename).Scan(&id, &state); err != nil {
			err = translate(err)
			if errors.Is(err, ErrNotFound) {
				return WrapErrorf(ErrNotFound, err, "no file %q", filename)
			}
			return err
		}
		if MirrorState(state) != MirrorFailed {
			return Errorf(ErrInvalid, "%s is %s, not failed", filename, state)
		}
		return retry(ctx, tx, `id = $1`, id)
	})
	if err != nil {
		return fmt.Errorf("retry %q: %w", filename, err)
	}
	return nil
}

// RetryFailedMirrors makes every failed file pending again, as RetryMirror
// does, and returns how many there were.
func (s *Store) RetryFailedMirrors(ctx context.Context) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM files WHERE mirror_state = 'failed'`).Scan(&n); err != nil {
			return translate(err)
		}
		return retry(ctx, tx, `mirror_state = 'failed'`)
	})
	if err != nil {
		return 0, fmt.Errorf("retry failed files: %w", err)
	}
	return n, nil
}

// retry makes the files matching where pending and due, and wakes the workers.
func retry(ctx context.Context, tx pgx.Tx, where string, args ...any) error {
	if _, err := tx.Exec(ctx, `UPDATE files SET mirror_state = 'pending', mirror_attempts = 0,
		mirror_next_attempt_at = now() WHERE `+where, args...); err != nil {
		return translate(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, 'retry')`, MirrorChannel); err != nil {
		return translate(err)
	}
	return nil
}

// MirrorListener receives the wake-ups of MirrorChannel.
type MirrorListener = Listener

// ListenMirror starts listening on MirrorChannel. Close the listener when done.
func (s *Store) ListenMirror(ctx context.Context) (*MirrorListener, error) {
	return s.listen(ctx, MirrorChannel, "mirror wake-ups", "mirror wake-up")
}
