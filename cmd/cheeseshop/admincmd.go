package main

import (
	"context"
	"errors"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// adminCmd describes an administrative command: its name, synopsis and
// number of positional arguments, and its own flags, if any.
type adminCmd struct {
	name, synopsis   string
	minArgs, maxArgs int
	flags            func(fs *flagSet)
	// args, if set, checks the positional arguments before the database
	// is opened; errUsage makes it print the usage first.
	args func(pos []string) error
}

// parse parses the command's flags, the shared ones into c, and its
// positional arguments, and checks them all: everything a command does
// before it opens the database.
func (ac adminCmd) parse(e env, args []string, c *common) ([]string, error) {
	fs := newFlags(e, ac.name, ac.synopsis, c)
	if ac.flags != nil {
		ac.flags(fs)
	}
	pos, err := fs.parseInterspersed(args)
	if err != nil {
		return nil, err
	}
	if err := needArgs(fs, pos, ac.minArgs, ac.maxArgs); err != nil {
		return nil, err
	}
	if ac.args != nil {
		if err := ac.args(pos); err != nil {
			if errors.Is(err, errUsage) {
				fs.Usage()
			}
			return nil, err
		}
	}
	return pos, nil
}

// runStore parses an administrative command's arguments, opens the store
// (openStore) and calls fn with it, the shared flags and the positional
// arguments: the shape every command that works on the database alone
// shares.
func runStore(ctx context.Context, e env, args []string, ac adminCmd, fn func(store *index.Store, c *common, pos []string) error) error {
	var c common
	pos, err := ac.parse(e, args, &c)
	if err != nil {
		return err
	}
	store, _, done, err := openStore(ctx, e, &c)
	if err != nil {
		return err
	}
	defer done()
	return fn(store, &c, pos)
}
