package index

import (
	"strings"
	"unicode/utf8"
)

// TextProblem says why s cannot be stored as PostgreSQL text, or returns ""
// when it can. PostgreSQL refuses a NUL byte and invalid UTF-8 in a text
// value (SQLSTATE 22021), which would surface as a server error; callers
// check what a client sent (user names, file names, form fields, URL paths)
// with it before anything reaches the store, and word the refusal
// themselves, since whether it is a 400 or a 404 depends on where it came
// from.
func TextProblem(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL byte"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	return ""
}

// CheckText refuses, as invalid input, a value that cannot be stored as
// text, naming what it was ("The user name in the credentials contains a
// NUL byte."). A 404 for a path is the caller's own wording.
func CheckText(what, s string) error {
	if p := TextProblem(s); p != "" {
		return Errorf(ErrInvalid, "The %s %s.", what, p)
	}
	return nil
}
