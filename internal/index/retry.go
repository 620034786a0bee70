package index

import (
	"errors"
	"time"
)

// retryError carries how long a client should wait before trying again.
type retryError struct {
	err   error
	after time.Duration
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// RetryAfter returns err annotated with the delay after which a retry may
// succeed (a rate limit's wait); errors.Is and the message are err's.
func RetryAfter(err error, d time.Duration) error {
	return &retryError{err: err, after: d}
}

// RetryDelay returns the delay RetryAfter attached to err, if any.
func RetryDelay(err error) (time.Duration, bool) {
	var re *retryError
	if errors.As(err, &re) {
		return re.after, true
	}
	return 0, false
}
