package index

import (
	"strings"
	"unicode"
)

// WheelFilename is a parsed binary distribution filename (PEP 427, PEP 491):
// {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl.
type WheelFilename struct {
	// Name and Version are the raw parts as they appear in the filename.
	// The .dist-info directory inside the wheel must use them verbatim.
	Name, Version string
	// Build is the optional build tag, "" when absent; it starts with a digit.
	Build string
	// PythonTags, ABITags and PlatformTags are the compressed tag sets of
	// PEP 425 split on '.', as written (packaging lower-cases them when it
	// builds Tag values; compare case-insensitively).
	PythonTags, ABITags, PlatformTags []string
}

// ParseWheelFilename parses a wheel filename with the rules and messages of
// packaging.utils.parse_wheel_filename, which Warehouse reports verbatim.
// Like packaging, messages quote the filename without its ".whl".
//
// Deviation: an empty name part is rejected; packaging lets it through and
// Warehouse then fails it for not naming the project.
func ParseWheelFilename(filename string) (WheelFilename, error) {
	stem, ok := strings.CutSuffix(filename, ".whl")
	if !ok {
		return WheelFilename{}, Errorf(ErrInvalid, "Invalid wheel filename (extension must be '.whl'): %s", Repr(filename))
	}
	dashes := strings.Count(stem, "-")
	if dashes != 4 && dashes != 5 {
		return WheelFilename{}, Errorf(ErrInvalid, "Invalid wheel filename (wrong number of parts): %s", Repr(stem))
	}
	// The last three parts are always the tags; a sixth part is the build.
	parts := strings.Split(stem, "-")
	w := WheelFilename{Name: parts[0], Version: parts[1]}
	// PEP 427 escapes every run of non-alphanumerics in the name to a single
	// '_', so '-' cannot occur and "__" is a sign of a bad escape.
	if !validWheelName(w.Name) {
		return WheelFilename{}, Errorf(ErrInvalid, "Invalid project name: %s", Repr(stem))
	}
	// packaging checks the version's syntax, which tolerates surrounding
	// (Unicode) white space; the filename must also hold nothing a URL or
	// a file system treats specially.
	if !filenameVersion(w.Version) {
		return WheelFilename{}, Errorf(ErrInvalid, "Invalid wheel filename (invalid version): %s", Repr(stem))
	}
	if dashes == 5 {
		w.Build = parts[2]
		// PEP 427: the build tag must start with a digit; it sorts
		// numerically on that prefix. Like every component it is escaped
		// to [A-Za-z0-9_] (packaging lets anything follow the digits).
		if w.Build == "" || w.Build[0] < '0' || w.Build[0] > '9' || !tagChars(w.Build) {
			return WheelFilename{}, Errorf(ErrInvalid, "Invalid build number: %s in %s", shown(w.Build), Repr(stem))
		}
	}
	n := len(parts)
	w.PythonTags = strings.Split(parts[n-3], ".")
	w.ABITags = strings.Split(parts[n-2], ".")
	w.PlatformTags = strings.Split(parts[n-1], ".")
	// packaging does not look inside the tags; Warehouse refuses a platform
	// tag outside its list, and so names only that kind in its message.
	for _, tags := range []struct {
		kind string
		tags []string
	}{{"python", w.PythonTags}, {"abi", w.ABITags}, {"platform", w.PlatformTags}} {
		for _, tag := range tags.tags {
			if tag == "" || !tagChars(tag) {
				return WheelFilename{}, tagError(filename, tags.kind, tag)
			}
		}
	}
	return w, nil
}

// tagChars reports whether s holds only what the binary distribution
// format leaves in an escaped filename component: ASCII letters, digits
// and '_' (PEP 425 replaces '-' and '.' in a tag with '_'; the '.' that
// remains separates the tags of a compressed tag set).
func tagChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// tagError words a malformed tag. For platform tags it is Warehouse's
// message (its allow-list refuses anything malformed); packaging has none
// for the python and ABI tags, so theirs takes the same shape.
func tagError(filename, kind, tag string) error {
	return Errorf(ErrInvalid, "Binary wheel %s has an unsupported %s tag %s.", Repr(filename), kind, Repr(tag))
}

// filenameVersion reports whether v, the version part of a distribution
// filename, is a PEP 440 version written with the characters PEP 440
// spells versions with (letters, digits, '.', '_', '+', '!'): ParseVersion
// also accepts surrounding white space, which Python strips, and no file
// name should keep.
func filenameVersion(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '+' || c == '!') {
			return false
		}
	}
	_, err := ParseVersion(v)
	return err == nil
}

// shown is s as a message shows it unquoted, after packaging and
// Warehouse: as it is when it is printable ASCII, else quoted and escaped
// as Python's repr() would, so that no control or bidirectional-override
// character reaches a client's terminal.
func shown(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return Repr(s)
		}
	}
	return s
}

// validWheelName is packaging's check ^[\w\d._]*$ (Python's Unicode \w:
// letters, numbers and '_') without "__", but requiring at least one
// character.
func validWheelName(name string) bool {
	if name == "" || strings.Contains(name, "__") {
		return false
	}
	for _, r := range name {
		if r != '.' && r != '_' && !unicode.IsLetter(r) && !unicode.IsNumber(r) {
			return false
		}
	}
	return true
}

// SdistFilename is a parsed source distribution filename (PEP 625):
// {name}-{version}.tar.gz, or the legacy .zip form.
type SdistFilename struct {
	// Name and Version are the raw parts as they appear in the filename.
	Name, Version string
	// Ext is ".tar.gz" or ".zip", in lower case whatever the filename used.
	Ext string
}

// ParseSdistFilename splits an sdist filename as
// packaging.utils.parse_sdist_filename does: at the last '-', since a PEP 440
// version contains none once normalized, and the version must parse. The
// extension is matched case-insensitively because distutils-era tools
// produced ".ZIP" and ".TAR.GZ"; Warehouse's stricter PEP 625 rule is left
// to the caller. The message is Warehouse's.
//
// Deviation: an empty name part is rejected, as for wheels.
func ParseSdistFilename(filename string) (SdistFilename, error) {
	bad := Errorf(ErrInvalid, "Invalid source distribution filename: %s", shown(filename))
	var s SdistFilename
	var stem string
	switch {
	case hasSuffixFold(filename, ".tar.gz"):
		s.Ext, stem = ".tar.gz", filename[:len(filename)-len(".tar.gz")]
	case hasSuffixFold(filename, ".zip"):
		s.Ext, stem = ".zip", filename[:len(filename)-len(".zip")]
	default:
		return SdistFilename{}, bad
	}
	i := strings.LastIndexByte(stem, '-')
	if i <= 0 {
		return SdistFilename{}, bad
	}
	s.Name, s.Version = stem[:i], stem[i+1:]
	// PEP 625: the name part is a project name (normalised, on PyPI; any
	// spelling of one, here) and the version a PEP 440 version.
	if !ValidName(s.Name) || !filenameVersion(s.Version) {
		return SdistFilename{}, bad
	}
	return s, nil
}

// hasSuffixFold reports whether s ends with the ASCII suffix, ignoring ASCII
// case.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && asciiEqualFold(s[len(s)-len(suffix):], suffix)
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// maxFilenameBytes is the usual file-system limit on one path component.
// The PEP 658 metadata file is stored beside the distribution as
// <filename>.metadata, so that name must fit too.
const maxFilenameBytes = 255

// CheckUploadFilename applies Warehouse's upload filename checks in
// Warehouse's order (PROTOCOL.md §2 item 10), returning the first failure
// with Warehouse's message. Only sdists and wheels may be uploaded (PEP 527,
// PEP 715). The length check is ours: Warehouse fails later, when writing.
func CheckUploadFilename(filename string) error {
	for i := 0; i < len(filename); i++ {
		if c := filename[i]; c < 32 || c == 127 {
			return Errorf(ErrInvalid, "Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL character (ordinal 127) in the name.")
		}
	}
	if strings.ContainsAny(filename, `/\`) {
		return Errorf(ErrInvalid, "Cannot upload a file with '/' or '\\' in the name.")
	}
	ok := false
	for _, ext := range []string{".tar.gz", ".zip", ".whl"} {
		// Warehouse's pattern is .+?\.(tar\.gz|zip|whl)$: at least one
		// character must precede the extension.
		if len(filename) > len(ext) && hasSuffixFold(filename, ext) {
			ok = true
		}
	}
	if !ok {
		return Errorf(ErrInvalid, "Invalid file extension: Use .tar.gz, .whl or .zip extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information")
	}
	if len(filename)+len(".metadata") > maxFilenameBytes {
		// Shown whole unless it is far beyond the limit: the message must
		// stay short whatever the client sent.
		return Errorf(ErrInvalid, "Filename is too long: '%s'", Elide(filename, 300))
	}
	return nil
}

// ServableFilename reports whether the static file server serves a stored
// file under this name at its URL, /packages/<hash path>/<name>: not empty,
// no leading dot (temporary files), no path separator of any platform, no
// drive colon, no NUL. An upload that passes CheckUploadFilename and the
// filename parsers always has such a name; a row that does not is a file
// nobody can download.
func ServableFilename(name string) bool {
	return name != "" && name[0] != '.' && !strings.ContainsAny(name, "/\\:\x00")
}
