package index

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// The expectations below were checked against pypa/packaging's Version and
// canonicalize_version.

func TestParseVersionNormalizes(t *testing.T) {
	t.Parallel()
	checkParses(t, "ParseVersion(…).String", parsedThen(Version.String), []textCase[string]{
		{"1.0", "1.0"},
		{"1", "1"},
		{"v1.0", "1.0"},
		{"V1.0", "1.0"},
		{"  1.0\n", "1.0"},
		{"\t1.0\v\x1c", "1.0"},
		{"\u00a01.0\u3000", "1.0"},
		{"01.002.0003", "1.2.3"},
		{"1.0.0", "1.0.0"},
		{"0!1.0", "1.0"},
		{"00!1.0", "1.0"},
		{"1!2.0", "1!2.0"},
		{"007!1.0", "7!1.0"},
		// Pre-releases and their spellings (PEP 440 "Pre-release spelling").
		{"1.0a1", "1.0a1"},
		{"1.0A1", "1.0a1"},
		{"1.0a", "1.0a0"},
		{"1.0alpha1", "1.0a1"},
		{"1.0-alpha-1", "1.0a1"},
		{"1.0.alpha.1", "1.0a1"},
		{"1.0_alpha_1", "1.0a1"},
		{"1.0beta2", "1.0b2"},
		{"1.0b", "1.0b0"},
		{"1.0c1", "1.0rc1"},
		{"1.0pre1", "1.0rc1"},
		{"1.0preview1", "1.0rc1"},
		{"1.0RC1", "1.0rc1"},
		{"1.0rc01", "1.0rc1"},
		{"1.0a.", "1.0a0"},
		{"1.0a-", "1.0a0"},
		{"1.0.0-alpha.1", "1.0.0a1"}, // semver-looking, but PEP 440 valid
		// Post-releases, including the implicit "-N" form.
		{"1.0-1", "1.0.post1"},
		{"1.0.post", "1.0.post0"},
		{"1.0post1", "1.0.post1"},
		{"1.0-post-1", "1.0.post1"},
		{"1.0_post_1", "1.0.post1"},
		{"1.0-r4", "1.0.post4"},
		{"1.0rev4", "1.0.post4"},
		{"1.0.REV4", "1.0.post4"},
		{"1.0a1-1", "1.0a1.post1"},
		{"1.0a.post1", "1.0a0.post1"},
		// Development releases.
		{"1.0.dev", "1.0.dev0"},
		{"1.0dev1", "1.0.dev1"},
		{"1.0-dev-1", "1.0.dev1"},
		{"1.0_DEV_01", "1.0.dev1"},
		{"1.0.post1.dev3", "1.0.post1.dev3"},
		{"1.0-1dev2", "1.0.post1.dev2"},
		// Local versions: lower case, '.' separators, numbers trimmed.
		{"1.0+abc", "1.0+abc"},
		{"1.0+ubuntu-1", "1.0+ubuntu.1"},
		{"1.0+Ubuntu_1.07", "1.0+ubuntu.1.7"},
		{"1.0+0", "1.0+0"},
		{"1!2.0-1.dev3+Abc-05", "1!2.0.post1.dev3+abc.5"},
		{"1.0rc1.post2.dev3+local.7", "1.0rc1.post2.dev3+local.7"},
		// Numbers larger than any machine integer.
		{"1.99999999999999999999999999", "1.99999999999999999999999999"},
		{"1.0.post0000000000000000000000001", "1.0.post1"},
		// Unicode case folding as in re.IGNORECASE.
		{"1.0.po\u017ft1", "1.0.post1"},
		{"1.0+\u212a", "1.0+k"},
	})
}

func TestParseVersionRejects(t *testing.T) {
	t.Parallel()
	tests := []string{
		"", " ", "abc", "v", "1.", ".1", "1..0", "1.0.", "1.0-", "1.0+",
		"1.0+abc.", "1.0+abc..def", "1.0+-abc", "1.0 a1", "1 .0", "1,0",
		"!1.0", "1!", "1!v1.0", "1.0a1a2", "1.0.post1.post2", "1.0.dev1.dev2",
		"1.0.dev1.post1", "1.0.dev1a1", "1.0--1", "1.0gamma1", "1.0x",
		"1.0.*", "1.0+a+b", "1.0+ab\u00e9", "v 1.0",
		"1.0\x00", "\u0661.0", "1.0+\u0131",
	}
	for _, in := range tests {
		if v, err := ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) = %q, want error", in, v)
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseVersion(%q) error %v does not wrap ErrInvalid", in, err)
		}
	}
}

func TestParseVersionError(t *testing.T) {
	t.Parallel()
	checkRejects(t, "ParseVersion", ParseVersion, false, []textCase[string]{
		{"abc", "'abc' is invalid for 'version'"},
		{"1.0 beta", "'1.0 beta' is invalid for 'version'"},
		// Python's repr switches quotes and escapes, as packaging's message does.
		{"it's", `"it's" is invalid for 'version'`},
		{"a\nb", `'a\nb' is invalid for 'version'`},
		{`x\y`, `'x\\y' is invalid for 'version'`},
	})
}

func TestVersionCanonical(t *testing.T) {
	t.Parallel()
	checkParses(t, "ParseVersion(…).Canonical", parsedThen(Version.Canonical), []textCase[string]{
		{"1.0.0", "1"},
		{"1.0", "1"},
		{"v1", "1"},
		{"1.0.1", "1.0.1"},
		{"1.4.0.0.0", "1.4"},
		{"1.10.0", "1.10"},
		{"0.0", "0"},
		{"0", "0"},
		{"1.2.0rc1", "1.2rc1"},
		{"1!1.0.0.post1.dev2+abc.0", "1!1.post1.dev2+abc.0"},
		{"1.0RC1", "1rc1"},
		{"2.0.0-1", "2.post1"},
	})
}

func TestVersionPredicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		pre, local bool
	}{
		{"1.0", false, false},
		{"1.0a1", true, false},
		{"1.0b1", true, false},
		{"1.0rc1", true, false},
		{"1.0.dev0", true, false},
		{"1.0.post1.dev0", true, false},
		{"1.0.post1", false, false},
		{"1.0+local", false, true},
		{"1.0rc1+local", true, true},
	}
	for _, tt := range tests {
		v, err := ParseVersion(tt.in)
		if err != nil {
			t.Fatalf("ParseVersion(%q): %v", tt.in, err)
		}
		if got := v.IsPrerelease(); got != tt.pre {
			t.Errorf("%q.IsPrerelease() = %v, want %v", tt.in, got, tt.pre)
		}
		if got := v.IsLocal(); got != tt.local {
			t.Errorf("%q.IsLocal() = %v, want %v", tt.in, got, tt.local)
		}
	}
}

// TestVersionOrder checks that each version sorts strictly after the one
// before it, using the sequence from packaging's test suite plus PEP 440's
// epoch and local rules.
func TestVersionOrder(t *testing.T) {
	t.Parallel()
	ordered := []string{
		"0.1",
		"1.0.dev456",
		"1.0a0.dev0",
		"1.0a1",
		"1.0a2.dev456",
		"1.0a12.dev456",
		"1.0a12",
		"1.0b1.dev456",
		"1.0b2",
		"1.0b2.post345.dev456",
		"1.0b2.post345",
		"1.0b2-346",
		"1.0c1.dev456",
		"1.0c1",
		"1.0rc2",
		"1.0c3",
		"1.0",
		"1.0+abc",
		"1.0+abc.5",
		"1.0+0",
		"1.0+1",
		"1.0+1.a",
		"1.0+10",
		"1.0.post456.dev34",
		"1.0.post456",
		"1.1.dev1",
		"1.2+123abc",
		"1.2+123abc456",
		"1.2+abc",
		"1.2+abc123",
		"1.2+abc123def",
		"1.2+1234.abc",
		"1.2+123456",
		"1.2.r32+123456",
		"1.2.rev33+123456",
		"2.0",
		"10.0",
		"99999999999999999999.0",
		"1!0.1",
		"1!1.0b2.post345.dev456",
		"1!1.0",
		"1!1.0.post456",
		"1!1.2.rev33+123456",
		"2!0",
	}
	vs := make([]Version, len(ordered))
	for i, s := range ordered {
		v, err := ParseVersion(s)
		if err != nil {
			t.Fatalf("ParseVersion(%q): %v", s, err)
		}
		vs[i] = v
	}
	for i := range vs {
		for j := range vs {
			want := cmpRank(i, j)
			if got := vs[i].Compare(vs[j]); got != want {
				t.Errorf("Compare(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestVersionEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"1.0", "1.0.0", true},
		{"1", "1.0.0.0", true},
		{"v1.0", "1", true},
		{"1.0RC1", "1.0.0rc1", true},
		{"1.0-1", "1.0.post1", true},
		{"0!1.0", "1.0", true},
		{"1.0+Abc.01", "1.0+abc-1", true},
		{"1.0", "1.0+0", false},
		{"1.0", "1.0.post0", false},
		{"1.0", "1.0.dev0", false},
		{"1.0a0", "1.0", false},
		{"1!1.0", "1.0", false},
		{"1.0+0", "1.0+00.0", false},
	}
	for _, tt := range tests {
		a, err := ParseVersion(tt.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseVersion(tt.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Equal(b); got != tt.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := b.Equal(a); got != tt.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestZeroVersion(t *testing.T) {
	t.Parallel()
	var zero Version
	zeroParsed, err := ParseVersion("0")
	if err != nil {
		t.Fatal(err)
	}
	if got := zero.String(); got != "0" {
		t.Errorf("Version{}.String() = %q, want %q", got, "0")
	}
	if !zero.Equal(zeroParsed) {
		t.Errorf("Version{} is not equal to 0")
	}
}

func TestPyRepr(t *testing.T) {
	t.Parallel()
	checkResults(t, "Repr", Repr, []textCase[string]{
		{"abc", `'abc'`},
		{"", `''`},
		{"it's", `"it's"`},
		{`a'b"c`, `'a\'b"c'`},
		{"a\tb\r\n", `'a\tb\r\n'`},
		{"\x00\x7f", `'\x00\x7f'`},
		{"caf\u00e9", "'caf\u00e9'"},
		{"\u00a0\u200b", `'\xa0\u200b'`},
		{"\U000e0001", `'\U000e0001'`},
		{"\xff", `'\xff'`},
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{
		"1.0", "v1.0", "1!2.0.post1.dev3+abc.5", "1.0-1", "1.0.dev", "1.0a",
		"1.0c1", "1.0pre1", "1.0-r4", "1.0+ubuntu-1", " 1.0rc1 ", "1.0_ALPHA_1",
		"1.0+Abc.007", "0!0.0.0", "1.0.po\u017ft1", "1.0a.", "abc", "",
		"007.010", "1..2", ".1", "1.", "2024.11.24.1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// The fast path for plain releases must agree with the pattern.
		fast, fastErr := ParseVersion(s)
		slow, slowErr := parseVersionRE(s)
		if (fastErr == nil) != (slowErr == nil) || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("ParseVersion(%q) = %#v, %v; through the pattern %#v, %v", s, fast, fastErr, slow, slowErr)
		}
		v, err := ParseVersion(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseVersion(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		norm := v.String()
		w, err := ParseVersion(norm)
		if err != nil {
			t.Fatalf("ParseVersion(%q) ok but its String %q does not parse: %v", s, norm, err)
		}
		if !v.Equal(w) || w.Compare(v) != 0 {
			t.Fatalf("%q and its String %q are not equal", s, norm)
		}
		if w.String() != norm {
			t.Fatalf("String not idempotent: %q -> %q -> %q", s, norm, w.String())
		}
		c, err := ParseVersion(v.Canonical())
		if err != nil || !c.Equal(v) {
			t.Fatalf("Canonical %q of %q does not parse back equal: %v", v.Canonical(), s, err)
		}
		if strings.TrimSpace(norm) != norm || norm == "" {
			t.Fatalf("String of %q is %q", s, norm)
		}
	})
}

// TestPySpaceClass keeps the regexp class pySpace in step with isPySpace.
func TestPySpaceClass(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[` + pySpace + `]$`)
	for r := rune(0); r <= 0x3100; r++ {
		if got, want := re.MatchString(string(r)), isPySpace(r); got != want {
			t.Errorf("U+%04X: class %v, isPySpace %v", r, got, want)
		}
	}
}
