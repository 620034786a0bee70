package index_test

import (
	"context"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// A transaction begun before the call is waited for; one still open at the
// limit makes the call give up and say so.
func TestAwaitEarlierTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := indextest.NewDB(t)
	store := index.NewStore(pool)

	if done, err := store.AwaitEarlierTransactions(ctx, time.Second); err != nil || !done {
		t.Fatalf("no transaction open: %v, %v", done, err)
	}

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1`); err != nil { // the transaction starts with its first statement
		t.Fatal(err)
	}
	start := time.Now()
	if done, err := store.AwaitEarlierTransactions(ctx, 200*time.Millisecond); err != nil || done {
		t.Fatalf("with a transaction open past the limit: %v, %v", done, err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Fatalf("gave up after %v, before the limit", waited)
	}

	go func() {
		time.Sleep(100 * time.Millisecond)
		tx.Commit(ctx) //nolint:errcheck // the wait below fails if it does not end
	}()
	start = time.Now()
	if done, err := store.AwaitEarlierTransactions(ctx, 10*time.Second); err != nil || !done {
		t.Fatalf("a transaction that commits: %v, %v", done, err)
	}
	if waited := time.Since(start); waited < 80*time.Millisecond || waited > 5*time.Second {
		t.Fatalf("waited %v for a transaction that ended after 100 ms", waited)
	}
}
