package index

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// The upload path turns client bytes into project names and filenames, and
// both end up in paths under the data directory; these fuzz tests pin the
// properties that keep that safe. Explore with
//
//	go test ./internal/index -run '^$' -fuzz FuzzNormalize -fuzztime 1m

var normalizedRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Foo_Bar.Baz", "foo--bar", "a", "A.-_B", "-x-", "..", "café", "Zope2", "x\x00y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(string(n)) != n {
			t.Fatalf("Normalize(%q) = %q is not a fixed point", s, n)
		}
		if strings.Contains(string(n), "--") || strings.ContainsAny(string(n), "_.ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("Normalize(%q) = %q", s, n)
		}
		// A valid name normalises to something that is safe as one path
		// component: that is what DATA/simple/<name> relies on.
		if ValidName(s) && !normalizedRE.MatchString(string(n)) {
			t.Fatalf("valid name %q normalises to %q", s, n)
		}
		if err := CheckName(s); (err == nil) != ValidName(s) || err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("CheckName(%q) = %v", s, err)
		}
	})
}

func FuzzCheckUploadFilename(f *testing.F) {
	for _, s := range []string{"foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl", "../foo.whl", "a\\b.zip", ".whl",
		"foo.exe", "x\x7f.whl", strings.Repeat("a", 250) + ".whl", "FOO-1.0.TAR.GZ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckUploadFilename(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("CheckUploadFilename(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		// An accepted name is one path component, with room for .metadata.
		if s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") || len(s)+len(".metadata") > 255 {
			t.Fatalf("CheckUploadFilename accepted %q", s)
		}
	})
}
