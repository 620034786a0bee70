package index

import (
	"errors"
	"strings"
	"testing"
)

func TestParseWheelFilename(t *testing.T) {
	t.Parallel()
	checkParses(t, "ParseWheelFilename", ParseWheelFilename, []textCase[WheelFilename]{
		{"foo-1.0-py3-none-any.whl", WheelFilename{
			Name: "foo", Version: "1.0",
			PythonTags: []string{"py3"}, ABITags: []string{"none"}, PlatformTags: []string{"any"},
		}},
		{"Foo_Bar-1.0.0-py2.py3-none-any.whl", WheelFilename{
			Name: "Foo_Bar", Version: "1.0.0",
			PythonTags: []string{"py2", "py3"}, ABITags: []string{"none"}, PlatformTags: []string{"any"},
		}},
		{"foo.bar-2.0rc1-1local-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", WheelFilename{
			Name: "foo.bar", Version: "2.0rc1", Build: "1local",
			PythonTags: []string{"cp311"}, ABITags: []string{"cp311"},
			PlatformTags: []string{"manylinux_2_17_x86_64", "manylinux2014_x86_64"},
		}},
		{"foo-1.0_post1-123-PY3-None-ANY.whl", WheelFilename{
			Name: "foo", Version: "1.0_post1", Build: "123",
			PythonTags: []string{"PY3"}, ABITags: []string{"None"}, PlatformTags: []string{"ANY"},
		}},
		// packaging's \w is Unicode and it does not check tags.
		{"caf\u00e9-1.0-py3-none-any.whl", WheelFilename{
			Name: "caf\u00e9", Version: "1.0",
			PythonTags: []string{"py3"}, ABITags: []string{"none"}, PlatformTags: []string{"any"},
		}},
		{"foo-1.0+cu118-py3-none-any.whl", WheelFilename{
			Name: "foo", Version: "1.0+cu118",
			PythonTags: []string{"py3"}, ABITags: []string{"none"}, PlatformTags: []string{"any"},
		}},
		{"foo-1!2.0-7_b2-py3-abi3-macosx_11_0_arm64.whl", WheelFilename{
			Name: "foo", Version: "1!2.0", Build: "7_b2",
			PythonTags: []string{"py3"}, ABITags: []string{"abi3"}, PlatformTags: []string{"macosx_11_0_arm64"},
		}},
	})
}

func TestParseWheelFilenameErrors(t *testing.T) {
	t.Parallel()
	checkRejects(t, "ParseWheelFilename", ParseWheelFilename, false, []textCase[string]{
		{"x", "Invalid wheel filename (extension must be '.whl'): 'x'"},
		{"foo-1.0-py3-none-any.WHL", "Invalid wheel filename (extension must be '.whl'): 'foo-1.0-py3-none-any.WHL'"},
		{"foo-1.0.whl", "Invalid wheel filename (wrong number of parts): 'foo-1.0'"},
		{"foo-1.0-py3-none.whl", "Invalid wheel filename (wrong number of parts): 'foo-1.0-py3-none'"},
		{"foo-bar-1.0-1-py3-none-any.whl", "Invalid wheel filename (wrong number of parts): 'foo-bar-1.0-1-py3-none-any'"},
		{"a__b-1.0-py3-none-any.whl", "Invalid project name: 'a__b-1.0-py3-none-any'"},
		{"a+b-1.0-py3-none-any.whl", "Invalid project name: 'a+b-1.0-py3-none-any'"},
		{"a b-1.0-py3-none-any.whl", "Invalid project name: 'a b-1.0-py3-none-any'"},
		{"-1.0-py3-none-any.whl", "Invalid project name: '-1.0-py3-none-any'"},
		{"foo-1.0x-py3-none-any.whl", "Invalid wheel filename (invalid version): 'foo-1.0x-py3-none-any'"},
		{"foo--py3-none-any.whl", "Invalid wheel filename (invalid version): 'foo--py3-none-any'"},
		{"foo-1.0-x1-py3-none-any.whl", "Invalid build number: x1 in 'foo-1.0-x1-py3-none-any'"},
		{"foo-1.0--py3-none-any.whl", "Invalid build number:  in 'foo-1.0--py3-none-any'"},
		// Each component is checked against the wheel tag grammar: what
		// packaging lets through would be listed and then not served.
		{"foo-1.0-py3..-none-.whl", "Binary wheel 'foo-1.0-py3..-none-.whl' has an unsupported python tag ''."},
		{"foo_bar-3.0-py3-none-a:b.whl", "Binary wheel 'foo_bar-3.0-py3-none-a:b.whl' has an unsupported platform tag 'a:b'."},
		{"foo-1.0-py3-none-any.linux#x.whl", "Binary wheel 'foo-1.0-py3-none-any.linux#x.whl' has an unsupported platform tag 'linux#x'."},
		{"foo-1.0-py3-ab?i-any.whl", "Binary wheel 'foo-1.0-py3-ab?i-any.whl' has an unsupported abi tag 'ab?i'."},
		{"foo-1.0-py%003-none-any.whl", "Binary wheel 'foo-1.0-py%003-none-any.whl' has an unsupported python tag 'py%003'."},
		{"foo-1.0-py3-none-%2e%2e.whl", "Binary wheel 'foo-1.0-py3-none-%2e%2e.whl' has an unsupported platform tag '%2e%2e'."},
		{"foo-1.0-py3-none-any .whl", "Binary wheel 'foo-1.0-py3-none-any .whl' has an unsupported platform tag 'any '."},
		{"foo-1.0-py3-<img src=x>-any.whl", "Binary wheel 'foo-1.0-py3-<img src=x>-any.whl' has an unsupported abi tag '<img src=x>'."},
		{"foo-1.0-py3-none-a\"b.whl", "Binary wheel 'foo-1.0-py3-none-a\"b.whl' has an unsupported platform tag 'a\"b'."},
		{"foo-1.0-py3-none-a'b.whl", `Binary wheel "foo-1.0-py3-none-a'b.whl" has an unsupported platform tag "a'b".`},
		{"foo-1.0-py3-none-any\u0085.whl", `Binary wheel 'foo-1.0-py3-none-any\x85.whl' has an unsupported platform tag 'any\x85'.`},
		{"foo-1.0-py3\u202e-none-any.whl", `Binary wheel 'foo-1.0-py3\u202e-none-any.whl' has an unsupported python tag 'py3\u202e'.`},
		{"foo-1.0-py3-none-a\u2215b.whl", "Binary wheel 'foo-1.0-py3-none-a\u2215b.whl' has an unsupported platform tag 'a\u2215b'."},
		{"foo-1.0-py3-none\u00a0-any.whl", `Binary wheel 'foo-1.0-py3-none\xa0-any.whl' has an unsupported abi tag 'none\xa0'.`},
		{"foo-1.0-1#-py3-none-any.whl", "Invalid build number: 1# in 'foo-1.0-1#-py3-none-any'"},
		{"foo-1.0-1.2-py3-none-any.whl", "Invalid build number: 1.2 in 'foo-1.0-1.2-py3-none-any'"},
		{"foo-1.0-1\u202e-py3-none-any.whl", `Invalid build number: '1\u202e' in 'foo-1.0-1\u202e-py3-none-any'`},
		// Versions that parse once Python has stripped the white space.
		{"foo-1.0 -py3-none-any.whl", "Invalid wheel filename (invalid version): 'foo-1.0 -py3-none-any'"},
		{"foo-1.0\u0085-py3-none-any.whl", `Invalid wheel filename (invalid version): 'foo-1.0\x85-py3-none-any'`},
		{"foo-\u00a01.0-py3-none-any.whl", `Invalid wheel filename (invalid version): 'foo-\xa01.0-py3-none-any'`},
	})
}

func TestParseSdistFilename(t *testing.T) {
	t.Parallel()
	checkParses(t, "ParseSdistFilename", ParseSdistFilename, []textCase[SdistFilename]{
		{"foo-1.0.tar.gz", SdistFilename{"foo", "1.0", ".tar.gz"}},
		{"foo_bar-1.0.tar.gz", SdistFilename{"foo_bar", "1.0", ".tar.gz"}},
		{"Foo_Bar-1.0.tar.gz", SdistFilename{"Foo_Bar", "1.0", ".tar.gz"}},
		{"foo-bar-1.0.post1.zip", SdistFilename{"foo-bar", "1.0.post1", ".zip"}},
		{"Foo-1.0.ZIP", SdistFilename{"Foo", "1.0", ".zip"}},
		{"foo-1.0.TAR.GZ", SdistFilename{"foo", "1.0", ".tar.gz"}},
		{"foo-v1.0RC1.tar.gz", SdistFilename{"foo", "v1.0RC1", ".tar.gz"}},
		{"a-b-c-1!2.0+local.tar.gz", SdistFilename{"a-b-c", "1!2.0+local", ".tar.gz"}},
	})
}

func TestParseSdistFilenameErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"foo-1.0.tar.bz2", "foo-1.0.tgz", "foo-1.0.whl", "foo-1.0", "foo.tar.gz",
		"foo-1.0-1.tar.gz.tar", "foo-bar.tar.gz", "foo-1.0-x.zip", "-1.0.tar.gz",
		"foo-.tar.gz", ".tar.gz",
		// PEP 625: a project name and a PEP 440 version, nothing else.
		"foo-1.0#.tar.gz", "foo-1.0?.tar.gz", "foo-1.0%00.tar.gz", "foo-%2e%2e.tar.gz", "foo-1.0 .tar.gz",
		"foo-1.0<img src=x>.zip", "foo-1.0\".tar.gz", "foo-1.0'.tar.gz", "foo#-1.0.tar.gz", "foo bar-1.0.tar.gz",
	} {
		_, err := ParseSdistFilename(in)
		want := "invalid: Invalid source distribution filename: " + in
		if err == nil || err.Error() != want || !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseSdistFilename(%q) error = %v, want %q", in, err, want)
		}
	}
	// Outside printable ASCII the filename is shown escaped.
	for _, in := range []string{"foo-1.0\u0085.tar.gz", "foo-1.0\u202e.tar.gz", "foo-1.0\u2215.zip", "foo-1.0\u00a0.tar.gz", "foo-\u00a01.0.tar.gz"} {
		_, err := ParseSdistFilename(in)
		want := "invalid: Invalid source distribution filename: " + Repr(in)
		if err == nil || err.Error() != want || !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseSdistFilename(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestCheckUploadFilename(t *testing.T) {
	t.Parallel()
	const (
		nonPrintable = "Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL character (ordinal 127) in the name."
		slash        = `Cannot upload a file with '/' or '\' in the name.`
		extension    = "Invalid file extension: Use .tar.gz, .whl or .zip extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information"
	)
	long := strings.Repeat("a", 255-len(".metadata")-len("-1.0.tar.gz")) + "-1.0.tar.gz"
	// want "" means accepted
	checkErrors(t, "CheckUploadFilename", CheckUploadFilename, []textCase[string]{
		{"foo-1.0.tar.gz", ""},
		{"foo-1.0.zip", ""},
		{"foo-1.0-py3-none-any.whl", ""},
		{"FOO-1.0.TAR.GZ", ""},
		{"foo-1.0.Zip", ""},
		{"x.whl", ""},
		{long, ""},
		{"a" + long, "Filename is too long: 'a" + long + "'"},
		{"foo\x00-1.0.tar.gz", nonPrintable},
		{"foo\n-1.0.tar.gz", nonPrintable},
		{"foo\x1f-1.0.tar.gz", nonPrintable},
		{"foo\x7f-1.0.tar.gz", nonPrintable},
		{"foo/\x00.exe", nonPrintable},
		{"dir/foo-1.0.tar.gz", slash},
		{`dir\foo-1.0.tar.gz`, slash},
		{"../foo.exe", slash},
		{".whl", extension},
		{"x-1.0.tar.bz2", extension},
		{"x-1.0.egg", extension},
		{"x-1.0.win32.exe", extension},
		{"x-1.0.msi", extension},
		{"x-1.0.tgz", extension},
		{"x-1.0.tar", extension},
		{"x-1.0.tar.Z", extension},
		{"x-1.0.tar.xz", extension},
		{"x-1.0.rpm", extension},
		{"x-1.0.dmg", extension},
		{"x-1.0.whl.asc", extension},
		{"", extension},
	})
}

func FuzzParseWheelFilename(f *testing.F) {
	fuzzParse(f, "ParseWheelFilename", ParseWheelFilename, []string{
		"foo-1.0-py3-none-any.whl", "Foo_Bar-1.0.0-1build-py2.py3-none-any.whl",
		"foo-1.0.whl", "a__b-1.0-py3-none-any.whl", "foo-1.0-x1-py3-none-any.whl",
		"caf\u00e9-1.0-py3-none-any.whl", "foo-1.0-py3-none-any", "-----.whl",
	}, func(t *testing.T, s string, w WheelFilename) {
		if _, err := ParseVersion(w.Version); err != nil {
			t.Fatalf("ParseWheelFilename(%q) returned bad version %q", s, w.Version)
		}
		parts := []string{w.Name, w.Version}
		if w.Build != "" {
			parts = append(parts, w.Build)
		}
		parts = append(parts, strings.Join(w.PythonTags, "."), strings.Join(w.ABITags, "."), strings.Join(w.PlatformTags, "."))
		if got := strings.Join(parts, "-") + ".whl"; got != s {
			t.Fatalf("ParseWheelFilename(%q) parts rebuild %q", s, got)
		}
		if !ServableFilename(s) {
			t.Fatalf("ParseWheelFilename(%q) accepted a name the file server refuses", s)
		}
	})
}

func FuzzParseSdistFilename(f *testing.F) {
	fuzzParse(f, "ParseSdistFilename", ParseSdistFilename, []string{
		"foo-1.0.tar.gz", "Foo_Bar-1.0.zip", "foo-bar-1.0.post1.TAR.GZ", "foo.tar.gz",
		"-1.0.tar.gz", "foo-1.0x.zip", "foo-1.0.tgz",
	}, func(t *testing.T, s string, sd SdistFilename) {
		if sd.Ext != ".tar.gz" && sd.Ext != ".zip" {
			t.Fatalf("ParseSdistFilename(%q) Ext = %q", s, sd.Ext)
		}
		if strings.Contains(sd.Version, "-") || sd.Name == "" {
			t.Fatalf("ParseSdistFilename(%q) = %#v", s, sd)
		}
		if _, err := ParseVersion(sd.Version); err != nil {
			t.Fatalf("ParseSdistFilename(%q) returned bad version %q", s, sd.Version)
		}
		if got := sd.Name + "-" + sd.Version; !strings.EqualFold(got+sd.Ext, s) || got != s[:len(got)] {
			t.Fatalf("ParseSdistFilename(%q) parts rebuild %q", s, got+sd.Ext)
		}
		if !ServableFilename(s) {
			t.Fatalf("ParseSdistFilename(%q) accepted a name the file server refuses", s)
		}
		if err := CheckUploadFilename(s); err != nil && !strings.Contains(err.Error(), "too long") &&
			!strings.Contains(err.Error(), "non-printable") && !strings.Contains(err.Error(), "'/'") {
			t.Fatalf("sdist %q fails the upload filename check: %v", s, err)
		}
	})
}
