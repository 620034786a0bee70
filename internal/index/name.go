package index

import (
	"regexp"
	"strings"
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

// CheckName returns an ErrInvalid error in PyPI's wording when name is not a
// valid project name.
func CheckName(name string) error {
	if !ValidName(name) {
		return Errorf(ErrInvalid, "'%s' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'. See https://packaging.python.org/specifications/core-metadata for more information.", name)
	}
	return nil
}
