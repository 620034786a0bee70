package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Identity is who an upload comes from.
type Identity struct {
	UserID   int64
	UserName string
	// Token is set when the credentials were an API token; its Projects, when
	// not empty, are the only (normalised) projects it may upload to.
	Token *Token
}

// Token is an API token's stored record (the secret itself is never stored).
// It is index's type, so that *index.Store satisfies Tokens directly.
type Token = index.Token

// Users is what the authenticator needs from the store.
type Users interface {
	UserByName(ctx context.Context, name string) (index.User, error)
}

// Tokens looks up an API token by the SHA-256 of its secret. A store that
// keeps no tokens may leave it nil.
type Tokens interface {
	TokenBySecretHash(ctx context.Context, hash []byte) (index.User, Token, error)
}

// Messages PyPI uses; clients print them.
const (
	msgInvalidAuth = "Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information."
	cacheTTL       = 5 * time.Minute
	cacheMax       = 10000
)

// Authenticator checks Basic credentials against users and tokens.
type Authenticator struct {
	users  Users
	tokens Tokens

	mu    sync.Mutex
	cache map[[32]byte]cached // verified user+password → identity
}

type cached struct {
	id      Identity
	expires time.Time
}

// New returns an authenticator. tokens may be nil.
func New(users Users, tokens Tokens) *Authenticator {
	return &Authenticator{users: users, tokens: tokens, cache: map[[32]byte]cached{}}
}

// Authenticate returns the identity behind r's Authorization header: no header
// is index.ErrUnauthenticated (the caller answers 401 with a challenge, which
// distutils' register needs), wrong credentials index.ErrForbidden.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (Identity, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		h := r.Header.Get("Authorization")
		if scheme, tok, found := strings.Cut(h, " "); found && (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "Token")) {
			user, pass, ok = "__token__", tok, true
		}
	}
	if !ok {
		return Identity{}, index.Errorf(index.ErrUnauthenticated, "No credentials supplied.")
	}
	if user == "__token__" {
		return a.token(ctx, strings.TrimSpace(pass))
	}
	return a.password(ctx, user, pass)
}

func (a *Authenticator) token(ctx context.Context, secret string) (Identity, error) {
	if a.tokens == nil || secret == "" {
		return Identity{}, index.Errorf(index.ErrForbidden, "%s", msgInvalidAuth)
	}
	sum := sha256.Sum256([]byte(secret))
	u, tok, err := a.tokens.TokenBySecretHash(ctx, sum[:])
	if errors.Is(err, index.ErrNotFound) {
		return Identity{}, index.Errorf(index.ErrForbidden, "%s", msgInvalidAuth)
	}
	if err != nil {
		return Identity{}, fmt.Errorf("token: %w", err)
	}
	return Identity{UserID: u.ID, UserName: u.Name, Token: &tok}, nil
}

func (a *Authenticator) password(ctx context.Context, name, pass string) (Identity, error) {
	u, err := a.users.UserByName(ctx, name)
	if errors.Is(err, index.ErrNotFound) {
		return Identity{}, index.Errorf(index.ErrForbidden, "%s", msgInvalidAuth)
	}
	if err != nil {
		return Identity{}, fmt.Errorf("user: %w", err)
	}
	// The key includes the stored hash, so a password change invalidates it.
	key := sha256.Sum256([]byte(name + "\x00" + pass + "\x00" + u.PasswordHash))
	now := time.Now()
	a.mu.Lock()
	c, hit := a.cache[key]
	a.mu.Unlock()
	if hit && now.Before(c.expires) {
		return c.id, nil
	}
	ok, err := CheckPassword(u.PasswordHash, pass)
	if err != nil {
		return Identity{}, fmt.Errorf("user %q: %w", name, err)
	}
	if !ok {
		return Identity{}, index.Errorf(index.ErrForbidden, "%s", msgInvalidAuth)
	}
	id := Identity{UserID: u.ID, UserName: u.Name}
	a.mu.Lock()
	if len(a.cache) >= cacheMax {
		clear(a.cache)
	}
	a.cache[key] = cached{id: id, expires: now.Add(cacheTTL)}
	a.mu.Unlock()
	return id, nil
}
