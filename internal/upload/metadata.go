package upload

import (
	"fmt"
	"mime"
	"net/mail"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// coreMetadataHelp ends every metadata error, as Warehouse's file_upload
// appends it (PROTOCOL.md 2, item 4).
const coreMetadataHelp = " See https://packaging.python.org/specifications/core-metadata for more information."

// Limits Warehouse puts on top of the core-metadata spec (PROTOCOL.md 1.7).
const (
	maxSummaryChars  = 512
	maxURLLabelChars = 32
)

// supportedMetadataVersions are the Metadata-Version values Warehouse accepts.
// packaging also knows 2.6; Warehouse rejects it with the same message.
var supportedMetadataVersions = map[string]bool{
	"1.0": true, "1.1": true, "1.2": true, "2.1": true, "2.2": true, "2.3": true, "2.4": true, "2.5": true,
}

// metadataField is one core-metadata field as the upload form carries it
// (PROTOCOL.md 1.3): form is the form name, header the core-metadata field
// name lower-cased, which is how packaging and Warehouse name a field in
// their errors and how they order them.
type metadataField struct {
	form, header string
	multi        bool
	set          func(md *index.Metadata, vs []string)
}

func setString(f func(*index.Metadata) *string) func(*index.Metadata, []string) {
	return func(md *index.Metadata, vs []string) { *f(md) = vs[0] }
}

func setList(f func(*index.Metadata) *[]string) func(*index.Metadata, []string) {
	return func(md *index.Metadata, vs []string) { *f(md) = vs }
}

func setExtra(key string) func(*index.Metadata, []string) {
	return func(md *index.Metadata, vs []string) {
		if md.Extra == nil {
			md.Extra = map[string][]string{}
		}
		md.Extra[key] = vs
	}
}

// metadataFields lists every core-metadata field the form may carry.
// Upload-only fields (":action", "filetype", digests, …) and unknown names
// are not here and so are ignored, as Warehouse ignores them. Keywords and
// Project-URL are handled specially by parseMetadata.
var metadataFields = []metadataField{
	{"metadata_version", "metadata-version", false, setString(func(m *index.Metadata) *string { return &m.MetadataVersion })},
	{"name", "name", false, setString(func(m *index.Metadata) *string { return &m.Name })},
	{"version", "version", false, setString(func(m *index.Metadata) *string { return &m.Version })},
	{"summary", "summary", false, setString(func(m *index.Metadata) *string { return &m.Summary })},
	{"description", "description", false, setString(func(m *index.Metadata) *string { return &m.Description })},
	{"description_content_type", "description-content-type", false, setString(func(m *index.Metadata) *string { return &m.DescriptionContentType })},
	{"keywords", "keywords", false, nil},
	{"home_page", "home-page", false, setString(func(m *index.Metadata) *string { return &m.HomePage })},
	{"download_url", "download-url", false, setString(func(m *index.Metadata) *string { return &m.DownloadURL })},
	{"author", "author", false, setString(func(m *index.Metadata) *string { return &m.Author })},
	{"author_email", "author-email", false, setString(func(m *index.Metadata) *string { return &m.AuthorEmail })},
	{"maintainer", "maintainer", false, setString(func(m *index.Metadata) *string { return &m.Maintainer })},
	{"maintainer_email", "maintainer-email", false, setString(func(m *index.Metadata) *string { return &m.MaintainerEmail })},
	{"license", "license", false, setString(func(m *index.Metadata) *string { return &m.License })},
	{"license_expression", "license-expression", false, setString(func(m *index.Metadata) *string { return &m.LicenseExpression })},
	{"requires_python", "requires-python", false, setString(func(m *index.Metadata) *string { return &m.RequiresPython })},
	{"classifiers", "classifier", true, setList(func(m *index.Metadata) *[]string { return &m.Classifiers })},
	{"platform", "platform", true, setList(func(m *index.Metadata) *[]string { return &m.Platforms })},
	{"supported_platform", "supported-platform", true, setList(func(m *index.Metadata) *[]string { return &m.SupportedPlatforms })},
	{"requires", "requires", true, setList(func(m *index.Metadata) *[]string { return &m.Requires })},
	{"provides", "provides", true, setList(func(m *index.Metadata) *[]string { return &m.Provides })},
	{"obsoletes", "obsoletes", true, setList(func(m *index.Metadata) *[]string { return &m.Obsoletes })},
	{"requires_dist", "requires-dist", true, setList(func(m *index.Metadata) *[]string { return &m.RequiresDist })},
	{"provides_dist", "provides-dist", true, setList(func(m *index.Metadata) *[]string { return &m.ProvidesDist })},
	{"obsoletes_dist", "obsoletes-dist", true, setList(func(m *index.Metadata) *[]string { return &m.ObsoletesDist })},
	{"requires_external", "requires-external", true, setList(func(m *index.Metadata) *[]string { return &m.RequiresExternal })},
	{"provides_extra", "provides-extra", true, setList(func(m *index.Metadata) *[]string { return &m.ProvidesExtra })},
	{"dynamic", "dynamic", true, setList(func(m *index.Metadata) *[]string { return &m.Dynamic })},
	{"license_file", "license-file", true, setList(func(m *index.Metadata) *[]string { return &m.LicenseFiles })},
	{"project_urls", "project-url", true, nil},
	// Metadata 2.5 (PEP 794) fields without a column of their own.
	{"import_name", "import-name", true, setExtra("import_name")},
	{"import_namespace", "import-namespace", true, setExtra("import_namespace")},
}

// coreHeaders is every core-metadata field name, which is what packaging
// allows in Dynamic.
var coreHeaders = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range metadataFields {
		m[f.header] = true
	}
	return m
}()

// metadataError is one failed check, named by the field it concerns.
type metadataError struct {
	field string
	msg   string
	err   error // used as is when set (index.CheckName already has its tail)
}

type metadataErrors []metadataError

func (errs *metadataErrors) add(field, format string, args ...any) {
	*errs = append(*errs, metadataError{field: field, msg: fmt.Sprintf(format, args...)})
}

// err reports one error the way Warehouse picks it: the first failure of
// metadata-version, name or version, else the first failure of the
// alphabetically first field.
func (errs metadataErrors) err() error {
	if len(errs) == 0 {
		return nil
	}
	pick := 0
	for i := range errs {
		if errorRank(errs[i].field) < errorRank(errs[pick].field) {
			pick = i
		}
	}
	e := errs[pick]
	if e.err != nil {
		return e.err
	}
	msg := e.msg
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return index.Errorf(index.ErrInvalid, "%s%s", msg, coreMetadataHelp)
}

// errorRank orders fields for reporting: the three that "tend to influence
// all of the other errors" (Warehouse's words) first, then alphabetically.
func errorRank(field string) string {
	switch field {
	case "metadata-version":
		return "0"
	case "name":
		return "1"
	case "version":
		return "2"
	}
	return "3" + field
}

// parseMetadata builds a release's core metadata from the upload form's
// non-file fields and validates it as Warehouse does (PROTOCOL.md 1.3 and 2,
// item 4), reporting one error in Warehouse's words.
//
// Checks run in Warehouse's three rounds, and a round only runs when the one
// before found nothing: fields that cannot be parsed at all, then packaging's
// own validation, then Warehouse's additions. Two deliberate leniencies:
// repeated "keywords" parts (distutils sends one per keyword) are joined
// with ", ", and a field newer than the declared Metadata-Version is
// accepted (distutils declares 1.0 and sends classifiers).
//
// Without pypiRules, the refusals that only a public index needs are left
// out (PROTOCOL.md 11, docs/uploads.md): local versions, e-mail addresses on
// special-use domains, classifiers outside the public list, and direct URL
// references in Requires-Dist. Every syntax check stays, with its message.
func parseMetadata(form map[string][]string, pypiRules bool) (index.Metadata, error) {
	var md index.Metadata
	var errs metadataErrors
	for _, f := range metadataFields {
		vs := formValues(form[f.form])
		if len(vs) == 0 {
			continue
		}
		switch {
		case f.form == "keywords":
			md.Keywords = strings.Join(vs, ", ")
		case f.form == "project_urls":
			urls, ok := parseProjectURLs(vs)
			if !ok {
				errs.add(f.header, "'%s' has invalid data", f.form)
			}
			md.ProjectURLs = urls
		case !f.multi && len(vs) > 1:
			errs.add(f.header, "'%s' has invalid data", f.form)
		default:
			f.set(&md, vs)
		}
	}
	if err := errs.err(); err != nil {
		return index.Metadata{}, err
	}
	version, errs := checkPackaging(&md)
	if err := errs.err(); err != nil {
		return index.Metadata{}, err
	}
	if err := checkWarehouse(&md, version, pypiRules).err(); err != nil {
		return index.Metadata{}, err
	}
	return md, nil
}

// formValues drops what Warehouse treats as absent: empty parts and the
// distutils placeholder "UNKNOWN". The caller has usually done so already.
func formValues(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v != "" && strings.TrimSpace(v) != "UNKNOWN" {
			out = append(out, v)
		}
	}
	return out
}

// parseProjectURLs splits "label, url" pairs as packaging's
// _parse_project_urls does: at the first comma, both sides stripped. A
// repeated label makes the field unparsable.
func parseProjectURLs(vs []string) ([]index.ProjectURL, bool) {
	urls := make([]index.ProjectURL, 0, len(vs))
	seen := map[string]bool{}
	for _, v := range vs {
		label, u, _ := strings.Cut(v, ",")
		label, u = strings.TrimSpace(label), strings.TrimSpace(u)
		if seen[label] {
			return nil, false
		}
		seen[label] = true
		urls = append(urls, index.ProjectURL{Label: label, URL: u})
	}
	return urls, true
}

// checkPackaging is what packaging.metadata.Metadata.from_raw validates,
// with Warehouse's name rule (index.CheckName) for Name. It returns the
// parsed version for the next round.
func checkPackaging(md *index.Metadata) (index.Version, metadataErrors) {
	var errs metadataErrors
	switch {
	case md.MetadataVersion == "":
		errs.add("metadata-version", "None is not a valid metadata version")
	case !supportedMetadataVersions[md.MetadataVersion]:
		errs.add("metadata-version", "%s is not a valid metadata version", index.Repr(md.MetadataVersion))
	}
	if md.Name == "" {
		errs.add("name", "'name' is a required field")
	} else if err := index.CheckName(md.Name); err != nil {
		errs = append(errs, metadataError{field: "name", err: err})
	}
	var version index.Version
	if md.Version == "" {
		errs.add("version", "'version' is a required field")
	} else if v, err := index.ParseVersion(md.Version); err != nil {
		errs.add("version", "%s is invalid for 'version'", index.Repr(md.Version))
	} else {
		version = v
	}
	if strings.Contains(md.Summary, "\n") {
		errs.add("summary", "'summary' must be a single line")
	}
	if md.DescriptionContentType != "" {
		if msg := checkContentType(md.DescriptionContentType); msg != "" {
			errs.add("description-content-type", "%s", msg)
		}
	}
	for _, d := range md.Dynamic {
		d = strings.ToLower(d)
		if d == "name" || d == "version" || d == "metadata-version" {
			errs.add("dynamic", "%s is not allowed as a dynamic field", index.Repr(d))
			break
		}
		if !coreHeaders[d] {
			errs.add("dynamic", "%s is not a valid dynamic field", index.Repr(d))
			break
		}
	}
	for _, e := range md.ProvidesExtra {
		if !index.ValidName(e) {
			errs.add("provides-extra", "%s is invalid for 'provides-extra'", index.Repr(e))
			break
		}
	}
	if md.RequiresPython != "" {
		if err := index.CheckSpecifierSet(md.RequiresPython); err != nil {
			errs.add("requires-python", "%s is invalid for 'requires-python'", index.Repr(md.RequiresPython))
		}
	}
	for _, r := range md.RequiresDist {
		if _, err := index.ParseRequirement(r); err != nil {
			errs.add("requires-dist", "%s is invalid for 'requires-dist'", index.Repr(r))
			break
		}
	}
	for _, p := range md.LicenseFiles {
		if msg := checkLicenseFile(p); msg != "" {
			errs.add("license-file", "%s is invalid for 'license-file', %s", index.Repr(p), msg)
			break
		}
	}
	for _, field := range []string{"import_name", "import_namespace"} {
		for _, v := range md.Extra[field] {
			if msg := checkImportName(v, strings.ReplaceAll(field, "_", "-")); msg != "" {
				errs.add(strings.ReplaceAll(field, "_", "-"), "%s", msg)
				break
			}
		}
	}
	return version, errs
}

// checkWarehouse is Warehouse's own layer (forklift/metadata.py
// _validate_metadata), run only on metadata packaging accepted; the rules
// of a public index apply only with pypiRules.
func checkWarehouse(md *index.Metadata, version index.Version, pypiRules bool) metadataErrors {
	var errs metadataErrors
	if pypiRules && version.IsLocal() {
		errs.add("version", "The use of local versions in '%s' is not allowed.", version.String())
	}
	if utf8.RuneCountInString(md.Summary) > maxSummaryChars {
		errs.add("summary", "'summary' field must be %d characters or less.", maxSummaryChars)
	}
	if msg := checkEmail(md.AuthorEmail, pypiRules); msg != "" {
		errs.add("author-email", "%s", msg)
	}
	if msg := checkEmail(md.MaintainerEmail, pypiRules); msg != "" {
		errs.add("maintainer-email", "%s", msg)
	}
	if pypiRules {
		for _, msg := range checkClassifiers(md.Classifiers) {
			errs.add("classifier", "%s", msg)
		}
	}
	if md.HomePage != "" && !validURL(md.HomePage) {
		errs.add("home-page", "%s is not a valid url.", index.Repr(md.HomePage))
	}
	if md.DownloadURL != "" && !validURL(md.DownloadURL) {
		errs.add("download-url", "%s is not a valid url.", index.Repr(md.DownloadURL))
	}
	for _, pu := range md.ProjectURLs {
		switch {
		case pu.Label == "":
			errs.add("project-url", "Must have a label")
		case utf8.RuneCountInString(pu.Label) > maxURLLabelChars:
			errs.add("project-url", "%s must be %d characters or less.", index.Repr(pu.Label), maxURLLabelChars)
		case pu.URL == "":
			errs.add("project-url", "Must have a URL")
		case !validURL(pu.URL):
			errs.add("project-url", "%s is not a valid url", index.Repr(pu.URL))
		}
	}
	for _, f := range []struct {
		header string
		reqs   []string
	}{{"provides-dist", md.ProvidesDist}, {"obsoletes-dist", md.ObsoletesDist}} {
		for _, s := range f.reqs {
			r, err := index.ParseRequirement(s)
			switch {
			case err != nil:
				errs.add(f.header, "%s is invalid: %s", index.Repr(s), errDetail(err))
			case r.URL != "":
				errs.add(f.header, "Can't have direct dependency: %s", index.Repr(s))
			}
		}
	}
	for _, s := range md.RequiresDist {
		// A private index serves packages that depend on internal
		// repositories ("pkg @ git+https://git.corp/pkg"); PyPI may not.
		if r, err := index.ParseRequirement(s); pypiRules && err == nil && r.URL != "" {
			errs.add("requires-dist", "Can't have direct dependency: %s", strings.TrimSpace(s))
		}
	}
	for _, d := range md.Dynamic {
		// Warehouse's DYNAMIC_FIELDS is every field but these; packaging
		// already refused the first three.
		if d = strings.ToLower(d); d == "dynamic" {
			errs.add("dynamic", "Dynamic field %s is not a valid dynamic field.", index.Repr(d))
		}
	}
	if md.License != "" && md.LicenseExpression != "" {
		errs.add("license", "License is deprecated when License-Expression is present. Only License-Expression should be present.")
	}
	return errs
}

// checkContentType is packaging's Description-Content-Type rule. Its
// messages print Python lists, including the odd list of the charset's
// characters.
func checkContentType(value string) string {
	mt, params, err := mime.ParseMediaType(value)
	if err != nil && err != mime.ErrInvalidMediaParameter {
		mt, params = "text/plain", nil // Python's email package falls back so
	}
	switch mt {
	case "text/plain", "text/x-rst", "text/markdown":
	default:
		mt = ""
	}
	if mt == "" || !strings.Contains(strings.ToLower(value), mt) {
		return fmt.Sprintf("'description-content-type' must be one of ['text/x-rst', 'text/plain', 'text/markdown'], not %s", index.Repr(value))
	}
	if cs, ok := params["charset"]; ok && cs != "UTF-8" {
		chars := make([]string, 0, len(cs))
		for _, r := range cs {
			chars = append(chars, string(r))
		}
		return fmt.Sprintf("'description-content-type' can only specify the UTF-8 charset, not %s", pyList(chars))
	}
	if v, ok := params["variant"]; ok && mt == "text/markdown" && v != "GFM" && v != "CommonMark" {
		return fmt.Sprintf("valid Markdown variants for 'description-content-type' are ['GFM', 'CommonMark'], not %s", index.Repr(v))
	}
	return ""
}

// checkLicenseFile is packaging's License-File path rule; it returns the
// reason after "… is invalid for 'license-file', ".
func checkLicenseFile(p string) string {
	switch {
	case strings.Contains(p, ".."):
		return "parent directory indicators are not allowed"
	case strings.Contains(p, "*"):
		return "paths must be resolved"
	case isAbsPath(p):
		return "paths must be relative"
	case strings.Contains(p, `\`):
		return "paths must use '/' delimiter"
	}
	return ""
}

// pythonKeywords are the words str.isidentifier() accepts that an import
// name may not use (keyword.kwlist).
var pythonKeywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
}

// checkImportName is packaging's Import-Name / Import-Namespace rule
// (PEP 794): dotted identifiers, optionally followed by "; private".
func checkImportName(v, header string) string {
	name, opt, hasOpt := strings.Cut(v, ";")
	name = strings.TrimRightFunc(name, unicode.IsSpace)
	for _, id := range strings.Split(name, ".") {
		if !isIdentifier(id) {
			return fmt.Sprintf("%s is invalid for '%s'; %s is not a valid identifier", index.Repr(name), header, index.Repr(id))
		}
		if pythonKeywords[id] {
			return fmt.Sprintf("%s is invalid for '%s'; %s is a keyword", index.Repr(name), header, index.Repr(id))
		}
	}
	if hasOpt && strings.TrimLeftFunc(opt, unicode.IsSpace) != "private" {
		return fmt.Sprintf("%s is invalid for '%s'; the only valid option is 'private'", index.Repr(v), header)
	}
	return ""
}

// isIdentifier approximates str.isidentifier() (XID_Start XID_Continue*).
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r)
		if i > 0 {
			ok = ok || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd, unicode.Pc)
		}
		if !ok {
			return false
		}
	}
	return true
}

// reservedTLDs are the special-use names email-validator refuses even without
// a deliverability check.
var reservedTLDs = map[string]bool{"arpa": true, "invalid": true, "local": true, "localhost": true, "onion": true, "test": true}

// checkEmail is Warehouse's Author-email / Maintainer-email rule: every
// address must be a plausible addr-spec. Warehouse parses with Python's
// lenient email.utils and validates with email-validator; we parse with
// net/mail and check the addr-spec's shape, with email-validator's wording.
// A value net/mail cannot parse but that contains an '@' is let through, as
// Python's parser gives up on such values without an error. Domains that
// are special-use or reserved (RFC 6761: .local, .test, .invalid, home.arpa)
// are refused only with pypiRules: a private index's users have addresses
// on them.
func checkEmail(value string, pypiRules bool) string {
	if value == "" {
		return ""
	}
	list, err := mail.ParseAddressList(value)
	if err != nil {
		if strings.Contains(value, "@") {
			if strings.ContainsAny(value, " <>,\"") {
				return ""
			}
			list = []*mail.Address{{Address: value}}
		} else {
			list = []*mail.Address{{Address: strings.TrimSpace(value)}}
		}
	}
	for _, a := range list {
		if reason := addrSpecProblem(a.Address, pypiRules); reason != "" {
			return fmt.Sprintf("%s is not a valid email address: %s", index.Repr(a.Address), reason)
		}
	}
	return ""
}

func addrSpecProblem(addr string, pypiRules bool) string {
	switch strings.Count(addr, "@") {
	case 0:
		return "An email address must have an @-sign."
	case 1:
	default:
		return "The email address is not valid. It must have exactly one @-sign."
	}
	local, domain, _ := strings.Cut(addr, "@")
	switch {
	case local == "":
		return "There must be something before the @-sign."
	case domain == "":
		return "There must be something after the @-sign."
	case strings.HasSuffix(domain, "."):
		return "An email address cannot end with a period."
	case strings.HasPrefix(domain, ".") || strings.Contains(domain, ".."):
		return "An email address cannot have two periods in a row."
	case !strings.Contains(domain, "."):
		return "The part after the @-sign is not valid. It should have a period."
	case strings.HasPrefix(domain, "-"):
		return "An email address cannot have a hyphen immediately after the @-sign."
	}
	if pypiRules && reservedTLDs[strings.ToLower(domain[strings.LastIndexByte(domain, '.')+1:])] {
		return "The part after the @-sign is a special-use or reserved name that cannot be used with email."
	}
	return ""
}

// validURL is Warehouse's is_valid_uri(url, require_authority=False): an
// http or https URI whose parts are syntactically valid.
func validURL(s string) bool {
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' }) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return false
	}
	if port := u.Port(); port != "" {
		for _, c := range port {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// isAbsPath is PurePosixPath(p).is_absolute() or
// PureWindowsPath(p).is_absolute(): a leading slash, a drive with a root
// ("C:/", `C:\`) or a UNC path.
func isAbsPath(p string) bool {
	if path.IsAbs(p) || strings.HasPrefix(p, `\\`) {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '/' || p[2] == '\\') &&
		('a' <= p[0]|0x20 && p[0]|0x20 <= 'z')
}

// errDetail is the client-facing text of an error from index's parsers:
// its public message.
func errDetail(err error) string {
	if msg, ok := index.PublicMessage(err); ok {
		return msg
	}
	return "invalid"
}
