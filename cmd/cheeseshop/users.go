package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

func cmdUserList(ctx context.Context, e env, args []string) error {
	return runStore(ctx, e, args, adminCmd{name: "user list", synopsis: "user list [flags]"}, func(store *index.Store, _ *common, _ []string) error {
		users, err := store.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tDISABLED\tTOKENS\tPROJECTS")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", u.Name, when(u.CreatedAt), when(u.DisabledAt), u.Tokens, u.Projects)
		}
		return tw.Flush()
	})
}

// readPasswordHash reads the password from the first line of stdin and
// returns its hash, as user add and user passwd store it.
func readPasswordHash(r io.Reader, cmd string) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("%s: read the password from stdin: %w", cmd, err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", fmt.Errorf("%s: empty password", cmd)
	}
	return auth.HashPassword(password)
}

func cmdUserPasswd(ctx context.Context, e env, args []string) error {
	var hash string
	ac := adminCmd{name: "user passwd", synopsis: "user passwd NAME [flags] < new-password", minArgs: 1, maxArgs: 1,
		args: func([]string) (err error) {
			hash, err = readPasswordHash(e.stdin, "user passwd")
			return err
		}}
	return runStore(ctx, e, args, ac, func(store *index.Store, _ *common, pos []string) error {
		if err := store.SetPassword(ctx, pos[0], hash); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "password of user %s changed\n", pos[0])
		return nil
	})
}

func cmdUserDisable(ctx context.Context, e env, args []string) error {
	return setDisabled(ctx, e, args, "user disable", true)
}

func cmdUserEnable(ctx context.Context, e env, args []string) error {
	return setDisabled(ctx, e, args, "user enable", false)
}

func setDisabled(ctx context.Context, e env, args []string, name string, disabled bool) error {
	return runStore(ctx, e, args, adminCmd{name: name, synopsis: name + " NAME [flags]", minArgs: 1, maxArgs: 1}, func(store *index.Store, _ *common, pos []string) error {
		changed, err := store.SetUserDisabled(ctx, pos[0], disabled)
		if err != nil {
			return err
		}
		state := "disabled: neither its password nor its tokens authenticate; its roles and files stay"
		if !disabled {
			state = "enabled"
		}
		if !changed {
			fmt.Fprintf(e.stdout, "user %s was already %s\n", pos[0], strings.SplitN(state, ":", 2)[0])
			return nil
		}
		fmt.Fprintf(e.stdout, "user %s %s\n", pos[0], state)
		return nil
	})
}

// version is the program's version line: the module version and the VCS
// revision it was built from, as the Go toolchain recorded them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "cheeseshop (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	out := "cheeseshop " + v
	if rev != "" {
		out += fmt.Sprintf(" (revision %s%s, %s)", rev, modified, at)
	}
	return out + " " + bi.GoVersion
}
