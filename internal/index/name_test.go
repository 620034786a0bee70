package index

import "testing"

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
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
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); string(got) != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"foo", true}, {"a", true}, {"Foo.Bar_baz-1", true},
		{"-foo", false}, {"foo-", false}, {"", false}, {"fo o", false}, {"føø", false}, {"foo/bar", false},
	}
	for _, tt := range tests {
		if got := ValidName(tt.in); got != tt.want {
			t.Errorf("ValidName(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
