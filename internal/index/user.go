package index

import (
	"context"
	"errors"
	"fmt"
)

// User is an account that can upload.
type User struct {
	ID           int64
	Name         string
	PasswordHash string
}

// CreateUser adds a user with an already hashed password. A taken name is ErrExists.
func (s *Store) CreateUser(ctx context.Context, name, passwordHash string) (User, error) {
	u := User{Name: name, PasswordHash: passwordHash}
	err := s.pool.QueryRow(ctx, `INSERT INTO users (name, password_hash) VALUES ($1, $2) RETURNING id`, name, passwordHash).Scan(&u.ID)
	if err != nil {
		err = translate(err)
		if errors.Is(err, ErrExists) {
			return User{}, WrapErrorf(ErrExists, err, "user %s already exists", name)
		}
		return User{}, fmt.Errorf("create user %q: %w", name, err)
	}
	return u, nil
}

// SetPassword replaces a user's password hash.
func (s *Store) SetPassword(ctx context.Context, name, passwordHash string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE name = $1`, name, passwordHash)
	if err != nil {
		return fmt.Errorf("set password %q: %w", name, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return Errorf(ErrNotFound, "no user %q", name)
	}
	return nil
}

// UserByName returns the named user, if it may authenticate: a disabled
// user is ErrNotFound, as an unknown one.
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	var u User
	err := s.pool.QueryRow(ctx, `SELECT id, name, password_hash FROM users WHERE name = $1 AND disabled_at IS NULL`, name).Scan(&u.ID, &u.Name, &u.PasswordHash)
	if err != nil {
		return User{}, fmt.Errorf("user %q: %w", name, translate(err))
	}
	return u, nil
}
