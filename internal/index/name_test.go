package index

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	checkResults(t, "Normalize", Normalize, []textCase[Normalized]{
		{"foo", "foo"},
		{"Foo", "foo"},
		{"Foo_Bar", "foo-bar"},
		{"Foo.Bar", "foo-bar"},
		{"foo--bar", "foo-bar"},
		{"Foo-_.-Bar", "foo-bar"},
		{"FOO__BAR..BAZ", "foo-bar-baz"},
		{"a.b_c-d", "a-b-c-d"},
		{"zope.interface", "zope-interface"},
		{"x1", "x1"},
	})
}

func TestValidName(t *testing.T) {
	t.Parallel()
	checkResults(t, "ValidName", ValidName, []textCase[bool]{
		{"foo", true}, {"a", true}, {"Foo.Bar_baz-1", true},
		{"-foo", false}, {"foo-", false}, {"", false}, {"fo o", false}, {"føø", false}, {"foo/bar", false},
	})
}

// CheckName bounds the name (its page directory must fit NAME_MAX) and the
// message, whatever the client sent.
func TestCheckName(t *testing.T) {
	t.Parallel()
	const help = " See https://packaging.python.org/specifications/core-metadata for more information."
	// want "" means accepted
	checkErrors(t, "CheckName", CheckName, []textCase[string]{
		{"foo-bar", ""},
		{strings.Repeat("a", MaxNameLength), ""},
		{strings.Repeat("a", MaxNameLength+1), "'" + strings.Repeat("a", 30) + "..." + strings.Repeat("a", 30) + "' is an invalid value for Name. Error: Names are limited to 200 characters." + help},
		{strings.Repeat("b", 100_000), "'" + strings.Repeat("b", 30) + "..." + strings.Repeat("b", 30) + "' is an invalid value for Name. Error: Names are limited to 200 characters." + help},
		{"-foo", "'-foo' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'." + help},
		{"x" + strings.Repeat("\u202e", 100) + "y", "'x" + strings.Repeat(`\u202e`, 29) + "..." + strings.Repeat(`\u202e`, 29) + "y' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'." + help},
	})
}
