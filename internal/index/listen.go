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

// ChangeListener receives the notifications of ChangesChannel.
type ChangeListener = Listener

// ListenChanges starts listening on ChangesChannel. Close the listener when done.
func (s *Store) ListenChanges(ctx context.Context) (*ChangeListener, error) {
	return s.listen(ctx, ChangesChannel, "changes", "changes")
}

// Listener receives the notifications of one channel on a connection of its
// own, taken out of the pool: a listening session must stay open, and a
// pooled connection would carry the LISTEN to its next user.
type Listener struct {
	conn *pgx.Conn
	what string // what Wait waits for, in its error
}

// listen starts listening on channel; plural and singular name its
// notifications in the errors of listening and of waiting.
func (s *Store) listen(ctx context.Context, channel, plural, singular string) (*Listener, error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("listen for %s: %w", plural, translate(err))
	}
	conn := pc.Hijack()
	if _, err := conn.Exec(ctx, `LISTEN `+channel); err != nil {
		conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // the LISTEN error is the one to report
		return nil, fmt.Errorf("listen for %s: %w", plural, translate(err))
	}
	return &Listener{conn: conn, what: singular}, nil
}

// Wait blocks until a notification arrives, ctx is done or the connection fails.
func (l *Listener) Wait(ctx context.Context) error {
	if _, err := l.conn.WaitForNotification(ctx); err != nil {
		return fmt.Errorf("wait for %s: %w", l.what, translate(err))
	}
	return nil
}

// Close ends the listening session.
func (l *Listener) Close(ctx context.Context) error {
	return l.conn.Close(ctx)
}
