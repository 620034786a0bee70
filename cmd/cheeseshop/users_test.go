package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// TestUserCommands: user list, passwd, disable and enable, token create
// --expires, and that a disabled user's password and tokens, and an
// expired token, no longer authenticate.
func TestUserCommands(t *testing.T) {
	t.Parallel()
	url := indextest.NewDBURL(t)
	env := map[string]string{"CHEESESHOP_DATABASE_URL": url}
	run := func(stdin string, args ...string) string {
		t.Helper()
		out, msg := runText(env, stdin, args...)
		if msg != "" {
			t.Fatalf("cheeseshop %s: %s", strings.Join(args, " "), msg)
		}
		return out
	}
	run("old-secret\n", "user", "add", "dora", "--password-stdin")
	secret := strings.TrimSpace(run("", "token", "create", "dora", "--expires", "30d"))
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := index.NewStore(pool)
	ctx := context.Background()
	hash := sha256.Sum256([]byte(secret))
	_, tok, err := store.TokenBySecretHash(ctx, hash[:])
	if err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	if d := time.Until(tok.ExpiresAt); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Fatalf("token expires at %v", tok.ExpiresAt)
	}
	if out := run("", "token", "list", "dora"); !strings.Contains(out, "EXPIRES") || !strings.Contains(out, tok.ExpiresAt.Format("2006-01-02")) {
		t.Fatalf("token list:\n%s", out)
	}
	if out := run("", "user", "list"); !strings.Contains(out, "dora") || !strings.Contains(out, "NAME") {
		t.Fatalf("user list:\n%s", out)
	}

	before, err := store.UserByName(ctx, "dora")
	if err != nil {
		t.Fatal(err)
	}
	if out := run("new-secret\n", "user", "passwd", "dora"); !strings.Contains(out, "password of user dora changed") {
		t.Fatalf("user passwd: %s", out)
	}
	after, _ := store.UserByName(ctx, "dora")
	if after.PasswordHash == before.PasswordHash {
		t.Fatal("user passwd did not change the hash")
	}

	run("", "user", "disable", "dora")
	if _, err := store.UserByName(ctx, "dora"); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("a disabled user is found for authentication: %v", err)
	}
	if _, _, err := store.TokenBySecretHash(ctx, hash[:]); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("a disabled user's token authenticates: %v", err)
	}
	if out := run("", "user", "list"); strings.Count(out, time.Now().UTC().Format("2006-01-02")) < 2 {
		t.Fatalf("user list of a disabled user:\n%s", out)
	}
	if out := run("", "user", "disable", "dora"); !strings.Contains(out, "already disabled") {
		t.Fatalf("disable twice: %s", out)
	}
	run("", "user", "enable", "dora")
	if _, _, err := store.TokenBySecretHash(ctx, hash[:]); err != nil {
		t.Fatalf("token after enable: %v", err)
	}
	if _, msg := runText(env, "", "user", "disable", "nobody"); !strings.Contains(msg, `no user "nobody"`) {
		t.Fatalf("disable of an unknown user: %q", msg)
	}

	// An expired token is refused.
	if _, err := pool.Exec(ctx, `UPDATE api_tokens SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.TokenBySecretHash(ctx, hash[:]); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("an expired token authenticates: %v", err)
	}
	for _, bad := range []string{"yesterday", "-5d", "2001-01-01"} {
		if _, msg := runText(env, "", "token", "create", "dora", "--expires", bad); !strings.Contains(msg, "--expires") {
			t.Errorf("--expires %s: %q", bad, msg)
		}
	}
}

// TestVersionAndGroupHelp: --version names the module version; every group
// word answers --help with its commands.
func TestVersionAndGroupHelp(t *testing.T) {
	t.Parallel()
	out, msg := runText(nil, "", "--version")
	if msg != "" || !strings.HasPrefix(out, "cheeseshop ") {
		t.Fatalf("--version: %q %q", out, msg)
	}
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(words) < 2 {
			continue
		}
		out, msg := runText(nil, "", words[0], "--help")
		if msg != "" || !strings.Contains(out, c.name) {
			t.Errorf("%s --help: %q %q", words[0], out, msg)
		}
	}
}
