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
	var c common
	var projects stringList
	fs := newFlags(e, "token create", "token create USER [--project NAME]... [flags]", &c)
	fs.Var(&projects, "project", "limit the token to this project (repeatable); without it the token may upload wherever USER may")
	pos, err := fs.parseInterspersed(args)
	if err != nil {
		return err
	}
	if err := needArgs(fs, pos, 1, 1); err != nil {
		return err
	}
	secret, hash, err := auth.NewToken()
	if err != nil {
		return err
	}
	store, _, done, err := openStore(ctx, e, &c)
	if err != nil {
		return err
	}
	defer done()
	tok, err := store.CreateToken(ctx, pos[0], hash, projects)
	if err != nil {
		return err
	}
	// The secret alone on stdout, so scripts can capture it; it is not
	// stored and cannot be shown again.
	fmt.Fprintln(e.stdout, secret)
	fmt.Fprintf(e.stderr, "token %d created for user %s (%s); use it as the password with user name __token__\n",
		tok.ID, tok.UserName, scope(tok))
	return nil
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
	var c common
	fs := newFlags(e, "token list", "token list USER [flags]", &c)
	pos, err := fs.parseInterspersed(args)
	if err != nil {
		return err
	}
	if err := needArgs(fs, pos, 1, 1); err != nil {
		return err
	}
	store, _, done, err := openStore(ctx, e, &c)
	if err != nil {
		return err
	}
	defer done()
	tokens, err := store.Tokens(ctx, pos[0])
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tLAST USED\tREVOKED\tSCOPE")
	for _, t := range tokens {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, when(t.CreatedAt), when(t.LastUsedAt), when(t.RevokedAt), scope(t))
	}
	return tw.Flush()
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func cmdTokenRevoke(ctx context.Context, e env, args []string) error {
	var c common
	fs := newFlags(e, "token revoke", "token revoke ID [flags]", &c)
	pos, err := fs.parseInterspersed(args)
	if err != nil {
		return err
	}
	if err := needArgs(fs, pos, 1, 1); err != nil {
		return err
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return fmt.Errorf("token revoke: %q is not a token id (see `cheeseshop token list USER`)", pos[0])
	}
	store, _, done, err := openStore(ctx, e, &c)
	if err != nil {
		return err
	}
	defer done()
	tok, err := store.RevokeToken(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "token %d of user %s revoked\n", tok.ID, tok.UserName)
	return nil
}
