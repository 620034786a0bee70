package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/migrations"
)

// readyTimeout bounds one /readyz check: a probe must not hang on an
// unreachable database.
const readyTimeout = 2 * time.Second

// healthz answers 200 while the process serves HTTP: liveness, nothing else.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
}

// readyz answers 200 when the server can take uploads: the database answers,
// its schema is the one this binary needs, and the data directory takes a
// new file. Otherwise 503, with the first reason as the body.
func readyz(pool *pgxpool.Pool, dataDir string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if reason := notReady(r.Context(), pool, dataDir); reason != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, reason)
			return
		}
		fmt.Fprintln(w, "ready")
	}
}

func notReady(ctx context.Context, pool *pgxpool.Pool, dataDir string) string {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := pool.Ping(ctx); err != nil {
		return "database unreachable"
	}
	need, err := index.NeededVersion(migrations.FS)
	if err != nil {
		return "migrations unreadable"
	}
	have, err := index.SchemaVersion(ctx, pool)
	if err != nil {
		return "database schema unreadable"
	}
	if have != need {
		return fmt.Sprintf("database schema is at %d, this binary needs %d", have, need)
	}
	dir := datadir.New(dataDir)
	if err := os.MkdirAll(dir.Tmp(), 0o755); err != nil {
		return "data directory not writable"
	}
	f, err := os.CreateTemp(dir.Tmp(), ".readyz-*")
	if err != nil {
		return "data directory not writable"
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return "data directory not writable"
	}
	return ""
}
