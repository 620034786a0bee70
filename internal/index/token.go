package index

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Token is an API token's stored record. The secret itself is never stored,
// only its SHA-256 (migrations/0002_tokens.sql says why that is enough).
type Token struct {
	ID       int64
	UserID   int64
	UserName string
	// Projects, when not empty, are the only projects the token may upload
	// to; empty means every project its user may upload to.
	Projects   []Normalized
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: still valid
	ExpiresAt  time.Time // zero: never expires
}

// Revoked reports whether the token was revoked.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

const tokenCols = `t.id, t.user_id, u.name, t.projects, t.created_at, t.last_used_at, t.revoked_at, t.expires_at`

func scanToken(row pgx.Row) (Token, error) {
	var t Token
	var projects []string
	var used, revoked, expires *time.Time
	if err := row.Scan(&t.ID, &t.UserID, &t.UserName, &projects, &t.CreatedAt, &used, &revoked, &expires); err != nil {
		return Token{}, err
	}
	for _, p := range projects {
		t.Projects = append(t.Projects, Normalized(p))
	}
	if used != nil {
		t.LastUsedAt = *used
	}
	if revoked != nil {
		t.RevokedAt = *revoked
	}
	if expires != nil {
		t.ExpiresAt = *expires
	}
	return t, nil
}

// CreateToken records a new token for the named user, given the SHA-256 of
// its secret. projects limits it to those projects; they are normalised
// here, and need not exist yet (a token may be made for a project's first
// upload). An unknown user is ErrNotFound, an invalid project name ErrInvalid.
func (s *Store) CreateToken(ctx context.Context, userName string, secretSHA256 []byte, projects []string) (Token, error) {
	return s.CreateTokenUntil(ctx, userName, secretSHA256, projects, time.Time{})
}

// CreateTokenUntil is CreateToken for a token that expires at expires
// (zero: never).
func (s *Store) CreateTokenUntil(ctx context.Context, userName string, secretSHA256 []byte, projects []string, expires time.Time) (Token, error) {
	var until *time.Time
	if !expires.IsZero() {
		until = &expires
	}
	if len(secretSHA256) != 32 {
		return Token{}, fmt.Errorf("create token: secret hash must be 32 bytes, not %d", len(secretSHA256))
	}
	norm := make([]string, 0, len(projects))
	seen := map[Normalized]bool{}
	for _, p := range projects {
		if !ValidName(p) {
			return Token{}, Errorf(ErrInvalid, "%q is not a valid project name", p)
		}
		n := Normalize(p)
		if !seen[n] {
			seen[n] = true
			norm = append(norm, string(n))
		}
	}
	t, err := scanToken(s.pool.QueryRow(ctx, `WITH u AS (SELECT id, name FROM users WHERE name = $1),
		t AS (INSERT INTO api_tokens (user_id, secret_sha256, projects, expires_at)
			SELECT u.id, $2, $3, $4 FROM u RETURNING *)
		SELECT `+tokenCols+` FROM t JOIN u ON u.id = t.user_id`, userName, secretSHA256, norm, until))
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Token{}, Errorf(ErrNotFound, "no user %q", userName)
		}
		return Token{}, fmt.Errorf("create token for %q: %w", userName, translate(err))
	}
	return t, nil
}

// TokenBySecretHash returns the valid (not revoked, not expired, of a user
// not disabled) token with the given secret hash and its user, and records
// the use. An unknown, revoked or expired token is ErrNotFound: the caller
// must not tell them apart.
func (s *Store) TokenBySecretHash(ctx context.Context, secretSHA256 []byte) (User, Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `WITH t AS (UPDATE api_tokens SET last_used_at = now()
			WHERE secret_sha256 = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
				AND user_id IN (SELECT id FROM users WHERE disabled_at IS NULL) RETURNING *)
		SELECT `+tokenCols+` FROM t JOIN users u ON u.id = t.user_id`, secretSHA256))
	if err != nil {
		return User{}, Token{}, fmt.Errorf("token: %w", translate(err))
	}
	// The password hash is left out: whoever holds a token never needs it.
	return User{ID: t.UserID, Name: t.UserName}, t, nil
}

// Tokens lists the named user's tokens, revoked ones included, oldest first.
func (s *Store) Tokens(ctx context.Context, userName string) ([]Token, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE name = $1)`, userName).Scan(&exists); err != nil {
		return nil, fmt.Errorf("tokens of %q: %w", userName, translate(err))
	}
	if !exists {
		return nil, Errorf(ErrNotFound, "no user %q", userName)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE u.name = $1 ORDER BY t.id`, userName)
	return collectRows(fmt.Sprintf("tokens of %q", userName), rows, err, func(row pgx.CollectableRow) (Token, error) {
		return scanToken(row)
	})
}

// RevokeToken revokes the token with the given id for good. Revoking a
// revoked token changes nothing; an unknown id is ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, id int64) (Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `WITH t AS (UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
			WHERE id = $1 RETURNING *)
		SELECT `+tokenCols+` FROM t JOIN users u ON u.id = t.user_id`, id))
	if err != nil {
		err = translate(err)
		if errors.Is(err, ErrNotFound) {
			return Token{}, WrapErrorf(ErrNotFound, err, "no token with id %d", id)
		}
		return Token{}, fmt.Errorf("revoke token %d: %w", id, err)
	}
	return t, nil
}
