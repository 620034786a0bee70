//go:build !unix

package upstream

import (
	"context"
	"sync"
)

// Without flock, downloads are fetched once per process only.
var (
	locksMu sync.Mutex
	locks   = map[string]chan struct{}{}
)

func lockPath(ctx context.Context, path string) (unlock func(), err error) {
	for {
		locksMu.Lock()
		ch, held := locks[path]
		if !held {
			ch = make(chan struct{})
			locks[path] = ch
			locksMu.Unlock()
			return func() {
				locksMu.Lock()
				delete(locks, path)
				locksMu.Unlock()
				close(ch)
			}, nil
		}
		locksMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
