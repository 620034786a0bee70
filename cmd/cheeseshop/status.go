package main

import (
	"context"
	"fmt"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/manage"
)

// cmdProjectStatus sets a project's PEP 792 status; the pages show it when
// the command returns.
func cmdProjectStatus(ctx context.Context, e env, args []string) error {
	var reason string
	var st index.Status
	mc := adminCmd{name: "project status", synopsis: "project status PROJECT active|archived|deprecated|quarantined [--reason TEXT] [flags]",
		minArgs: 2, maxArgs: 2,
		flags: func(fs *flagSet) {
			fs.StringVar(&reason, "reason", "", "why; shown on the pages as pypi:project-status-reason")
		},
		args: func(pos []string) (err error) {
			st, err = index.ParseStatus(pos[1])
			return err
		}}
	return runManage(ctx, e, args, mc, func(svc *manage.Service, pos []string) error {
		sc, err := svc.SetStatus(ctx, pos[0], st, reason, "")
		if err != nil {
			return err
		}
		if !sc.Changed {
			fmt.Fprintf(e.stdout, "%s: unchanged (already %s)\n", sc.Project.Name, st)
			return nil
		}
		fmt.Fprintf(e.stdout, "%s is now %s (was %s, serial %d)\n", sc.Project.Name, st, sc.Previous, sc.Project.LastSerial)
		return nil
	})
}
