//go:build unix

package upstream

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A lock file is gone once its lock is released, and the removal does not
// let two holders in at once: waiters that opened a removed file start
// again on the path's current one.
func TestLockPathExcludesAndRemovesItsFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "k.lock")
	ctx := context.Background()
	var inside atomic.Int32
	var overlaps atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				unlock, err := lockPath(ctx, path)
				if err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				time.Sleep(time.Millisecond) // a download's while
				inside.Add(-1)
				unlock()
			}
		})
	}
	wg.Wait()
	if n := overlaps.Load(); n > 0 {
		t.Errorf("%d times two holders at once", n)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("lock file after the last unlock: %v", err)
	}
}
