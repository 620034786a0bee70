package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// cli runs the program in-process against one database and data directory.
type cli struct {
	t       *testing.T
	dbURL   string
	dataDir string
}

func (c cli) run(stdin string, args ...string) (stdout string, err error) {
	c.t.Helper()
	env := map[string]string{
		"CHEESESHOP_DATABASE_URL": c.dbURL,
		"CHEESESHOP_DATA_DIR":     c.dataDir,
		"CHEESESHOP_LOG_FORMAT":   "text",
		"CHEESESHOP_LOG_LEVEL":    "warn",
	}
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errOut)
	if err != nil {
		c.t.Logf("cheeseshop %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), err
}

// TestSecretsNotStoredInClear creates a user and a token through the
// command line, then reads every row of every table: neither the password
// nor the token (nor the token's random bytes, in any common encoding) may
// appear; only an argon2id hash and a SHA-256 are stored.
func TestSecretsNotStoredInClear(t *testing.T) {
	t.Parallel()
	c := cli{t: t, dbURL: indextest.NewDBURL(t), dataDir: t.TempDir()}
	const password = "correct-horse-battery-staple"
	if _, err := c.run(password+"\n", "user", "add", "alice", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	out, err := c.run("", "token", "create", "alice", "--project", "Demo_Pkg")
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSuffix(out, "\n")
	if !regexp.MustCompile(`^pypi-[A-Za-z0-9_-]{43}$`).MatchString(secret) {
		t.Fatalf("token create printed %q, want the token alone", out)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, "pypi-"))
	if err != nil || len(raw) != 32 {
		t.Fatalf("token body: %v, %d bytes", err, len(raw))
	}
	list, err := c.run("", "token", "list", "alice")
	if err != nil || !strings.Contains(list, "projects: demo-pkg") || strings.Contains(list, secret[5:15]) {
		t.Fatalf("token list:\n%s", list)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var hash string
	var stored []byte
	if err := conn.QueryRow(ctx, `SELECT password_hash FROM users WHERE name = 'alice'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$") {
		t.Fatalf("password_hash %q is not an argon2id hash", hash)
	}
	if err := conn.QueryRow(ctx, `SELECT secret_sha256 FROM api_tokens`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(secret)); !bytes.Equal(stored, sum[:]) {
		t.Fatalf("secret_sha256 = %x, want the SHA-256 of the token", stored)
	}

	forbidden := []string{password, secret, secret[5:], hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw)}
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		var dump string
		q := `SELECT coalesce(string_agg(t::text, E'\n'), '') FROM ` + pgx.Identifier{table}.Sanitize() + ` t`
		if err := conn.QueryRow(ctx, q).Scan(&dump); err != nil {
			t.Fatal(err)
		}
		for _, s := range forbidden {
			if strings.Contains(strings.ToLower(dump), strings.ToLower(s)) {
				t.Errorf("table %s holds a secret in clear text", table)
			}
		}
	}

	if _, err := c.run("", "token", "revoke", "1"); err != nil {
		t.Fatal(err)
	}
	list, err = c.run("", "token", "list", "alice")
	lines := strings.Split(list, "\n")
	if err != nil || len(lines) != 3 || len(strings.Fields(lines[1])) < 4 || strings.Fields(lines[1])[3] == "-" {
		t.Fatalf("token list after revoke does not show the revocation:\n%s", list)
	}
	if _, err := c.run("", "token", "revoke", "x"); err == nil {
		t.Fatal("token revoke x succeeded")
	}
	if _, err := c.run("", "token", "create", "nobody"); err == nil {
		t.Fatal("token for an unknown user succeeded")
	}
}
