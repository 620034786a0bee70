package index

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

func TestError(t *testing.T) {
	t.Parallel()
	driver := errors.New("no rows in result set")
	enospc := &fs.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}
	tests := []struct {
		name    string
		err     error
		kind    error
		public  string // "" for none
		text    string // Error(), for logs
		isCause error  // errors.Is must reach it; nil: no check
	}{
		{"plain", Errorf(ErrInvalid, "bad %s", "version"), ErrInvalid, "bad version", "invalid: bad version", nil},
		{"wrapped", fmt.Errorf("upload: %w", Errorf(ErrForbidden, "no")), ErrForbidden, "no", "upload: forbidden: no", nil},
		{"cause", WrapErrorf(ErrNotFound, driver, "no token with id %d", 99), ErrNotFound, "no token with id 99", "not found: no token with id 99: no rows in result set", driver},
		{"no message", &Error{Kind: ErrExists, Err: driver}, ErrExists, "", "already exists: no rows in result set", driver},
		{"storage", WrapErrorf(ErrStorage, enospc, "disk full"), ErrStorage, "disk full", "storage failure: disk full: write /x: no space left on device", syscall.ENOSPC},
		// The outermost refusal is the one shown.
		{"outer wins", WrapErrorf(ErrForbidden, Errorf(ErrNotFound, "no user"), "denied"), ErrForbidden, "denied", "forbidden: denied: not found: no user", ErrNotFound},
		// A bare sentinel has a kind but no public text.
		{"sentinel", fmt.Errorf("user %q: %w", "bob", ErrNotFound), ErrNotFound, "", `user "bob": not found`, nil},
		{"other", driver, nil, "", "no rows in result set", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.kind {
				t.Errorf("KindOf = %v, want %v", got, tt.kind)
			}
			if tt.kind != nil && !errors.Is(tt.err, tt.kind) {
				t.Errorf("errors.Is(err, %v) = false", tt.kind)
			}
			msg, ok := PublicMessage(tt.err)
			if msg != tt.public || ok != (tt.public != "") {
				t.Errorf("PublicMessage = %q, %v, want %q", msg, ok, tt.public)
			}
			if got := tt.err.Error(); got != tt.text {
				t.Errorf("Error() = %q, want %q", got, tt.text)
			}
			if tt.isCause != nil && !errors.Is(tt.err, tt.isCause) {
				t.Errorf("errors.Is(err, %v) = false", tt.isCause)
			}
		})
	}
	// A kind is not matched by another kind.
	if errors.Is(Errorf(ErrInvalid, "x"), ErrNotFound) {
		t.Error("an ErrInvalid error matches ErrNotFound")
	}
}
