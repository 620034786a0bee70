package index

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the PostgreSQL store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool returns the underlying pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Advisory lock keys. PostgreSQL's hashtextextended gives a stable int8 for a
// project name; the prefixes keep the key spaces apart.
const (
	projectLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended('project:' || $1, 0))`
	rootLockSQL    = `SELECT pg_advisory_xact_lock(hashtextextended('root', 0))`
)

// translate maps driver errors to the package's sentinels. It is the only
// place that looks at pgx error types.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fmt.Errorf("%w: %w", ErrExists, err)
		case "57P01", "57P02", "57P03", "53300": // admin shutdown, crash shutdown, cannot connect now, too many connections
			return fmt.Errorf("%w: database: %w", ErrUnavailable, err)
		}
		return err
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: database: %w", ErrUnavailable, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: database: %w", ErrUnavailable, err)
	}
	return err
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	return translate(tx.Commit(ctx))
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return translate(s.pool.Ping(ctx)) }

// GlobalSerial returns the highest journal id, 0 for an empty index.
func (s *Store) GlobalSerial(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM journal`).Scan(&n)
	return n, translate(err)
}

const projectCols = `id, name, normalized, last_serial, created_at`

func scanProject(row pgx.Row) (Project, error) {
	var p Project
	var n string
	err := row.Scan(&p.ID, &p.Name, &n, &p.LastSerial, &p.CreatedAt)
	p.Normalized = Normalized(n)
	return p, err
}

// Project returns the project with the normalised name.
func (s *Store) Project(ctx context.Context, name Normalized) (Project, error) {
	p, err := scanProject(s.pool.QueryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE normalized = $1`, string(name)))
	if err != nil {
		return Project{}, fmt.Errorf("project %q: %w", name, translate(err))
	}
	return p, nil
}

// journaled runs change, a data-modifying statement with n parameters that
// returns one id ("INSERT ... RETURNING id"), and journals it with action
// in the same statement: one round trip for the change, its journal entry
// and the project's serial. It returns the change's id and the serial.
func journaled(ctx context.Context, tx pgx.Tx, change string, args []any, projectID int64, name, version, action string) (id, serial int64, err error) {
	n := len(args)
	q := fmt.Sprintf(`WITH c AS (%s),
		j AS (INSERT INTO journal (project_id, name, version, action) VALUES ($%d, $%d, nullif($%d, ''), $%d) RETURNING id),
		u AS (UPDATE projects SET last_serial = (SELECT id FROM j) WHERE id = $%d)
		SELECT (SELECT id FROM c), (SELECT id FROM j)`, change, n+1, n+2, n+3, n+4, n+1)
	args = append(args[:n:n], projectID, name, version, action)
	if err := tx.QueryRow(ctx, q, args...).Scan(&id, &serial); err != nil {
		return 0, 0, err
	}
	return id, serial, nil
}

// journal appends a journal entry and makes its id the project's last serial.
func journal(ctx context.Context, tx pgx.Tx, projectID int64, name, version, action, by string) (int64, error) {
	var serial int64
	var v *string
	if version != "" {
		v = &version
	}
	// One statement, one round trip: the entry and the project's serial.
	err := tx.QueryRow(ctx, `WITH j AS (INSERT INTO journal (project_id, name, version, action, submitted_by)
			VALUES ($1, $2, $3, $4, nullif($5, '')) RETURNING id),
		u AS (UPDATE projects SET last_serial = (SELECT id FROM j) WHERE id = $1)
		SELECT id FROM j`,
		projectID, name, v, action, by).Scan(&serial)
	if err != nil {
		return 0, fmt.Errorf("journal %q: %w", action, translate(err))
	}
	return serial, nil
}
