package index

import (
	"errors"
	"strings"
	"testing"
)

// The expectations below were checked against pypa/packaging's SpecifierSet
// and Requirement.

func TestCheckSpecifierSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{"", true},
		{" ", true},
		{">=3.8,<4", true},
		{">=3.8, <4", true},
		{" >= 3.8 , < 4 ", true},
		{">=3.8,", true},
		{",,", true},
		{"~=3.7", true},
		{"~=3.7.1", true},
		{"==3.*", true},
		{"!=3.0.*", true},
		{"==3.8.1+local.1", true},
		{"!=1.0+local", true},
		{"===foobar", true},
		{"=== 1.0-anything_goes", true},
		{">=1.0a1", true},
		{">=1.0.post1.dev2", true},
		{">=v1.0", true},
		{">1!2.0", true},
		{"<=1.0RC1", true},
		{"==1.0-1", true},
		{">=\u00a03.8", true}, // Python's \s is Unicode
		{">=3.x", false},
		{"3.8", false},
		{">=", false},
		{"=>3.8", false},
		{"=3.8", false},
		{"~=3", false},
		{"~=3.*", false},
		{">=3.*", false},
		{"<3.8+local", false},
		{"==1.0a1.*", false},
		{"==1.0.*.*", false},
		{">=3.8 <4", false},
		{">=3.8;", false},
		{"== 1.0 ,>", false},
		{"===", true},
		{"=== a b", false},
	}
	for _, tt := range tests {
		err := CheckSpecifierSet(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("CheckSpecifierSet(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckSpecifierSet(%q) error %v does not wrap ErrInvalid", tt.in, err)
		}
	}
}

func TestCheckSpecifierSetMessage(t *testing.T) {
	t.Parallel()
	err := CheckSpecifierSet(">=3.8, >=3.x ,<4")
	if want := "invalid: Invalid specifier: '>=3.x'"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestParseRequirement(t *testing.T) {
	t.Parallel()
	checkParses(t, "ParseRequirement", ParseRequirement, []textCase[Requirement]{
		{"foo", Requirement{Name: "foo"}},
		{"  Foo.Bar_baz-1  ", Requirement{Name: "Foo.Bar_baz-1"}},
		{"foo>=1.0", Requirement{Name: "foo", Specifier: ">=1.0"}},
		{"foo >= 1.0, < 2", Requirement{Name: "foo", Specifier: ">= 1.0,< 2"}},
		{"foo (>=1.0,<2)", Requirement{Name: "foo", Specifier: ">=1.0,<2"}},
		{"foo( >=1.0 )", Requirement{Name: "foo", Specifier: ">=1.0"}},
		{"foo==1.*", Requirement{Name: "foo", Specifier: "==1.*"}},
		{"foo===weird-1", Requirement{Name: "foo", Specifier: "===weird-1"}},
		{"foo>=1.0,", Requirement{Name: "foo", Specifier: ">=1.0,"}},
		{"foo[]", Requirement{Name: "foo"}},
		{"foo[bar]", Requirement{Name: "foo", Extras: []string{"bar"}}},
		{"foo [ bar , Baz.q-x ] >=1", Requirement{Name: "foo", Extras: []string{"bar", "Baz.q-x"}, Specifier: ">=1"}},
		{"foo @ https://example.com/foo-1.0.whl", Requirement{Name: "foo", URL: "https://example.com/foo-1.0.whl"}},
		{"foo@file:///tmp/x;y", Requirement{Name: "foo", URL: "file:///tmp/x;y"}},
		{"foo[a] @ https://x/y.whl ; python_version >= '3.8'", Requirement{Name: "foo", Extras: []string{"a"}, URL: "https://x/y.whl", Marker: "python_version >= '3.8'"}},
		{"foo; python_version < \"3.8\"", Requirement{Name: "foo", Marker: "python_version < \"3.8\""}},
		{"foo>=1;extra=='test'", Requirement{Name: "foo", Specifier: ">=1", Marker: "extra=='test'"}},
		{
			`foo ; (os_name == "nt" or sys_platform == 'darwin') and platform_machine not in "arm64, aarch64"`,
			Requirement{Name: "foo", Marker: `(os_name == "nt" or sys_platform == 'darwin') and platform_machine not in "arm64, aarch64"`},
		},
		{`foo; 'linux' in sys.platform and os.name=='posix'`, Requirement{Name: "foo", Marker: `'linux' in sys.platform and os.name=='posix'`}},
		{`foo; python_implementation == "CPython"`, Requirement{Name: "foo", Marker: `python_implementation == "CPython"`}},
		{`foo; implementation_version ~= '3.8' or python_full_version === '3.8.0'`, Requirement{Name: "foo", Marker: `implementation_version ~= '3.8' or python_full_version === '3.8.0'`}},
		{`foo; "dev" in extras or "test" in dependency_groups`, Requirement{Name: "foo", Marker: `"dev" in extras or "test" in dependency_groups`}},
		{`foo; ((extra == "a"))`, Requirement{Name: "foo", Marker: `((extra == "a"))`}},
		{`foo; platform_release == '\x41\u00e9\N{EM DASH}\d'`, Requirement{Name: "foo", Marker: `platform_release == '\x41\u00e9\N{EM DASH}\d'`}},
		{"foo>=1.0\n", Requirement{Name: "foo", Specifier: ">=1.0"}}, // Python's "$" allows a final newline
		{"foo; " + strings.Repeat("(", 200) + "extra == 'a'" + strings.Repeat(")", 200), Requirement{Name: "foo", Marker: strings.Repeat("(", 200) + "extra == 'a'" + strings.Repeat(")", 200)}},
	})
}

func TestParseRequirementRejects(t *testing.T) {
	t.Parallel()
	// Each want is a substring of the error.
	checkRejects(t, "ParseRequirement", ParseRequirement, true, []textCase[string]{
		{"", "Expected package name"},
		{"-foo", "Expected package name"},
		{"foo-", "Expected end or semicolon (after name and no valid version specifier)"},
		{"foo.", "Expected end or semicolon"},
		{"fóo", "Expected package name"}, // Python's \b is Unicode-aware
		{"foo[bar", "Expected matching RIGHT_BRACKET"},
		{"foo[bar baz]", "Expected comma between extra names"},
		{"foo[bar,]", "Expected extra name after comma"},
		{"foo[-bar]", "Expected matching RIGHT_BRACKET"},
		{"foo (>=1.0", "Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after version specifier"},
		{"foo >=1.0 <2", "Expected end or semicolon (after version specifier)"},
		{"foo >= 1.x", "Expected end or semicolon (after version specifier)"},
		{"foo >=1.0.*", ".* suffix can only be used with `==` or `!=` operators"},
		{"foo ==1.0a1.*", ".* suffix cannot be used after pre-release"},
		{"foo >=1.0+local", "Local version label can only be used"},
		{"foo ~=1", "Expected end or semicolon"},
		{"foo ===1,2", "Invalid specifier: '2'"},
		{"foo @", "Expected URL after @"},
		{"foo @ https://x/y.whl; extra == 'a'", "Expected end"},
		{"foo @ https://x/y.whl ; ", "Expected a marker variable or quoted string"},
		{"foo @ https://x/y.whl extra", "Expected end or semicolon (after URL and whitespace)"},
		{"foo;", "Expected a marker variable or quoted string"},
		{"foo; python_version", "Expected marker operator"},
		{"foo; python_version >=", "Expected a marker variable or quoted string"},
		{"foo; python_version >= 3.8", "Expected a marker variable or quoted string"},
		{"foo; python_versions >= '3'", "Expected a marker variable or quoted string"},
		{"foo; os-name == 'nt'", "Expected a marker variable or quoted string"},
		{"foo; Extra == 'a'", "Expected a marker variable or quoted string"},
		{"foo; extra = 'a'", "Expected marker operator"},
		{"foo; extra notin 'a'", "Expected marker operator"},
		{"foo; extra not'a'", "Expected whitespace after 'not'"},
		{"foo; extra not is 'a'", "Expected 'in' after 'not'"},
		{"foo; extra == 'a' && extra == 'b'", "Expected end of dependency specifier"},
		{"foo; extra == 'a' AND extra == 'b'", "Expected end of dependency specifier"},
		{"foo; extra == 'a' and", "Expected a marker variable or quoted string"},
		{"foo; extra == 'a'and2", "Expected end of dependency specifier"},
		{"foo; (extra == 'a'", "Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after marker expression"},
		{"foo; extra == 'a')", "Expected end of dependency specifier"},
		{"foo; extra == 'a", "Expected a marker variable or quoted string"},
		{`foo; extra == 'a\'`, "Invalid quoted string"},
		{`foo; extra == 'a\' and extra == 'b'`, "Invalid quoted string"},
		{`foo; extra == '\x4'`, "Invalid quoted string"},
		{`foo; extra == '\u12'`, "Invalid quoted string"},
		{`foo; extra == '\U00110000'`, "Invalid quoted string"},
		{`foo; extra == '\N{}'`, "Invalid quoted string"},
		{"foo; extra == 'a\nb'", "Invalid quoted string"},
		{"foo; extra == 'a\x00'", "Invalid quoted string"},
		{"foo\n\n", "Expected end"},
		{"foo\xff", "not UTF-8"},
		{"foo; " + strings.Repeat("(", 600) + "extra == 'a'" + strings.Repeat(")", 600), "nested too deeply"},
	})
}

func TestParseRequirementErrorIsOneLine(t *testing.T) {
	t.Parallel()
	_, err := ParseRequirement("foo >=1.0 <2")
	want := "invalid: Invalid requirement: 'foo >=1.0 <2': Expected end or semicolon (after version specifier) at position 10"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func FuzzParseRequirement(f *testing.F) {
	for _, s := range []string{
		"foo", "foo>=1.0,<2", "foo (>=1.0)", "foo[bar,baz]>=1; python_version < '3.8'",
		"foo @ https://x/y.whl ; extra == 'a'", `foo; (os_name == "nt" or extra == 'b') and "x" not in sys.platform`,
		"foo===x", "foo==1.*", `foo; platform_release == '\x41\N{EM DASH}'`, "foo; ((extra == 'a'))",
		"foo >=1.0 <2", "foo[", "foo; extra ==", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequirement(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseRequirement(%q) error %v does not wrap ErrInvalid", s, err)
			}
			if strings.ContainsAny(strings.TrimPrefix(err.Error(), "invalid: "), "\n\r") {
				t.Fatalf("ParseRequirement(%q) error spans lines: %q", s, err)
			}
			return
		}
		if r.Name == "" {
			t.Fatalf("ParseRequirement(%q) succeeded with no name", s)
		}
		if err := CheckSpecifierSet(r.Specifier); err != nil {
			t.Fatalf("ParseRequirement(%q) returned bad specifier %q: %v", s, r.Specifier, err)
		}
		if r.URL != "" && r.Specifier != "" {
			t.Fatalf("ParseRequirement(%q) returned both URL and specifier", s)
		}
	})
}
