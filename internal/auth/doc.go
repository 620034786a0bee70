// Package auth checks upload credentials: HTTP Basic with a user name and
// password (argon2id hashes, PHC string format) or "__token__" and an API token.
//
// It owns password hashing and the short-lived cache of verified credentials
// that keeps argon2id's deliberate cost off the upload hot path. It may import
// index (for the sentinel errors and users) and nothing else internal; it
// knows nothing about HTTP beyond parsing the Authorization header.
package auth
