package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// *index.Store keeps the API tokens the authenticator checks.
var _ auth.Tokens = (*index.Store)(nil)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// needArgs checks the number of positional arguments against the synopsis.
func needArgs(fs *flagSet, pos []string, min, max int) error {
	if len(pos) < min || len(pos) > max {
		fs.Usage()
		return errUsage
	}
	return nil
}

func cmdTokenCreate(ctx context.Context, e env, args []string) error {
	var projects stringList
	var until time.Time
	ac := adminCmd{name: "token create", synopsis: "token create USER [--project NAME]... [--expires 90d|2026-12-31] [flags]", minArgs: 1, maxArgs: 1,
		flags: func(fs *flagSet) {
			var expires string
			fs.Var(&projects, "project", "limit the token to this project (repeatable); without it the token may upload wherever USER may")
			fs.StringVar(&expires, "expires", "", "the token stops working after this long (a duration: 720h, 90d) or at this date (2026-12-31, UTC) or time (RFC 3339); default never")
			fs.check(func() error {
				var err error
				until, err = parseExpiry(expires, time.Now())
				return err
			})
		}}
	return runStore(ctx, e, args, ac, func(store *index.Store, _ *common, pos []string) error {
		secret, hash, err := auth.NewToken()
		if err != nil {
			return err
		}
		tok, err := store.CreateTokenUntil(ctx, pos[0], hash, projects, until)
		if err != nil {
			return err
		}
		// The secret alone on stdout, so scripts can capture it; it is not
		// stored and cannot be shown again.
		fmt.Fprintln(e.stdout, secret)
		expiry := ""
		if !tok.ExpiresAt.IsZero() {
			expiry = "; expires " + when(tok.ExpiresAt)
		}
		fmt.Fprintf(e.stderr, "token %d created for user %s (%s)%s; use it as the password with user name __token__\n",
			tok.ID, tok.UserName, scope(tok), expiry)
		return nil
	})
}

func scope(t index.Token) string {
	if len(t.Projects) == 0 {
		return "all projects of the user"
	}
	names := make([]string, len(t.Projects))
	for i, p := range t.Projects {
		names[i] = string(p)
	}
	return "projects: " + strings.Join(names, ", ")
}

func cmdTokenList(ctx context.Context, e env, args []string) error {
	return runStore(ctx, e, args, adminCmd{name: "token list", synopsis: "token list USER [flags]", minArgs: 1, maxArgs: 1}, func(store *index.Store, _ *common, pos []string) error {
		tokens, err := store.Tokens(ctx, pos[0])
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tLAST USED\tREVOKED\tEXPIRES\tSCOPE")
		for _, t := range tokens {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, when(t.CreatedAt), when(t.LastUsedAt), when(t.RevokedAt), when(t.ExpiresAt), scope(t))
		}
		return tw.Flush()
	})
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func cmdTokenRevoke(ctx context.Context, e env, args []string) error {
	var id int64
	ac := adminCmd{name: "token revoke", synopsis: "token revoke ID [flags]", minArgs: 1, maxArgs: 1,
		args: func(pos []string) error {
			var err error
			if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil {
				return fmt.Errorf("token revoke: %q is not a token id (see `cheeseshop token list USER`)", pos[0])
			}
			return nil
		}}
	return runStore(ctx, e, args, ac, func(store *index.Store, _ *common, _ []string) error {
		tok, err := store.RevokeToken(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "token %d of user %s revoked\n", tok.ID, tok.UserName)
		return nil
	})
}

// parseExpiry reads --expires: empty (never), a duration from now ("720h";
// "90d" for days), a date (its start, UTC) or an RFC 3339 time. The result
// must be in the future.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	var t time.Time
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return time.Time{}, fmt.Errorf("--expires %q: a number of days must be a positive integer", s)
		}
		t = now.AddDate(0, 0, n)
	} else if d, err := time.ParseDuration(s); err == nil {
		t = now.Add(d)
	} else if d, err := time.Parse(time.DateOnly, s); err == nil {
		t = d
	} else if d, err := time.Parse(time.RFC3339, s); err == nil {
		t = d
	} else {
		return time.Time{}, fmt.Errorf("--expires %q: give a duration (720h, 90d), a date (2026-12-31) or an RFC 3339 time", s)
	}
	if !t.After(now) {
		return time.Time{}, fmt.Errorf("--expires %q is not in the future", s)
	}
	return t.UTC(), nil
}
