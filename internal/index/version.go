package index

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// versionRE is the PEP 440 "permissive" pattern as pypa/packaging writes it
// (packaging.version.VERSION_PATTERN), so that every spelling pip and
// Warehouse accept parses here too. Go's leftmost-first submatch rules pick
// the same groups as Python's backtracking engine for this pattern, and the
// (?i) flag mirrors re.IGNORECASE. Surrounding whitespace is trimmed before
// matching (packaging wraps the pattern in \s*).
var versionRE = regexp.MustCompile(`(?i)^v?` +
	`(?:(?:(?P<epoch>[0-9]+)!)?` +
	`(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?:[._-]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[._-]?(?P<pre_n>[0-9]+)?)?` +
	`(?:-(?P<post_n1>[0-9]+)|[._-]?(?P<post_l>post|rev|r)[._-]?(?P<post_n2>[0-9]+)?)?` +
	`(?:[._-]?(?P<dev_l>dev)[._-]?(?P<dev_n>[0-9]+)?)?)` +
	`(?:\+(?P<local>[a-z0-9]+(?:[._-][a-z0-9]+)*))?$`)

// Submatch indexes of versionRE, looked up once so parsing does no map work.
var (
	reEpoch   = versionRE.SubexpIndex("epoch")
	reRelease = versionRE.SubexpIndex("release")
	rePreL    = versionRE.SubexpIndex("pre_l")
	rePreN    = versionRE.SubexpIndex("pre_n")
	rePostN1  = versionRE.SubexpIndex("post_n1")
	rePostL   = versionRE.SubexpIndex("post_l")
	rePostN2  = versionRE.SubexpIndex("post_n2")
	reDevL    = versionRE.SubexpIndex("dev_l")
	reDevN    = versionRE.SubexpIndex("dev_n")
	reLocal   = versionRE.SubexpIndex("local")
)

// Version is a parsed PEP 440 version. Numeric components are kept as
// decimal strings without leading zeros rather than ints: PEP 440 puts no
// bound on them and Python compares them as arbitrary-precision integers, so
// "1.99999999999999999999" must neither overflow nor be rejected.
//
// The zero Version stands for "0"; real values come from ParseVersion.
type Version struct {
	epoch   string   // "" means 0
	release []string // at least one element once parsed
	pre     string   // "a", "b", "rc" or "" when absent
	preN    string
	post    string // "" when absent, else the number
	dev     string // "" when absent, else the number
	local   []localPart
}

// localPart is one dot-separated piece of a local version label. PEP 440
// orders numeric pieces numerically and above alphanumeric ones, so the two
// kinds are kept apart.
type localPart struct {
	s       string // lower case; for numbers, digits without leading zeros
	numeric bool
}

// ParseVersion parses s as packaging.version.Version does: surrounding
// whitespace, a leading "v", upper case, the alternative spellings of PEP
// 440's "Normalization" section and the '.', '-', '_' separators are all
// accepted. The error text after "invalid: " is the one packaging.metadata
// (and so Warehouse) reports for a bad Version field.
func ParseVersion(s string) (Version, error) {
	if v, ok := parsePlainRelease(s); ok {
		return v, nil
	}
	return parseVersionRE(s)
}

// parseVersionRE is ParseVersion through versionRE alone.
func parseVersionRE(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(trimPySpace(s))
	if m == nil {
		return Version{}, Errorf(ErrInvalid, "%s is invalid for 'version'", Repr(s))
	}
	var v Version
	if m[reEpoch] != "" {
		v.epoch = trimNum(m[reEpoch])
		if v.epoch == "0" {
			v.epoch = ""
		}
	}
	for _, part := range strings.Split(m[reRelease], ".") {
		v.release = append(v.release, trimNum(part))
	}
	if m[rePreL] != "" {
		switch strings.ToLower(m[rePreL]) {
		case "a", "alpha":
			v.pre = "a"
		case "b", "beta":
			v.pre = "b"
		default: // c, rc, pre, preview: PEP 440 treats them all as "rc".
			v.pre = "rc"
		}
		v.preN = trimNum(m[rePreN])
	}
	switch {
	case m[rePostN1] != "": // the implicit "1.0-1" form
		v.post = trimNum(m[rePostN1])
	case m[rePostL] != "":
		v.post = trimNum(m[rePostN2])
	}
	if m[reDevL] != "" {
		v.dev = trimNum(m[reDevN])
	}
	if m[reLocal] != "" {
		for _, part := range strings.FieldsFunc(m[reLocal], isSep) {
			if isDigits(part) {
				v.local = append(v.local, localPart{trimNum(part), true})
			} else {
				v.local = append(v.local, localPart{strings.ToLower(part), false})
			}
		}
	}
	return v, nil
}

// String returns the PEP 440 normalized form, identical to
// str(packaging.version.Version(...)): "1.0RC1" -> "1.0rc1",
// "1!2.0-1.dev3+Abc-05" -> "1!2.0.post1.dev3+abc.5".
func (v Version) String() string { return v.format(false) }

// Canonical returns packaging.utils.canonicalize_version(v): the normalized
// form with trailing ".0" release components dropped (keeping at least one),
// so that "1.0", "1.0.0" and "v1" name one release. Warehouse looks releases
// up by this form (PEP 440 says 1.0 == 1.0.0).
func (v Version) Canonical() string { return v.format(true) }

func (v Version) format(trim bool) string {
	var b strings.Builder
	if v.epoch != "" {
		b.WriteString(v.epoch)
		b.WriteByte('!')
	}
	rel := v.release
	if len(rel) == 0 {
		rel = []string{"0"}
	}
	if trim {
		for len(rel) > 1 && rel[len(rel)-1] == "0" {
			rel = rel[:len(rel)-1]
		}
	}
	for i, r := range rel {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(r)
	}
	if v.pre != "" {
		b.WriteString(v.pre)
		b.WriteString(v.preN)
	}
	if v.post != "" {
		b.WriteString(".post")
		b.WriteString(v.post)
	}
	if v.dev != "" {
		b.WriteString(".dev")
		b.WriteString(v.dev)
	}
	for i, p := range v.local {
		if i == 0 {
			b.WriteByte('+')
		} else {
			b.WriteByte('.')
		}
		b.WriteString(p.s)
	}
	return b.String()
}

// IsLocal reports whether v has a local version label ("+..."). PyPI refuses
// such versions on upload (PEP 440: local labels are for downstream builds).
func (v Version) IsLocal() bool { return len(v.local) > 0 }

// IsPrerelease reports whether v has a pre-release or development segment,
// as packaging's Version.is_prerelease does; installers skip such versions
// unless asked (PEP 440 "Handling of pre-releases").
func (v Version) IsPrerelease() bool { return v.pre != "" || v.dev != "" }

// IsDevrelease reports whether v has a development segment (1.0.dev3,
// 2.0rc1.dev4), as packaging's Version.is_devrelease does.
func (v Version) IsDevrelease() bool { return v.dev != "" }

// Equal reports PEP 440 equality, under which trailing zeros in the release
// segment do not matter (1.0 == 1.0.0) but local labels do.
func (v Version) Equal(w Version) bool { return v.Compare(w) == 0 }

// Compare returns -1, 0 or +1 as v sorts before, equal to or after w under
// PEP 440 ordering: epoch, then release (zero padded), then
// dev < pre (a < b < rc) < final < post, and a local label sorts after the
// same public version. It mirrors packaging's _cmpkey.
func (v Version) Compare(w Version) int {
	if c := cmpNum(v.epoch, w.epoch); c != 0 {
		return c
	}
	n := max(len(v.release), len(w.release))
	for i := range n {
		if c := cmpNum(at(v.release, i), at(w.release, i)); c != 0 {
			return c
		}
	}
	if c := cmpRank(v.preRank(), w.preRank()); c != 0 {
		return c
	}
	if v.pre != "" && v.pre == w.pre {
		if c := cmpNum(v.preN, w.preN); c != 0 {
			return c
		}
	}
	// A missing post segment sorts before any post release.
	if c := cmpOptional(v.post, w.post, -1); c != 0 {
		return c
	}
	// A missing dev segment sorts after any dev release.
	if c := cmpOptional(v.dev, w.dev, +1); c != 0 {
		return c
	}
	return cmpLocal(v.local, w.local)
}

// preRank orders the pre-release slot. A bare dev release (1.0.dev0) must
// sort before every pre-release of the same release (1.0a0), while a version
// with no pre-release sorts after all of them; packaging encodes this with
// -Infinity and +Infinity, and we use 0 and 4.
func (v Version) preRank() int {
	switch {
	case v.pre == "a":
		return 1
	case v.pre == "b":
		return 2
	case v.pre == "rc":
		return 3
	case v.post == "" && v.dev != "":
		return 0
	default:
		return 4
	}
}

func cmpRank(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpOptional compares two optional numbers, where "" (absent) sorts on the
// side given by absent (-1 before, +1 after) every present number.
func cmpOptional(a, b string, absent int) int {
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return absent
	case b == "":
		return -absent
	}
	return cmpNum(a, b)
}

// cmpLocal implements PEP 440's local label ordering: no label sorts first;
// pieces compare in turn, numbers numerically and above strings, strings
// lexicographically; a shorter label that is a prefix sorts first.
func cmpLocal(a, b []localPart) int {
	if len(a) == 0 || len(b) == 0 {
		return cmpRank(len(a), len(b))
	}
	for i := range min(len(a), len(b)) {
		x, y := a[i], b[i]
		switch {
		case x.numeric && y.numeric:
			if c := cmpNum(x.s, y.s); c != 0 {
				return c
			}
		case x.numeric != y.numeric:
			if x.numeric {
				return 1
			}
			return -1
		default:
			if c := strings.Compare(x.s, y.s); c != 0 {
				return c
			}
		}
	}
	return cmpRank(len(a), len(b))
}

// cmpNum compares two decimal strings without leading zeros ("" counts as 0).
func cmpNum(a, b string) int {
	if a == "" {
		a = "0"
	}
	if b == "" {
		b = "0"
	}
	if len(a) != len(b) {
		return cmpRank(len(a), len(b))
	}
	return strings.Compare(a, b)
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "0"
}

// trimNum strips leading zeros, so "007" -> "7" and "" or "000" -> "0"; the
// matched text is ASCII digits only.
// parsePlainRelease parses the commonest spelling, a bare release such as
// "1.2.3" (digits separated by single dots), without the regular
// expression: page rewrites parse every release of a project, and the
// regexp is most of that cost. Anything else reports false and goes
// through versionRE, which gives the same result for these strings.
func parsePlainRelease(s string) (Version, bool) {
	n := 1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if i == 0 || i == len(s)-1 || s[i-1] == '.' {
				return Version{}, false
			}
			n++
		case c < '0' || c > '9':
			return Version{}, false
		}
	}
	if s == "" {
		return Version{}, false
	}
	v := Version{release: make([]string, 0, n)}
	for part := range strings.SplitSeq(s, ".") {
		v.release = append(v.release, trimNum(part))
	}
	return v, true
}

func trimNum(s string) string {
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "0"
	}
	return s
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isSep(r rune) bool { return r == '.' || r == '-' || r == '_' }

// isPySpace reports whether r is whitespace to Python (str.isspace, which is
// what \s and str.strip use): Go's unicode.IsSpace plus the ASCII
// information separators U+001C..U+001F.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pySpace is isPySpace as a regexp character class body, for patterns that
// transcribe Python's \s (Go's \s is ASCII only).
const pySpace = `\t\n\v\f\r \x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`

// trimPySpace is Python's str.strip().
func trimPySpace(s string) string { return strings.TrimFunc(s, isPySpace) }

// Repr quotes s as Python's repr(str) does. packaging and Warehouse build
// their messages with {value!r}, and clients may match on them, so quoting
// the same way keeps our texts byte-identical, including for values that
// contain quotes.
func Repr(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	b.WriteByte(quote)
	return b.String()
}
