package index

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// specifierBody is one PEP 440 version specifier, transcribed from
// packaging's Specifier._specifier_regex_str. Each operator admits a
// different version syntax: "===" takes anything up to whitespace, ';' or
// ')'; "==" and "!=" allow a ".*" prefix match or a local label; "~=" needs
// at least two release components; ordered comparisons allow neither.
const specifierBody = `(?:` +
	`===[` + pySpace + `]*[^` + pySpace + `;)]*` +
	`|(?:==|!=)[` + pySpace + `]*v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*` +
	`(?:\.\*|` + specPre + specPost + specDev + `(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?)?` +
	`|~=[` + pySpace + `]*v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)+` + specPre + specPost + specDev +
	`|(?:<=|>=|<|>)[` + pySpace + `]*v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*` + specPre + specPost + specDev +
	`)`

const (
	specPre  = `(?:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?`
	specPost = `(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?`
	specDev  = `(?:[-_.]?dev[-_.]?[0-9]*)?`
)

var (
	// specifierRE validates one stripped item of a specifier set.
	specifierRE = regexp.MustCompile(`(?i)^` + specifierBody + `$`)
	// specifierPrefixRE is the requirement tokenizer's SPECIFIER token: a
	// prefix match whose extent follows Python's backtracking priorities,
	// which Go's leftmost-first matching reproduces.
	specifierPrefixRE = regexp.MustCompile(`(?i)^` + specifierBody)
	// localTrailRE spots a local label after an operator that forbids one,
	// only to give a better message.
	localTrailRE = regexp.MustCompile(`^\+[a-z0-9]+(?:[-_.][a-z0-9]+)*`)
)

// CheckSpecifierSet validates a comma-separated PEP 440 specifier set as
// packaging.specifiers.SpecifierSet parses it, which is how Warehouse checks
// Requires-Python (PEP 345 / core metadata 1.2). Empty items are skipped, so
// "" and ">=3.8," are valid. The error names the first bad item.
func CheckSpecifierSet(s string) error {
	for _, item := range strings.Split(s, ",") {
		item = trimPySpace(item)
		if item != "" && !specifierRE.MatchString(item) {
			return Errorf(ErrInvalid, "Invalid specifier: %s", Repr(item))
		}
	}
	return nil
}

// Requirement is a parsed PEP 508 dependency specifier, such as a
// Requires-Dist value. It records what was written; nothing is evaluated.
type Requirement struct {
	// Name is the project name as written (not normalized).
	Name string
	// Extras are the extra names in the order written.
	Extras []string
	// Specifier is the version specifier set as packaging keeps it: the
	// items joined by ',' without the surrounding whitespace or optional
	// parentheses (">= 1.0,<2"), or "".
	Specifier string
	// URL is the direct reference after "@", or "".
	URL string
	// Marker is the environment marker after ';', trimmed, or "".
	Marker string
}

// maxMarkerDepth bounds parenthesis nesting in markers. Python's default
// recursion limit stops packaging just under 500 levels; real markers use
// two or three, and the bound keeps hostile input from costing deep
// recursion.
const maxMarkerDepth = 480

// ParseRequirement parses s with the grammar of packaging's hand-written
// PEP 508 parser (packaging/_parser.py) and validates the version specifier
// as SpecifierSet does. Markers are checked for syntax only: known
// variables, operators, Python string literals, and/or and parentheses.
func ParseRequirement(s string) (Requirement, error) {
	if !utf8.ValidString(s) {
		return Requirement{}, Errorf(ErrInvalid, "Invalid requirement: %s: not UTF-8", Repr(s))
	}
	p := reqParser{src: s}
	r, err := p.requirement()
	if err != nil {
		return Requirement{}, err
	}
	if err := CheckSpecifierSet(r.Specifier); err != nil {
		msg, _ := PublicMessage(err)
		return Requirement{}, Errorf(ErrInvalid, "%s in requirement %s", msg, Repr(s))
	}
	return r, nil
}

// reqParser is a recursive-descent parser over a byte offset into src. Its
// token rules are packaging's DEFAULT_RULES, matched at the current offset.
type reqParser struct {
	src   string
	pos   int
	depth int
}

func (p *reqParser) fail(msg string) error {
	return Errorf(ErrInvalid, "Invalid requirement: %s: %s at position %d", Repr(p.src), msg, p.pos)
}

func (p *reqParser) requirement() (Requirement, error) {
	var r Requirement
	p.ws()
	name, ok := p.identifier()
	if !ok {
		return r, p.fail("Expected package name at the start of dependency specifier")
	}
	r.Name = name
	p.ws()
	if p.peek('[') {
		p.pos++
		p.ws()
		extras, err := p.extras()
		if err != nil {
			return r, err
		}
		r.Extras = extras
		p.ws()
		if !p.peek(']') {
			return r, p.fail("Expected matching RIGHT_BRACKET for LEFT_BRACKET, after extras")
		}
		p.pos++
	}
	p.ws()
	if err := p.details(&r); err != nil {
		return r, err
	}
	if !p.atEnd() {
		return r, p.fail("Expected end of dependency specifier")
	}
	return r, nil
}

// details parses what follows the name and extras: either "@ URL" or a
// specifier, then an optional "; marker".
func (p *reqParser) details(r *Requirement) error {
	if p.peek('@') {
		p.pos++
		p.ws()
		start := p.pos
		for p.pos < len(p.src) && p.src[p.pos] != ' ' && p.src[p.pos] != '\t' {
			p.pos++
		}
		if p.pos == start {
			return p.fail("Expected URL after @")
		}
		r.URL = p.src[start:p.pos]
		if p.atEnd() {
			return nil
		}
		// PEP 508 needs whitespace between a URL and ';' because ';' is
		// legal inside URLs.
		if !p.ws() {
			return p.fail("Expected whitespace after URL")
		}
		if p.atEnd() {
			return nil
		}
		return p.marker(r, "Expected end or semicolon (after URL and whitespace)")
	}
	spec, err := p.specifier()
	if err != nil {
		return err
	}
	r.Specifier = spec
	p.ws()
	if p.atEnd() {
		return nil
	}
	if spec != "" {
		return p.marker(r, "Expected end or semicolon (after version specifier)")
	}
	return p.marker(r, "Expected end or semicolon (after name and no valid version specifier)")
}

func (p *reqParser) marker(r *Requirement, missing string) error {
	if !p.peek(';') {
		return p.fail(missing)
	}
	p.pos++
	start := p.pos
	if err := p.markerExpr(); err != nil {
		return err
	}
	p.ws()
	r.Marker = strings.Trim(p.src[start:p.pos], " \t")
	return nil
}

func (p *reqParser) extras() ([]string, error) {
	first, ok := p.identifier()
	if !ok {
		return nil, nil
	}
	extras := []string{first}
	for {
		p.ws()
		if _, ok := p.matchIdentifier(); ok {
			return nil, p.fail("Expected comma between extra names")
		}
		if !p.peek(',') {
			return extras, nil
		}
		p.pos++
		p.ws()
		e, ok := p.identifier()
		if !ok {
			return nil, p.fail("Expected extra name after comma")
		}
		extras = append(extras, e)
	}
}

// specifier parses "(version_many)" or "version_many", returning the
// specifier tokens and commas joined without the whitespace between them.
func (p *reqParser) specifier() (string, error) {
	paren := p.peek('(')
	if paren {
		p.pos++
	}
	p.ws()
	var b strings.Builder
	for {
		loc := specifierPrefixRE.FindStringIndex(p.src[p.pos:])
		if loc == nil {
			break
		}
		tok := p.src[p.pos : p.pos+loc[1]]
		p.pos += loc[1]
		b.WriteString(tok)
		if strings.HasPrefix(p.src[p.pos:], ".*") {
			if strings.HasPrefix(tok, "==") || strings.HasPrefix(tok, "!=") {
				return "", p.fail(".* suffix cannot be used after pre-release, post-release, developmental release, or local version labels")
			}
			return "", p.fail(".* suffix can only be used with `==` or `!=` operators")
		}
		if localTrailRE.MatchString(p.src[p.pos:]) {
			return "", p.fail("Local version label can only be used with `==` or `!=` operators")
		}
		p.ws()
		if !p.peek(',') {
			break
		}
		p.pos++
		b.WriteByte(',')
		p.ws()
	}
	p.ws()
	if paren {
		if !p.peek(')') {
			return "", p.fail("Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after version specifier")
		}
		p.pos++
	}
	return b.String(), nil
}

// markerExpr parses marker_atom (("and"|"or") marker_atom)*. PEP 508 gives
// "and" higher precedence, but validation does not need the tree.
func (p *reqParser) markerExpr() error {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxMarkerDepth {
		return p.fail("Marker expression nested too deeply")
	}
	for {
		if err := p.markerAtom(); err != nil {
			return err
		}
		if !p.keyword("or") && !p.keyword("and") {
			return nil
		}
	}
}

func (p *reqParser) markerAtom() error {
	p.ws()
	if p.peek('(') {
		p.pos++
		p.ws()
		if err := p.markerExpr(); err != nil {
			return err
		}
		p.ws()
		if !p.peek(')') {
			return p.fail("Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after marker expression")
		}
		p.pos++
	} else {
		if err := p.markerVar(); err != nil {
			return err
		}
		p.ws()
		if err := p.markerOp(); err != nil {
			return err
		}
		p.ws()
		if err := p.markerVar(); err != nil {
			return err
		}
	}
	p.ws()
	return nil
}

// markerVariables are the PEP 508 environment markers, the dotted legacy
// spellings packaging still accepts, and PEP 751's "extras" and
// "dependency_groups", which current packaging (and so Warehouse) accepts.
var markerVariables = []string{
	"python_version", "python_full_version",
	"os_name", "os.name", "sys_platform", "sys.platform",
	"platform_release", "platform_system",
	"platform_version", "platform.version",
	"platform_machine", "platform.machine",
	"platform_python_implementation", "platform.python_implementation",
	"python_implementation",
	"implementation_name", "implementation_version",
	"extra", "extras", "dependency_groups",
}

func (p *reqParser) markerVar() error {
	for _, name := range markerVariables {
		if p.keyword(name) {
			return nil
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == '\'' || p.src[p.pos] == '"') {
		q := p.src[p.pos]
		end := strings.IndexByte(p.src[p.pos+1:], q)
		if end >= 0 {
			start := p.pos
			p.pos += end + 2
			if !validPyString(p.src[start+1 : p.pos-1]) {
				p.pos = start
				return p.fail("Invalid quoted string")
			}
			return nil
		}
	}
	return p.fail("Expected a marker variable or quoted string")
}

func (p *reqParser) markerOp() error {
	if p.keyword("in") {
		return nil
	}
	if p.keyword("not") {
		if !p.ws() {
			return p.fail("Expected whitespace after 'not'")
		}
		if !p.keyword("in") {
			return p.fail("Expected 'in' after 'not'")
		}
		return nil
	}
	for _, op := range []string{"===", "==", "~=", "!=", "<=", ">=", "<", ">"} {
		if strings.HasPrefix(p.src[p.pos:], op) {
			p.pos += len(op)
			return nil
		}
	}
	return p.fail("Expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in")
}

// ws skips PEP 508 whitespace (spaces and tabs only) and reports whether
// there was any.
func (p *reqParser) ws() bool {
	start := p.pos
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
	return p.pos > start
}

func (p *reqParser) peek(c byte) bool { return p.pos < len(p.src) && p.src[p.pos] == c }

// atEnd is the tokenizer's END rule, Python's "$", which also matches
// before a final newline.
func (p *reqParser) atEnd() bool {
	return p.pos == len(p.src) || (p.pos == len(p.src)-1 && p.src[p.pos] == '\n')
}

// keyword consumes word when it stands at the current offset between word
// boundaries (Python's Unicode \b), as the BOOLOP, IN, NOT and VARIABLE
// rules require.
func (p *reqParser) keyword(word string) bool {
	end := p.pos + len(word)
	if !strings.HasPrefix(p.src[p.pos:], word) || !p.boundary(p.pos) || !p.boundary(end) {
		return false
	}
	p.pos = end
	return true
}

// identifier consumes an IDENTIFIER token: \b[a-zA-Z0-9][a-zA-Z0-9._-]*\b.
func (p *reqParser) identifier() (string, bool) {
	end, ok := p.matchIdentifier()
	if !ok {
		return "", false
	}
	s := p.src[p.pos:end]
	p.pos = end
	return s, true
}

// matchIdentifier finds the end of an IDENTIFIER at the current offset
// without consuming it. Like the backtracking regex it takes the longest
// run that ends on a word boundary, so "foo." yields "foo".
func (p *reqParser) matchIdentifier() (int, bool) {
	if p.pos >= len(p.src) || !isASCIIAlnum(p.src[p.pos]) || !p.boundary(p.pos) {
		return 0, false
	}
	end := p.pos + 1
	for end < len(p.src) && (isASCIIAlnum(p.src[end]) || strings.IndexByte("._-", p.src[end]) >= 0) {
		end++
	}
	for ; end > p.pos; end-- {
		if p.boundary(end) {
			return end, true
		}
	}
	return 0, false
}

// boundary reports whether offset i is a word boundary in Python's Unicode
// sense: word characters are letters, numbers and '_'.
func (p *reqParser) boundary(i int) bool {
	before, after := false, false
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(p.src[:i])
		before = isWordRune(r)
	}
	if i < len(p.src) {
		r, _ := utf8.DecodeRuneInString(p.src[i:])
		after = isWordRune(r)
	}
	return before != after
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

func isASCIIAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// validPyString reports whether body, the text between the quotes of a
// marker value, is a valid Python string literal body: packaging evaluates
// it with ast.literal_eval, so a bad escape or a raw line break is a syntax
// error there. Unknown escapes such as "\d" are only a warning in Python and
// are accepted. \N{name} is accepted for any plausible name; checking it
// against the Unicode name table would need data the standard library does
// not have.
func validPyString(body string) bool {
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '\n', '\r', 0:
			return false
		case '\\':
			i++
			if i == len(body) {
				return false
			}
			var digits int
			switch body[i] {
			case '\n':
				continue // line continuation
			case '\r':
				if i+1 < len(body) && body[i+1] == '\n' {
					i++
				}
				continue
			case 'x':
				digits = 2
			case 'u':
				digits = 4
			case 'U':
				digits = 8
			case 'N':
				end := strings.IndexByte(body[i:], '}')
				if i+1 >= len(body) || body[i+1] != '{' || end < 3 {
					return false
				}
				for _, c := range []byte(body[i+2 : i+end]) {
					if !isASCIIAlnum(c) && c != ' ' && c != '-' {
						return false
					}
				}
				i += end
				continue
			default:
				continue
			}
			if i+digits >= len(body) {
				return false
			}
			n, err := strconv.ParseUint(body[i+1:i+1+digits], 16, 32)
			if err != nil || n > unicode.MaxRune {
				return false
			}
			i += digits
		}
	}
	return true
}
