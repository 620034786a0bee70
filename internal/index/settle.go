package index

import (
	"context"
	"time"
)

// AwaitEarlierTransactions waits, for at most limit, until every
// transaction of this database that began before the call has ended.
//
// A process killed right after sending COMMIT leaves that commit to
// PostgreSQL, which may make it visible only after a new server has read
// which pages are stale: the change would then wait for the next periodic
// pass. Start-up repair calls this first, so what the dead process
// committed is part of what it repairs. It reports whether all of them
// ended in time; other servers' transactions are short, so a false is
// rare and only costs that wait.
func (s *Store) AwaitEarlierTransactions(ctx context.Context, limit time.Duration) (bool, error) {
	var since time.Time
	if err := s.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&since); err != nil {
		return false, translate(err)
	}
	deadline := time.Now().Add(limit)
	for {
		var n int
		err := s.pool.QueryRow(ctx, `
			SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start < $1`, since).Scan(&n)
		if err != nil {
			return false, translate(err)
		}
		if n == 0 {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
