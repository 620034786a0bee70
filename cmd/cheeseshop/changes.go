package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// rootRefresher is the part of staticgen.Generator followChanges drives.
type rootRefresher interface{ RefreshRootSoon() }

// followChanges keeps the root page's per-project serials up to date with
// changes committed by any process (the command line's yank, unyank,
// delete and role; other servers): every change is announced on
// index.ChangesChannel, and each announcement schedules a root rewrite
// within --root-refresh (coalesced). After the listening connection is
// lost and made again, a catch-up query compares the newest serial with the
// one seen at the previous connection, because announcements sent
// meanwhile were lost. It returns when ctx is done.
func followChanges(ctx context.Context, store *index.Store, pages rootRefresher, log *slog.Logger) error {
	seen := int64(-1) // newest serial at the last connection; -1 before the first
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		l, err := store.ListenChanges(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.WarnContext(ctx, "cannot listen for changes from other processes; retrying", "err", err, "retry_in_ms", delay.Milliseconds())
			}
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
			delay = min(delay*2, 30*time.Second)
			continue
		}
		delay = 100 * time.Millisecond
		if newest, err := store.MaxSerial(ctx); err == nil {
			if seen >= 0 && newest > seen {
				pages.RefreshRootSoon() // changes while nobody listened
			}
			seen = newest
		} else if seen >= 0 {
			pages.RefreshRootSoon() // cannot tell: refresh anyway
		}
		for {
			if err = l.Wait(ctx); err != nil {
				break
			}
			pages.RefreshRootSoon()
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		l.Close(cctx) //nolint:errcheck // the connection is dropped either way
		cancel()
		if ctx.Err() == nil {
			log.WarnContext(ctx, "lost the connection that listens for changes; reconnecting", "err", err)
		}
	}
	return nil
}
