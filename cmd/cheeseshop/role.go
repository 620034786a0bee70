package main

import (
	"context"
	"fmt"
)

func init() {
	register("role add", command{summary: "give a user the owner or maintainer role on a project", run: cmdRoleAdd})
	register("role remove", command{summary: "take a user's role on a project away", run: cmdRoleRemove})
}

func cmdRoleAdd(ctx context.Context, e env, args []string) error {
	var c common
	fs := newFlags(e, "role add", "role add PROJECT USER owner|maintainer [flags]", &c)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if err := needArgs(fs, pos, 3, 3); err != nil {
		return err
	}
	svc, done, err := openManage(ctx, e, &c)
	if err != nil {
		return err
	}
	defer done()
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
}

func cmdRoleRemove(ctx context.Context, e env, args []string) error {
	var c common
	fs := newFlags(e, "role remove", "role remove PROJECT USER [flags]", &c)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if err := needArgs(fs, pos, 2, 2); err != nil {
		return err
	}
	svc, done, err := openManage(ctx, e, &c)
	if err != nil {
		return err
	}
	defer done()
	ch, err := svc.RemoveRole(ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s has no role on %s any more\n", pos[1], ch.Project.Name)
	return nil
}
