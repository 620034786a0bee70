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

	"golang.org/x/sync/singleflight"

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

	gate      *gate         // bounds concurrent password checks (tokens never wait here)
	byUser    *limiter      // failed password attempts per user name
	byAddress *limiter      // … and per client address
	held      chan struct{} // slots of refusals held back (hold)
	flight    singleflight.Group

	mu    sync.Mutex
	cache map[[32]byte]cached // verified user+password → identity
}

type cached struct {
	id      Identity
	expires time.Time
}

// New returns an authenticator with the default limits. tokens may be nil.
func New(users Users, tokens Tokens) *Authenticator {
	return NewWithConfig(Config{}, users, tokens)
}

// NewWithConfig returns an authenticator with cfg's limits. tokens may be nil.
func NewWithConfig(cfg Config, users Users, tokens Tokens) *Authenticator {
	cfg = cfg.withDefaults()
	return &Authenticator{
		users:     users,
		tokens:    tokens,
		gate:      newGate(cfg),
		byUser:    newLimiter(cfg.UserFailures, cfg.FailureWindow),
		byAddress: newLimiter(cfg.AddressFailures, cfg.FailureWindow),
		held:      make(chan struct{}, maxHeld),
		cache:     map[[32]byte]cached{},
	}
}

// Stats reports the password checks running and waiting.
func (a *Authenticator) Stats() Stats {
	return Stats{Running: int(a.gate.running.Load()), Peak: int(a.gate.peak.Load()), Waiting: int(a.gate.waiting.Load())}
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
	// A NUL byte or invalid UTF-8 cannot be looked up (PostgreSQL refuses
	// such text): a clear 400, before the database or the limits see it.
	if err := index.CheckText("user name in the credentials", user); err != nil {
		return Identity{}, err
	}
	return a.password(ctx, user, pass, clientAddress(r))
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

// password checks a user name and password. An unknown name costs what a
// wrong password costs (a check against dummyHash, under the same limits),
// so neither the time of the answer nor the limits tell which names exist.
// An address over its limit is refused first, before the database is
// asked anything: a flood from one place costs little. Verified
// credentials are answered from the cache before the user name's limit: a
// flood of wrong passwords for a name does not lock out its user once
// authenticated. Identical checks running at once (a CI job uploading
// files in parallel before the first is cached) share one argon2id run.
func (a *Authenticator) password(ctx context.Context, name, pass, addr string) (Identity, error) {
	now := time.Now()
	if wait, ok := a.byAddress.allow(addr, now); !ok {
		a.hold(ctx, wait)
		return Identity{}, tooManyFailures(wait)
	}
	u, err := a.users.UserByName(ctx, name)
	known := err == nil
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return Identity{}, fmt.Errorf("user: %w", err)
	}
	hash := dummyHash
	if known {
		hash = u.PasswordHash
	}
	// The key includes the stored hash, so a password change invalidates it.
	key := sha256.Sum256([]byte(name + "\x00" + pass + "\x00" + hash))
	if known {
		a.mu.Lock()
		c, hit := a.cache[key]
		a.mu.Unlock()
		if hit && now.Before(c.expires) {
			return c.id, nil
		}
	}
	if wait, ok := a.byUser.allow(name, now); !ok {
		a.hold(ctx, wait)
		return Identity{}, tooManyFailures(wait)
	}
	// The check runs detached from this request: others may be waiting
	// for it. The queue's own bound (QueueWait) limits the wait.
	res, err, _ := a.flight.Do(string(key[:]), func() (any, error) {
		var match bool
		var checkErr error
		if err := a.gate.run(context.WithoutCancel(ctx), func() { match, checkErr = CheckPassword(hash, pass) }); err != nil {
			return false, err
		}
		return match, checkErr
	})
	if errors.Is(err, index.ErrRateLimited) {
		return Identity{}, err // nothing was checked: not the client's failure
	}
	if err != nil {
		return Identity{}, fmt.Errorf("user %q: %w", name, err)
	}
	if !known || !res.(bool) {
		a.byUser.fail(name, now)
		a.byAddress.fail(addr, now)
		return Identity{}, index.Errorf(index.ErrForbidden, "%s", msgInvalidAuth)
	}
	a.byUser.reset(name)
	id := Identity{UserID: u.ID, UserName: u.Name}
	a.mu.Lock()
	if len(a.cache) >= cacheMax {
		clear(a.cache)
	}
	a.cache[key] = cached{id: id, expires: now.Add(cacheTTL)}
	a.mu.Unlock()
	return id, nil
}

// tooManyFailures is PyPI's answer to a locked-out login, with the wait.
func tooManyFailures(wait time.Duration) error {
	secs := max(1, int((wait+time.Second-1)/time.Second))
	return index.RetryAfter(index.Errorf(index.ErrRateLimited, "There have been too many unsuccessful login attempts. Try again in %d seconds.", secs), wait)
}
