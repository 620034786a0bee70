package index

import "errors"

// Sentinel errors. Wrap them with fmt.Errorf("%w: detail", ErrX); the text
// after the colon is safe to show a client. The HTTP layer maps them to status
// codes in exactly one place.
var (
	// ErrNotFound means the named thing does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a unique thing (a filename, a user) already exists.
	ErrExists = errors.New("already exists")
	// ErrInvalid means the client sent something malformed.
	ErrInvalid = errors.New("invalid")
	// ErrUnauthenticated means no credentials were supplied.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden means the credentials are wrong or lack permission.
	ErrForbidden = errors.New("forbidden")
	// ErrGone means an action that is no longer supported.
	ErrGone = errors.New("gone")
	// ErrTooLarge means a size limit was exceeded.
	ErrTooLarge = errors.New("too large")
	// ErrUnavailable means a dependency (the database) cannot be reached now;
	// the client should retry later.
	ErrUnavailable = errors.New("unavailable")
	// ErrStorage means the server could not write to its own storage (disk
	// full, an I/O error); whatever was half-written has been removed and
	// the client may retry later. The HTTP layer tells "disk full" apart
	// with errors.Is(err, syscall.ENOSPC).
	ErrStorage = errors.New("storage failure")
	// ErrRateLimited means the client asked too often or the server is
	// too busy for this kind of request now; see RetryAfter for when to
	// come back.
	ErrRateLimited = errors.New("rate limited")
)
