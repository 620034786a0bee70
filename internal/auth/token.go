package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// TokenPrefix starts every API token, as on PyPI: secret scanners and users
// recognise it, and clients that strip or check it keep working.
const TokenPrefix = "pypi-"

// tokenBytes is the secret's entropy: 256 bits, so guessing is hopeless and
// a plain SHA-256 of it is a safe thing to store.
const tokenBytes = 32

// NewToken returns a new API token secret and the SHA-256 to store for it.
// The secret is shown to its owner once and never stored.
func NewToken() (secret string, hash []byte, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("token: %w", err)
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, TokenHash(secret), nil
}

// TokenHash returns the SHA-256 under which a token secret is stored, of
// the secret with surrounding white space removed (PyPI strips it too).
func TokenHash(secret string) []byte {
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	return sum[:]
}
