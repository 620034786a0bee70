package index

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ChangesChannel is the LISTEN/NOTIFY channel on which every commit that
// changes a project's serial (an upload, a yank from the command line, a
// new project, a deletion), from any process, is announced
// (migrations/0006_operations.sql: a statement trigger on projects).
const ChangesChannel = "cheeseshop_changes"

// ChangeListener receives the notifications of ChangesChannel on a
// connection of its own, taken out of the pool (see MirrorListener).
type ChangeListener struct {
	conn *pgx.Conn
}

// ListenChanges starts listening on ChangesChannel. Close the listener when done.
func (s *Store) ListenChanges(ctx context.Context) (*ChangeListener, error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("listen for changes: %w", translate(err))
	}
	conn := pc.Hijack()
	if _, err := conn.Exec(ctx, `LISTEN `+ChangesChannel); err != nil {
		conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // the LISTEN error is the one to report
		return nil, fmt.Errorf("listen for changes: %w", translate(err))
	}
	return &ChangeListener{conn: conn}, nil
}

// Wait blocks until a change is announced, ctx is done or the connection fails.
func (l *ChangeListener) Wait(ctx context.Context) error {
	if _, err := l.conn.WaitForNotification(ctx); err != nil {
		return fmt.Errorf("wait for changes: %w", translate(err))
	}
	return nil
}

// Close ends the listening session.
func (l *ChangeListener) Close(ctx context.Context) error {
	return l.conn.Close(ctx)
}
