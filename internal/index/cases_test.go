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

// checkRejects calls parse on every case's input and wants an error that
// wraps ErrInvalid and whose text is "invalid: " (its kind) and a message
// that matches the case's want: is it, or contains it when contains is set.
func checkRejects[T any](t *testing.T, name string, parse func(string) (T, error), contains bool, cases []textCase[string]) {
	t.Helper()
	for _, tt := range cases {
		got, err := parse(tt.in)
		if err == nil {
			t.Errorf("%s(%q) = %#v, want error", name, tt.in, got)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s(%q) error %v does not wrap ErrInvalid", name, tt.in, err)
		}
		msg, kind := strings.CutPrefix(err.Error(), "invalid: ")
		if !kind || contains && !strings.Contains(msg, tt.want) || !contains && msg != tt.want {
			t.Errorf("%s(%q) error = %q, want %q", name, tt.in, msg, tt.want)
		}
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
