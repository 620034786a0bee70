// Package auth checks upload credentials: HTTP Basic with a user name and
// password (argon2id hashes, PHC string format) or "__token__" and an API token.
//
// It owns password hashing, the short-lived cache of verified credentials
// that keeps argon2id's deliberate cost off the upload hot path, and the
// limits on that cost (limit.go): a bounded number of concurrent checks
// behind a short queue, and slowed repeated failures per user name and per
// client address. Tokens cost a SHA-256 and never wait behind passwords. It
// may import index (for the sentinel errors and users) and nothing else
// internal; it knows nothing about HTTP beyond parsing the Authorization
// header and the client's address.
package auth
