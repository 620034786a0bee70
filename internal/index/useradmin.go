package index

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// UserInfo is what `cheeseshop user list` shows of a user.
type UserInfo struct {
	Name       string
	CreatedAt  time.Time
	DisabledAt time.Time // zero: may authenticate
	Tokens     int       // valid API tokens
	Projects   int       // projects the user has a role on
}

// ListUsers returns every user, by name.
func (s *Store) ListUsers(ctx context.Context) ([]UserInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT u.name, u.created_at, u.disabled_at,
			(SELECT count(*) FROM api_tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL
				AND (t.expires_at IS NULL OR t.expires_at > now())),
			(SELECT count(*) FROM roles r WHERE r.user_id = u.id)
		FROM users u ORDER BY u.name`)
	return collectRows("list users", rows, err, func(row pgx.CollectableRow) (UserInfo, error) {
		var u UserInfo
		var disabled *time.Time
		err := row.Scan(&u.Name, &u.CreatedAt, &disabled, &u.Tokens, &u.Projects)
		if disabled != nil {
			u.DisabledAt = *disabled
		}
		return u, err
	})
}

// SetUserDisabled disables a user (neither its password nor its tokens
// authenticate any more; its roles and uploads stay) or enables it again.
// It reports whether anything changed; an unknown user is ErrNotFound.
func (s *Store) SetUserDisabled(ctx context.Context, name string, disabled bool) (bool, error) {
	q := `UPDATE users SET disabled_at = now() WHERE name = $1 AND disabled_at IS NULL`
	if !disabled {
		q = `UPDATE users SET disabled_at = NULL WHERE name = $1 AND disabled_at IS NOT NULL`
	}
	tag, err := s.pool.Exec(ctx, q, name)
	if err != nil {
		return false, fmt.Errorf("disable user %q: %w", name, translate(err))
	}
	if tag.RowsAffected() > 0 {
		return true, nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE name = $1)`, name).Scan(&exists); err != nil {
		return false, fmt.Errorf("disable user %q: %w", name, translate(err))
	}
	if !exists {
		return false, Errorf(ErrNotFound, "no user %q", name)
	}
	return false, nil
}
