package index

import (
	"errors"
	"fmt"
)

// Sentinel errors: the kinds of an *Error. Make a refusal with
// Errorf(ErrX, "public text") where it is decided; the HTTP layer maps kinds
// to status codes in exactly one place, and shows the public text only.
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
	// ErrBadGateway means the upstream index this server proxies (--upstream)
	// failed or answered something unusable.
	ErrBadGateway = errors.New("bad gateway")
	// ErrGatewayTimeout means the upstream index did not answer in time.
	ErrGatewayTimeout = errors.New("gateway timeout")
)

// Error is a refusal decided somewhere in the program: its Kind (one of the
// sentinels above, or a kind another package declares) says what went
// wrong, Message is the text a client or an operator may read, and Err, when
// set, is the internal cause (a driver or file-system error) for the log
// only. The HTTP status table and the command line show Message and never
// the text of Err. Wrap an *Error with fmt.Errorf("context: %w", err) as
// usual; the outermost *Error in a chain is the one shown.
type Error struct {
	Kind    error
	Message string // may be empty: then the reader shows a generic text for Kind
	Err     error
}

// Error returns the text for logs: the kind, the message and the cause.
func (e *Error) Error() string {
	s := "error"
	if e.Kind != nil {
		s = e.Kind.Error()
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is reports whether target is e's kind, so that errors.Is(err, ErrNotFound)
// matches an *Error of that kind.
func (e *Error) Is(target error) bool { return e.Kind != nil && errors.Is(e.Kind, target) }

// Unwrap returns the cause, so that errors.Is and errors.As still reach it
// (syscall.ENOSPC under a storage failure, for one).
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind whose public message is
// fmt.Sprintf(format, args...).
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// WrapErrorf is Errorf with an internal cause, kept for the log.
func WrapErrorf(kind, cause error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: cause}
}

// PublicMessage returns the public message of the outermost *Error in err's
// chain, or false when there is none or its message is empty.
func PublicMessage(err error) (string, bool) {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message, true
	}
	return "", false
}

// KindOf returns the kind of the outermost *Error in err's chain, or else
// the first of the sentinels above that err wraps, or nil.
func KindOf(err error) error {
	var e *Error
	if errors.As(err, &e) && e.Kind != nil {
		return e.Kind
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// kinds are the sentinels in the order KindOf tries them.
var kinds = []error{ErrUnauthenticated, ErrForbidden, ErrNotFound, ErrGone, ErrExists, ErrInvalid, ErrTooLarge, ErrUnavailable, ErrStorage}
