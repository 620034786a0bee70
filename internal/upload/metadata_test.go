package upload

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// metadataForm returns a minimal valid upload form with the given fields changed;
// a nil value deletes the field.
func metadataForm(changes map[string][]string) map[string][]string {
	f := map[string][]string{
		":action":          {"file_upload"},
		"protocol_version": {"1"},
		"metadata_version": {"2.1"},
		"name":             {"foo-bar"},
		"version":          {"1.0"},
		"filetype":         {"sdist"},
		"sha256_digest":    {strings.Repeat("a", 64)},
	}
	for k, v := range changes {
		if v == nil {
			delete(f, k)
		} else {
			f[k] = v
		}
	}
	return f
}

const coreHelp = " See https://packaging.python.org/specifications/core-metadata for more information."

func TestParseMetadataErrors(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string][]string
		want    string // the client text; coreHelp is appended unless it ends with "information."
	}{
		// Fields sent twice.
		{"single field twice", map[string][]string{"summary": {"a", "b"}}, "'summary' has invalid data."},
		{"duplicate project URL label", map[string][]string{"project_urls": {"Home, https://a.example", "Home, https://b.example"}},
			"'project_urls' has invalid data."},

		// metadata-version, name, version.
		{"metadata version unknown", map[string][]string{"metadata_version": {"3.0"}}, "'3.0' is not a valid metadata version."},
		{"metadata version 2.6", map[string][]string{"metadata_version": {"2.6"}}, "'2.6' is not a valid metadata version."},
		{"metadata version 2.0", map[string][]string{"metadata_version": {"2.0"}}, "'2.0' is not a valid metadata version."},
		{"metadata version missing", map[string][]string{"metadata_version": nil}, "None is not a valid metadata version."},
		{"name missing", map[string][]string{"name": nil}, "'name' is a required field."},
		{"name invalid", map[string][]string{"name": {"-foo"}},
			"'-foo' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'. See https://packaging.python.org/specifications/core-metadata for more information."},
		{"version missing", map[string][]string{"version": nil}, "'version' is a required field."},
		{"version UNKNOWN is absent", map[string][]string{"version": {"UNKNOWN"}}, "'version' is a required field."},
		{"version invalid", map[string][]string{"version": {"abc"}}, "'abc' is invalid for 'version'."},
		{"local version", map[string][]string{"version": {"1.0+local"}},
			"The use of local versions in '1.0+local' is not allowed."},
		{"local version normalized", map[string][]string{"version": {"1.0+LOCAL-1"}},
			"The use of local versions in '1.0+local.1' is not allowed."},

		// packaging's checks.
		{"summary two lines", map[string][]string{"summary": {"one\ntwo"}}, "'summary' must be a single line."},
		{"content type unknown", map[string][]string{"description_content_type": {"text/foo"}},
			"'description-content-type' must be one of ['text/x-rst', 'text/plain', 'text/markdown'], not 'text/foo'."},
		{"content type unparsable", map[string][]string{"description_content_type": {"markdown"}},
			"'description-content-type' must be one of ['text/x-rst', 'text/plain', 'text/markdown'], not 'markdown'."},
		{"content type charset", map[string][]string{"description_content_type": {"text/plain; charset=latin1"}},
			"'description-content-type' can only specify the UTF-8 charset, not ['l', 'a', 't', 'i', 'n', '1']."},
		{"markdown variant", map[string][]string{"description_content_type": {"text/markdown; variant=foo"}},
			"valid Markdown variants for 'description-content-type' are ['GFM', 'CommonMark'], not 'foo'."},
		{"dynamic name", map[string][]string{"dynamic": {"Name"}}, "'name' is not allowed as a dynamic field."},
		{"dynamic version", map[string][]string{"dynamic": {"Summary", "Version"}}, "'version' is not allowed as a dynamic field."},
		{"dynamic metadata version", map[string][]string{"dynamic": {"Metadata-Version"}}, "'metadata-version' is not allowed as a dynamic field."},
		{"dynamic unknown", map[string][]string{"dynamic": {"Foo"}}, "'foo' is not a valid dynamic field."},
		{"provides extra", map[string][]string{"provides_extra": {"ok", "-bad"}}, "'-bad' is invalid for 'provides-extra'."},
		{"requires python", map[string][]string{"requires_python": {">=3.x"}}, "'>=3.x' is invalid for 'requires-python'."},
		{"requires dist", map[string][]string{"requires_dist": {"foo (>=1.0"}}, "'foo (>=1.0' is invalid for 'requires-dist'."},
		{"license file parent", map[string][]string{"license_file": {"../LICENSE"}},
			"'../LICENSE' is invalid for 'license-file', parent directory indicators are not allowed."},
		{"license file glob", map[string][]string{"license_file": {"LICENSE*"}}, "'LICENSE*' is invalid for 'license-file', paths must be resolved."},
		{"license file absolute", map[string][]string{"license_file": {"/LICENSE"}}, "'/LICENSE' is invalid for 'license-file', paths must be relative."},
		{"license file backslash", map[string][]string{"license_file": {`licenses\MIT`}},
			`'licenses\\MIT' is invalid for 'license-file', paths must use '/' delimiter.`},
		{"import name", map[string][]string{"import_name": {"foo.2bar"}}, "'foo.2bar' is invalid for 'import-name'; '2bar' is not a valid identifier."},
		{"import name keyword", map[string][]string{"import_name": {"foo.class"}}, "'foo.class' is invalid for 'import-name'; 'class' is a keyword."},
		{"import namespace option", map[string][]string{"import_namespace": {"foo; public"}},
			"'foo; public' is invalid for 'import-namespace'; the only valid option is 'private'."},

		// Warehouse's checks.
		{"summary too long", map[string][]string{"summary": {strings.Repeat("é", 513)}}, "'summary' field must be 512 characters or less."},
		{"author email", map[string][]string{"author_email": {"x"}}, "'x' is not a valid email address: An email address must have an @-sign."},
		{"maintainer email", map[string][]string{"maintainer_email": {"Foo <foo@localhost>"}},
			"'foo@localhost' is not a valid email address: The part after the @-sign is not valid. It should have a period."},
		{"email two at-signs", map[string][]string{"author_email": {"a@b@c.com"}},
			"'a@b@c.com' is not a valid email address: The email address is not valid. It must have exactly one @-sign."},
		{"email reserved domain", map[string][]string{"author_email": {"a@b.test"}},
			"'a@b.test' is not a valid email address: The part after the @-sign is a special-use or reserved name that cannot be used with email."},
		{"unknown classifier", map[string][]string{"classifiers": {"Programming Language :: Python", "Foo :: Bar"}},
			"'Foo :: Bar' is not a valid classifier."},
		{"unknown classifiers sorted", map[string][]string{"classifiers": {"Zzz", "Foo :: Bar"}}, "'Foo :: Bar' is not a valid classifier."},
		{"deprecated classifier", map[string][]string{"classifiers": {"Natural Language :: Ukranian"}},
			"The classifier 'Natural Language :: Ukranian' has been deprecated, use one of ['Natural Language :: Ukrainian'] instead."},
		{"deprecated classifier without replacement", map[string][]string{"classifiers": {"Topic :: Communications :: Chat :: AOL Instant Messenger"}},
			"The classifier 'Topic :: Communications :: Chat :: AOL Instant Messenger' has been deprecated."},
		{"home page not a URL", map[string][]string{"home_page": {"example.com"}}, "'example.com' is not a valid url."},
		{"home page ftp", map[string][]string{"home_page": {"ftp://example.com/"}}, "'ftp://example.com/' is not a valid url."},
		{"download URL", map[string][]string{"download_url": {"http://exa mple.com/"}}, "'http://exa mple.com/' is not a valid url."},
		{"project URL no label", map[string][]string{"project_urls": {", https://example.com"}}, "Must have a label."},
		{"project URL label too long", map[string][]string{"project_urls": {strings.Repeat("L", 33) + ", https://example.com"}},
			"'" + strings.Repeat("L", 33) + "' must be 32 characters or less."},
		{"project URL no URL", map[string][]string{"project_urls": {"Home"}}, "Must have a URL."},
		{"project URL invalid", map[string][]string{"project_urls": {"Home, javascript:alert(1)"}}, "'javascript:alert(1)' is not a valid url."},
		{"requires dist URL", map[string][]string{"requires_dist": {"foo @ https://x/foo.whl"}},
			"Can't have direct dependency: foo @ https://x/foo.whl."},
		{"provides dist URL", map[string][]string{"provides_dist": {"foo @ https://x/foo.whl"}},
			"Can't have direct dependency: 'foo @ https://x/foo.whl'."},
		{"obsoletes dist invalid", map[string][]string{"obsoletes_dist": {"foo (>=1.0"}}, "'foo (>=1.0' is invalid: "},
		{"dynamic dynamic", map[string][]string{"dynamic": {"Dynamic"}}, "Dynamic field 'dynamic' is not a valid dynamic field."},
		{"license and expression", map[string][]string{"license": {"MIT License"}, "license_expression": {"MIT"}},
			"License is deprecated when License-Expression is present. Only License-Expression should be present."},

		// Which error wins.
		{"metadata version before name", map[string][]string{"metadata_version": {"3.0"}, "name": {"-x"}, "version": {"abc"}},
			"'3.0' is not a valid metadata version."},
		{"name before version", map[string][]string{"name": nil, "version": {"abc"}}, "'name' is a required field."},
		{"version before other fields", map[string][]string{"version": {"abc"}, "requires_python": {"x"}}, "'abc' is invalid for 'version'."},
		{"alphabetical among others", map[string][]string{"summary": {"a\nb"}, "requires_python": {"x"}, "dynamic": {"Name"}},
			"'name' is not allowed as a dynamic field."},
		{"packaging round before Warehouse's", map[string][]string{"requires_python": {"x"}, "classifiers": {"Foo :: Bar"}},
			"'x' is invalid for 'requires-python'."},
		{"duplicates before everything", map[string][]string{"metadata_version": {"3.0"}, "license": {"a", "b"}},
			"'license' has invalid data."},
	}
	// The cases only a public index refuses; every other case is refused
	// alike without --pypi-rules, with the same message.
	pypiOnly := map[string]bool{
		"local version": true, "local version normalized": true, "email reserved domain": true,
		"unknown classifier": true, "unknown classifiers sorted": true, "deprecated classifier": true,
		"deprecated classifier without replacement": true, "requires dist URL": true,
	}
	for _, pypiRules := range []bool{true, false} {
		for _, tt := range tests {
			if !pypiRules && pypiOnly[tt.name] {
				continue
			}
			t.Run(fmt.Sprintf("%s/pypi-rules=%v", tt.name, pypiRules), func(t *testing.T) {
				checkMetadataError(t, tt.changes, tt.want, pypiRules)
			})
		}
	}
}

func checkMetadataError(t *testing.T, changes map[string][]string, want string, pypiRules bool) {
	t.Helper()
	_, err := parseMetadata(metadataForm(changes), pypiRules)
	if !strings.HasSuffix(want, "for more information.") && !strings.HasSuffix(want, ": ") {
		want += coreHelp
	}
	if err == nil {
		t.Fatalf("accepted, want %q", want)
	}
	if !errors.Is(err, index.ErrInvalid) {
		t.Fatalf("%v does not wrap index.ErrInvalid", err)
	}
	got := errDetail(err)
	if strings.HasSuffix(want, ": ") {
		if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, coreHelp) {
			t.Errorf("got %q, want %q…%q", got, want, coreHelp)
		}
		return
	}
	if got != want {
		t.Errorf("error text\n got %q\nwant %q", got, want)
	}
}

func TestParseMetadataAccepted(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string][]string
		check   func(t *testing.T, md index.Metadata)
		// got picks what a case checks, which must equal want.
		got  func(index.Metadata) any
		want any
	}{
		{
			// PROTOCOL.md 9, case 47: distutils declares 1.0, sends
			// classifiers and one keywords part per keyword, UNKNOWN values.
			name: "distutils upload",
			changes: map[string][]string{
				"metadata_version": {"1.0"}, "name": {"Foo_Bar"}, "version": {"1.0"},
				"summary": {"A test"}, "home_page": {"https://example.com/foo"}, "author": {"UNKNOWN"},
				"author_email": {"UNKNOWN"}, "license": {"UNKNOWN"}, "description": {"Long\ntext"},
				"keywords": {"foo", "bar"}, "platform": {"UNKNOWN"},
				"classifiers":  {"Programming Language :: Python :: 3", "License :: OSI Approved :: MIT License"},
				"download_url": {"UNKNOWN"}, "provides": {}, "requires": {}, "obsoletes": {},
				"comment": {""}, "md5_digest": {strings.Repeat("0", 32)}, "pyversion": {""},
				"blake2_256_digest": {strings.Repeat("b", 128)},
			},
			check: func(t *testing.T, md index.Metadata) {
				want := index.Metadata{
					MetadataVersion: "1.0", Name: "Foo_Bar", Version: "1.0", Summary: "A test",
					HomePage: "https://example.com/foo", Description: "Long\ntext", Keywords: "foo, bar",
					Classifiers: []string{"Programming Language :: Python :: 3", "License :: OSI Approved :: MIT License"},
				}
				if !reflect.DeepEqual(md, want) {
					t.Errorf("metadata\n got %+v\nwant %+v", md, want)
				}
			},
		},
		{
			// PROTOCOL.md 9, case 38.
			name:    "markdown GFM",
			changes: map[string][]string{"description_content_type": {"text/markdown; variant=GFM"}},
			got:     func(md index.Metadata) any { return md.DescriptionContentType },
			want:    "text/markdown; variant=GFM",
		},
		{
			name: "twine 6 wheel upload",
			changes: map[string][]string{
				"metadata_version": {"2.4"}, "name": {"foo.bar"}, "version": {"1.0.0rc1"},
				"summary": {"s"}, "description_content_type": {"text/markdown; charset=UTF-8; variant=CommonMark"},
				"author_email":       {"Jürgen Müller <j@example.org>, \"Doe, Jane\" <jane@example.com>"},
				"maintainer_email":   {"Doe, John <j@example.com>"},
				"license_expression": {"MIT"}, "license_file": {"LICENSE", "licenses/NOTICE.txt"},
				"classifiers":     {"Programming Language :: Python :: 3.13", "Programming Language :: Python :: 3.14"},
				"requires_python": {">=3.9,<4"},
				"requires_dist":   {"requests>=2", "tomli; python_version < '3.11'", "rich[jupyter]>=13; extra == 'cli'"},
				"provides_extra":  {"cli"}, "dynamic": {"license-file", "Requires-Dist"},
				"project_urls":    {"Homepage, https://example.com", "Issues,https://example.com/issues"},
				"import_name":     {"foo.bar", "foo._impl; private"},
				"provides_extras": {"ignored (twine 4 sic)"}, "attestations": {"[]"},
			},
			check: func(t *testing.T, md index.Metadata) {
				if md.Version != "1.0.0rc1" || md.Name != "foo.bar" {
					t.Errorf("name/version = %q %q", md.Name, md.Version)
				}
				wantURLs := []index.ProjectURL{{Label: "Homepage", URL: "https://example.com"}, {Label: "Issues", URL: "https://example.com/issues"}}
				if !reflect.DeepEqual(md.ProjectURLs, wantURLs) {
					t.Errorf("ProjectURLs = %+v", md.ProjectURLs)
				}
				if !reflect.DeepEqual(md.Extra, map[string][]string{"import_name": {"foo.bar", "foo._impl; private"}}) {
					t.Errorf("Extra = %v", md.Extra)
				}
				if len(md.RequiresDist) != 3 || len(md.LicenseFiles) != 2 || len(md.Dynamic) != 2 {
					t.Errorf("lists = %v %v %v", md.RequiresDist, md.LicenseFiles, md.Dynamic)
				}
			},
		},
		{
			name:    "keywords as one string",
			changes: map[string][]string{"keywords": {"a, b,c"}},
			got:     func(md index.Metadata) any { return md.Keywords },
			want:    "a, b,c",
		},
		{
			name:    "empty parts are absent",
			changes: map[string][]string{"summary": {""}, "classifiers": {"", "Framework :: Django"}, "requires_python": {""}},
			got:     func(md index.Metadata) any { return []any{md.Summary, md.Classifiers} },
			want:    []any{"", []string{"Framework :: Django"}},
		},
		{
			name:    "summary of 512 characters",
			changes: map[string][]string{"summary": {strings.Repeat("é", 512)}},
		},
		{
			name:    "unknown and misnamed fields ignored",
			changes: map[string][]string{"Description-Content-Type": {"text/foo"}, "whatever": {"1", "2"}, "gpg_signature": {"x"}},
		},
		{
			name:    "epoch and post release",
			changes: map[string][]string{"version": {"1!2.0.post1"}, "metadata_version": {"2.5"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := parseMetadata(metadataForm(tt.changes), true)
			if err != nil {
				t.Fatalf("parseMetadata: %v", err)
			}
			if tt.check != nil {
				tt.check(t, md)
			}
			if tt.got != nil {
				if got := tt.got(md); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %#v, want %#v", got, tt.want)
				}
			}
		})
	}
}

func TestPyRepr(t *testing.T) {
	for in, want := range map[string]string{
		"abc":       `'abc'`,
		"it's":      `"it's"`,
		`a'b"c`:     `'a\'b"c'`,
		"a\\b":      `'a\\b'`,
		"l1\nl2":    `'l1\nl2'`,
		"\x00":      `'\x00'`,
		"é":         `'é'`,
		"\u200b":    `'\u200b'`,
		"\xff":      `'\xff'`,
		"tab\there": `'tab\there'`,
	} {
		if got := index.Repr(in); got != want {
			t.Errorf("index.Repr(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzParseMetadata(f *testing.F) {
	seeds := [][]string{
		{"metadata_version", "1.0", "name", "Foo_Bar", "version", "1.0", "keywords", "a", "keywords", "b"},
		{"metadata_version", "2.1", "name", "x", "version", "1.0+local", "classifiers", "Foo :: Bar"},
		{"metadata_version", "2.4", "name", "x", "version", "1", "requires_dist", "foo @ https://x", "project_urls", "a, b"},
		{"metadata_version", "2.2", "name", "-x", "version", "abc", "description_content_type", "text/markdown; variant=x"},
		{"metadata_version", "2.5", "name", "x", "version", "1", "author_email", "a@b@c", "dynamic", "name", "import_name", "a.class"},
		{"summary", "a\nb", "summary", "c", "license_file", "../x", "requires_python", ">=3.x"},
	}
	for _, s := range seeds {
		f.Add(strings.Join(s, "\x1f"))
	}
	f.Fuzz(func(t *testing.T, enc string) {
		parts := strings.Split(enc, "\x1f")
		fm := map[string][]string{}
		for i := 0; i+1 < len(parts); i += 2 {
			fm[parts[i]] = append(fm[parts[i]], parts[i+1])
		}
		md, err := parseMetadata(fm, true)
		if err != nil {
			if !errors.Is(err, index.ErrInvalid) {
				t.Fatalf("error %v does not wrap index.ErrInvalid", err)
			}
			if !strings.HasSuffix(err.Error(), " for more information.") {
				t.Fatalf("error %q lacks the help tail", err)
			}
			return
		}
		if md.Name == "" || md.Version == "" || md.MetadataVersion == "" {
			t.Fatalf("accepted metadata without name/version: %+v", md)
		}
	})
}
