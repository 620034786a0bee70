package index

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Normalized is a PEP 503 normalised project name: lower case, with every run
// of '-', '_' and '.' collapsed to a single '-'. Only Normalize produces it.
type Normalized string

// Normalize returns the PEP 503 normalised form of name.
func Normalize(name string) Normalized {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return Normalized(b.String())
}

// validName is the core-metadata rule for Name (PEP 508 identifiers).
var validName = regexp.MustCompile(`^(?i:[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`)

// ValidName reports whether name is an acceptable project name.
func ValidName(name string) bool { return validName.MatchString(name) }

// MaxNameLength is the longest project name accepted. PyPI sets none, but
// the normalised name is a directory name under DATA/simple, and the page
// writer makes staging names from it (".<name>.removed-<random>"), which
// must all fit the file-system limit on one name (NAME_MAX, 255 bytes). 200
// leaves room for them, and is longer than any name on PyPI.
const MaxNameLength = 200

// CheckName returns an ErrInvalid error in PyPI's wording when name is not a
// valid project name. The name is shown as Warehouse shows a long form
// value: its first and last 30 characters.
func CheckName(name string) error {
	switch {
	case !ValidName(name):
		return nameError(name, "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'.")
	case len(name) > MaxNameLength:
		return nameError(name, fmt.Sprintf("Names are limited to %d characters.", MaxNameLength))
	}
	return nil
}

func nameError(name, msg string) error {
	return Errorf(ErrInvalid, "%s is an invalid value for Name. Error: %s See https://packaging.python.org/specifications/core-metadata for more information.", Repr(Elide(name, 60)), msg)
}

// Elide shortens s to its first and last max/2 characters joined by "...",
// when it has more than max characters: how Warehouse shows long values in
// its messages, and how every value a message echoes is kept bounded.
func Elide(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max/2]) + "..." + string(r[len(r)-max/2:])
}
