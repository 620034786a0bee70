package main

import (
	"context"
	"fmt"

	"github.com/cheeseshop/cheeseshop/internal/manage"
)

func cmdRoleAdd(ctx context.Context, e env, args []string) error {
	return runManage(ctx, e, args, adminCmd{name: "role add", synopsis: "role add PROJECT USER owner|maintainer [flags]", minArgs: 3, maxArgs: 3},
		func(svc *manage.Service, pos []string) error {
			ch, err := svc.AddRole(ctx, pos[0], pos[1], pos[2])
			if err != nil {
				return err
			}
			if !ch.Changed {
				fmt.Fprintf(e.stdout, "%s is already %s of %s\n", pos[1], pos[2], ch.Project.Name)
				return nil
			}
			fmt.Fprintf(e.stdout, "%s is now %s of %s\n", pos[1], pos[2], ch.Project.Name)
			return nil
		})
}

func cmdRoleRemove(ctx context.Context, e env, args []string) error {
	return runManage(ctx, e, args, adminCmd{name: "role remove", synopsis: "role remove PROJECT USER [flags]", minArgs: 2, maxArgs: 2},
		func(svc *manage.Service, pos []string) error {
			ch, err := svc.RemoveRole(ctx, pos[0], pos[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s has no role on %s any more\n", pos[1], ch.Project.Name)
			return nil
		})
}
