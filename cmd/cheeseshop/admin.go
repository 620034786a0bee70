package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

func cmdMigrate(ctx context.Context, e env, args []string) error {
	var c common
	var create, adopt bool
	fs := newFlags(e, "migrate", "migrate [flags]", &c)
	fs.BoolVar(&create, "create-database", false, "create the database when it does not exist")
	fs.BoolVar(&adopt, "adopt-data-dir", false, "make --data-dir this index's data directory, whatever was recorded before (after restoring a database older than its data directory)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate: unexpected arguments %q", fs.Args())
	}
	pool, err := c.openDB(ctx, create)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrate(ctx, pool, c.log); err != nil {
		return err
	}
	// With a data directory, migrate records it as serve would.
	switch store := index.NewStore(pool); {
	case adopt:
		if err := c.adoptDataDir(ctx, store); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s is now the data directory of this index\n", c.dataDir)
	case c.dataDir != "":
		return c.resolveDataDir(ctx, store, dirClaim)
	}
	return nil
}

func cmdUserAdd(ctx context.Context, e env, args []string) error {
	var stdin, update bool
	var hash string
	ac := adminCmd{name: "user add", synopsis: "user add NAME --password-stdin [flags]", minArgs: 1, maxArgs: 1,
		flags: func(fs *flagSet) {
			fs.BoolVar(&stdin, "password-stdin", false, "read the password from the first line of standard input (required)")
			fs.BoolVar(&update, "update", false, "set the password of an existing user instead of failing")
		},
		args: func(pos []string) (err error) {
			if !stdin {
				return fmt.Errorf("user add: need NAME and --password-stdin")
			}
			if name := pos[0]; strings.ContainsAny(name, ":\x00\r\n") || name == "__token__" {
				return fmt.Errorf("user add: %q is not a usable user name", name)
			}
			hash, err = readPasswordHash(e.stdin, "user add")
			return err
		}}
	return runStore(ctx, e, args, ac, func(store *index.Store, _ *common, pos []string) error {
		name := pos[0]
		if update {
			if err := store.SetPassword(ctx, name, hash); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "password of user %s updated\n", name)
			return nil
		}
		if _, err := store.CreateUser(ctx, name, hash); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %s added\n", name)
		return nil
	})
}

// splitName takes a leading positional NAME off args, so that both
// "user add NAME --flags" and "user add --flags NAME" work.
func splitName(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}
