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

// translate maps driver errors to *Error values of the package's kinds. It
// is the only place that looks at pgx error types. The driver's error is
// the cause, for the log; the public message is empty, because only the
// caller knows what was missing or taken ("no token with id 99"): callers
// that can name it wrap the result with WrapErrorf.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &Error{Kind: ErrNotFound, Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return &Error{Kind: ErrExists, Err: err}
		case "57P01", "57P02", "57P03", "53300": // admin shutdown, crash shutdown, cannot connect now, too many connections
			return unavailable(err)
		}
		return err
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) {
		return unavailable(err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return unavailable(err)
	}
	return err
}

// noProject names the project in a not-found error from translate.
func noProject(err error, name Normalized) error {
	if errors.Is(err, ErrNotFound) {
		return WrapErrorf(ErrNotFound, err, "no project %q", name)
	}
	return err
}

func unavailable(err error) error {
	return &Error{Kind: ErrUnavailable, Message: "the database cannot be reached", Err: err}
}

// querier is what statements inside a transaction run on: a pgx.Tx, or
// the connection of a pipelinedTx.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// collectRows reads every row of a query with scan, as pgx.AppendRows does
// (no rows: a nil slice, as an append loop leaves it). An error of the
// query, of a row's scan or of the rows is translated and wrapped with what.
func collectRows[T any](what string, rows pgx.Rows, err error, scan pgx.RowToFunc[T]) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, translate(err))
	}
	out, err := pgx.AppendRows([]T(nil), rows, scan)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, translate(err))
	}
	return out, nil
}

// pipelinedTx runs a transaction whose BEGIN travels in one round trip with
// its first statements (first), instead of alone as pgx's Begin sends it:
// the hot paths (an upload's transaction, a page's locked read) save a
// round trip each. fn reads first's results from br, must close br before
// it runs anything else on q, and commits the transaction by returning
// nil; any error rolls it back. A connection that is left inside a
// transaction (a failed ROLLBACK) is closed by the pool on release.
func (s *Store) pipelinedTx(ctx context.Context, first *pgx.Batch, fn func(q querier, br pgx.BatchResults) error) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return translate(err)
	}
	defer c.Release()
	conn := c.Conn()
	b := &pgx.Batch{QueuedQueries: append([]*pgx.QueuedQuery{{SQL: "BEGIN"}}, first.QueuedQueries...)}
	br := conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return translate(err)
	}
	rollback := func() {
		if conn.PgConn().TxStatus() != 'I' {
			conn.Exec(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // the pool closes a connection left in a transaction
		}
	}
	if err := fn(conn, br); err != nil {
		br.Close()
		rollback()
		return err
	}
	if err := br.Close(); err != nil {
		rollback()
		return translate(err)
	}
	tag, err := conn.Exec(ctx, "COMMIT")
	if err != nil {
		rollback()
		return translate(err)
	}
	if tag.String() == "ROLLBACK" { // COMMIT of a failed transaction
		return translate(pgx.ErrTxCommitRollback)
	}
	return nil
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

const projectCols = `id, name, normalized, last_serial, created_at, status, status_reason`

func scanProject(row pgx.Row) (Project, error) {
	var p Project
	var n string
	var st string
	err := row.Scan(&p.ID, &p.Name, &n, &p.LastSerial, &p.CreatedAt, &st, &p.StatusReason)
	p.Status = Status(st)
	p.Normalized = Normalized(n)
	return p, err
}

// Project returns the project with the normalised name.
func (s *Store) Project(ctx context.Context, name Normalized) (Project, error) {
	p, err := scanProject(s.pool.QueryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE normalized = $1`, string(name)))
	if err != nil {
		return Project{}, fmt.Errorf("project %q: %w", name, noProject(translate(err), name))
	}
	return p, nil
}

// journaled runs change, a data-modifying statement with n parameters that
// returns one id ("INSERT ... RETURNING id"), and journals it with action
// in the same statement: one round trip for the change, its journal entry
// and the project's serial. It returns the change's id and the serial.
func journaled(ctx context.Context, tx querier, change string, args []any, projectID int64, name, version, action string) (id, serial int64, err error) {
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
func journal(ctx context.Context, tx querier, projectID int64, name, version, action, by string) (int64, error) {
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
