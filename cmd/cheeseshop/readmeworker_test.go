package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
	"github.com/cheeseshop/cheeseshop/internal/readme"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// TestReadmeWorker: the READMEs a stopped server left pending are
// rendered when the worker starts, and one queued later too; each is
// stored with the renderer's version and shown by the project's and the
// release's pages.
func TestReadmeWorker(t *testing.T) {
	t.Parallel()
	pool, _ := indextest.NewDB(t)
	store := index.NewStore(pool)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := store.CreateUser(ctx, "alice", "unused")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	pages := staticgen.New(staticgen.Config{DataDir: dataDir, DeferSync: true}, store, nil)
	defer pages.Close()
	register := func(version, description string) {
		t.Helper()
		v, err := index.ParseVersion(version)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.RegisterRelease(ctx, index.NewRelease{Project: "demo", Version: v, Registrant: u.ID,
			Metadata: index.Metadata{Name: "demo", Version: version, Description: description, DescriptionContentType: "text/markdown"},
			Readme:   index.Readme{Version: index.ReadmePending}}); err != nil {
			t.Fatal(err)
		}
		if err := pages.RegenerateProject(ctx, "demo"); err != nil {
			t.Fatal(err)
		}
	}
	register("1.0", "# Left pending\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")

	w := newReadmeWorker(store, pages, slog.New(slog.DiscardHandler))
	idle := make(chan struct{}, 1)
	w.idle = func() {
		select {
		case idle <- struct{}{}:
		default:
		}
	}
	done := make(chan error, 1)
	wctx, stop := context.WithCancel(ctx)
	go func() { done <- w.Run(wctx) }()
	waitIdle := func() {
		t.Helper()
		select {
		case <-idle:
		case <-ctx.Done():
			t.Fatal("the worker did not finish")
		}
	}
	waitIdle()
	dir := datadir.New(dataDir)
	if page := readFile(t, dir.WebReleasePage("demo", "1.0")); !strings.Contains(page, `<h1 id="user-content-left-pending">Left pending</h1>`) || !strings.Contains(page, "<td>1</td>") {
		t.Errorf("release page without the README left pending:\n%s", page)
	}

	register("2.0", "# Queued")
	w.Queue("demo")
	waitIdle()
	if page := readFile(t, dir.WebProjectPage("demo")); !strings.Contains(page, `<h1 id="user-content-queued">Queued</h1>`) {
		t.Errorf("project page without the queued README:\n%s", page)
	}
	if page := readFile(t, dir.WebReleasePage("demo", "2.0")); !strings.Contains(page, `<h1 id="user-content-queued">Queued</h1>`) {
		t.Errorf("release page without the queued README:\n%s", page)
	}
	var versions string
	if err := pool.QueryRow(ctx, `SELECT string_agg(description_html_version::text, ',' ORDER BY id) FROM releases`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d,%d", readme.Version, readme.Version); versions != want {
		t.Errorf("README versions %s, want %s", versions, want)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
