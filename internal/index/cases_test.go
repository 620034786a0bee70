package index

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The parsers and checks of this package are tested with tables of inputs;
// these run one table each the same way.

// textCase is an input and what a function must make of it.
type textCase[T any] struct {
	in   string
	want T
}

// checkParses calls parse (name in the messages) on every case's input
// and wants it to succeed with the case's want (reflect.DeepEqual).
func checkParses[T any](t *testing.T, name string, parse func(string) (T, error), cases []textCase[T]) {
	t.Helper()
	for _, tt := range cases {
		got, err := parse(tt.in)
		if err != nil {
			t.Errorf("%s(%q): %v", name, tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s(%q) = %#v, want %#v", name, tt.in, got, tt.want)
		}
	}
}

// checkResults is checkParses for a function that cannot fail.
func checkResults[T any](t *testing.T, name string, f func(string) T, cases []textCase[T]) {
	t.Helper()
	checkParses(t, name, func(s string) (T, error) { return f(s), nil }, cases)
}

// checkRejects calls parse on every case's input and wants it refused
// (wantRefusal); the message is the case's want, or contains it when
// contains is set.
func checkRejects[T any](t *testing.T, name string, parse func(string) (T, error), contains bool, cases []textCase[string]) {
	t.Helper()
	for _, tt := range cases {
		got, err := parse(tt.in)
		wantRefusal(t, name, tt.in, got, err, contains, tt.want)
	}
}

// checkErrors calls check on every case's input and wants it accepted when
// the case's want is "", and otherwise refused with want as the message
// (wantRefusal).
func checkErrors(t *testing.T, name string, check func(string) error, cases []textCase[string]) {
	t.Helper()
	for _, tt := range cases {
		err := check(tt.in)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s(%.80q) = %v, want nil", name, tt.in, err)
			}
			continue
		}
		wantRefusal(t, name, tt.in, nil, err, false, tt.want)
	}
}

// wantRefusal wants err, what name made of in (got), to wrap ErrInvalid
// and to read "invalid: " (its kind) and a message that is want, or
// contains it.
func wantRefusal(t *testing.T, name, in string, got any, err error, contains bool, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s(%.80q) = %#v, want error", name, in, got)
		return
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("%s(%.80q) error %v does not wrap ErrInvalid", name, in, err)
	}
	msg, kind := strings.CutPrefix(err.Error(), "invalid: ")
	if !kind || contains && !strings.Contains(msg, want) || !contains && msg != want {
		t.Errorf("%s(%.80q) error = %q, want %q", name, in, msg, want)
	}
}

// parsedThen parses a version and returns what f makes of it.
func parsedThen(f func(Version) string) func(string) (string, error) {
	return func(s string) (string, error) {
		v, err := ParseVersion(s)
		return f(v), err
	}
}

// fuzzParse fuzzes parse from seeds: an error must wrap ErrInvalid, and
// what parses must pass check.
func fuzzParse[T any](f *testing.F, name string, parse func(string) (T, error), seeds []string, check func(t *testing.T, s string, got T)) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s(%q) error %v does not wrap ErrInvalid", name, s, err)
			}
			return
		}
		check(t, s, got)
	})
}
