package main

import (
	"errors"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// errorText is what the command line prints for err. A refusal (an
// *index.Error anywhere in the chain) prints its public message, a
// sentence such as "no token with id 99", or its kind when it has none;
// its cause (driver text such as "no rows in result set" or a SQLSTATE) is
// never shown. Other errors (bad flags, unreadable files) print as they are.
func errorText(err error) string {
	var e *index.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if e.Message != "" {
		return e.Message
	}
	if e.Kind != nil {
		return e.Kind.Error()
	}
	return "failed"
}
