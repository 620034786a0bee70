package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/manage"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// newManage returns the service that makes a change and rewrites the
// project's pages in the data directory before it returns, as serve would,
// after checking the data directory against the database's record.
func newManage(ctx context.Context, c *common, store *index.Store) (*manage.Service, error) {
	if err := c.resolveDataDir(ctx, store, dirWrite); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	pages := staticgen.New(staticgen.Config{DataDir: c.dataDir}, store, c.log)
	return manage.New(manage.Config{DataDir: c.dataDir}, store, pages, c.log)
}

// runManageStore is runStore for commands that change a project through
// manage.Service: fn gets the service, and the store for what a command
// reads directly (policies, project names).
func runManageStore(ctx context.Context, e env, args []string, ac adminCmd, fn func(svc *manage.Service, store *index.Store, pos []string) error) error {
	return runStore(ctx, e, args, ac, func(store *index.Store, c *common, pos []string) error {
		svc, err := newManage(ctx, c, store)
		if err != nil {
			return err
		}
		return fn(svc, store, pos)
	})
}

// runManage is runManageStore for commands that need only the service.
func runManage(ctx context.Context, e env, args []string, ac adminCmd, fn func(svc *manage.Service, pos []string) error) error {
	return runManageStore(ctx, e, args, ac, func(svc *manage.Service, _ *index.Store, pos []string) error {
		return fn(svc, pos)
	})
}

func cmdYank(ctx context.Context, e env, args []string) error {
	var reason string
	mc := adminCmd{name: "yank", synopsis: "yank PROJECT VERSION [--reason TEXT] [flags]", minArgs: 2, maxArgs: 2,
		flags: func(fs *flagSet) {
			fs.StringVar(&reason, "reason", "", "why the release is yanked; installers show it")
		}}
	return runRelease(ctx, e, args, mc, "yanked", func(svc *manage.Service, project, version string) (index.Change, error) {
		return svc.Yank(ctx, project, version, reason, "")
	})
}

func cmdUnyank(ctx context.Context, e env, args []string) error {
	mc := adminCmd{name: "unyank", synopsis: "unyank PROJECT VERSION [flags]", minArgs: 2, maxArgs: 2}
	return runRelease(ctx, e, args, mc, "unyanked", func(svc *manage.Service, project, version string) (index.Change, error) {
		return svc.Unyank(ctx, project, version, "")
	})
}

// runRelease is runManage for the commands that change one release
// (PROJECT VERSION) and say what they did with report.
func runRelease(ctx context.Context, e env, args []string, ac adminCmd, what string, change func(svc *manage.Service, project, version string) (index.Change, error)) error {
	return runManage(ctx, e, args, ac, func(svc *manage.Service, pos []string) error {
		ch, err := change(svc, pos[0], pos[1])
		if err != nil {
			return err
		}
		report(e, ch, what, pos[1])
		return nil
	})
}

func cmdDelete(ctx context.Context, e env, args []string) error {
	mc := adminCmd{name: "delete", synopsis: "delete PROJECT VERSION [FILENAME] [flags]", minArgs: 2, maxArgs: 3}
	return runManage(ctx, e, args, mc, func(svc *manage.Service, pos []string) error {
		var filename string
		if len(pos) == 3 {
			filename = pos[2]
		}
		ch, err := svc.Delete(ctx, pos[0], pos[1], filename, "")
		if err != nil {
			return err
		}
		for _, f := range ch.Removed {
			fmt.Fprintf(e.stdout, "deleted %s\n", f.Filename)
		}
		if filename == "" {
			report(e, ch, "deleted", pos[1])
		}
		return nil
	})
}

// report says what a command did, or that there was nothing to do.
func report(e env, ch index.Change, what, version string) {
	if !ch.Changed {
		fmt.Fprintf(e.stdout, "%s %s: unchanged (already %s)\n", ch.Project.Name, version, what)
		return
	}
	fmt.Fprintf(e.stdout, "%s %s %s (serial %d)\n", what, ch.Project.Name, version, ch.Project.LastSerial)
}
