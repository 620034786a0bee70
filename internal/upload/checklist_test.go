package upload

// One test per rule of the upload checklist (PROTOCOL.md 2) and per refusing
// conformance case (PROTOCOL.md 9, cases 2–44 and 48), end to end through
// the harness: the status, the message in the text/plain body and in the
// HTTP/1.1 reason phrase, and afterwards nothing changed: no file under the
// data directory (packages/, tmp/, the pages in simple/), no row. Then the
// accepted cases, whose file must be on the page the moment the 200 arrives.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
)

// Help texts that end PyPI's messages.
const (
	pypiCoreHelp     = " See https://packaging.python.org/specifications/core-metadata for more information."
	pypiNameHelp     = " See https://pypi.org/help/#project-name for more information."
	pypiReuseHelp    = " See https://pypi.org/help/#file-name-reuse for more information."
	pypiInvalidAuth  = "Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information."
	pypiBadExtension = "Invalid file extension: Use .tar.gz, .whl or .zip extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information"
	pypiDigestDiffer = "The digest supplied does not match a digest calculated from the uploaded file."
	pypiNonPrintable = "Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL character (ordinal 127) in the name."
)

// checklistMaxSize is the refusing harness's --max-file-size. It is small so
// that "one byte too many" is cheap; every other file in these tests fits.
const checklistMaxSize = 1 << 10

// baseline is the state the refusing cases run against: project "demo"
// (owner alice) with a wheel and an sdist in release 1.0, and tombstones
// for the filenames demo-3.0-py3-none-any.whl and demo-1.0.0.zip.
type baseline struct {
	wheel, sdist []byte
}

const (
	demoWheel1   = "demo-1.0-py3-none-any.whl"
	demoSdist1   = "demo-1.0.tar.gz"
	deletedWheel = "demo-3.0-py3-none-any.whl"
	deletedSdist = "demo-1.0.0.zip" // a second sdist of release 1.0, too
)

func setupBaseline(t *testing.T, h *harness) baseline {
	t.Helper()
	b := baseline{
		wheel: wheelSpec{dist: "demo", version: "1.0"}.build(t),
		sdist: sdistSpec{top: "demo-1.0"}.build(t),
	}
	h.mustUpload(uploadRequest{form: twineForm("demo", "1.0", "bdist_wheel", "py3", demoWheel1, b.wheel)})
	h.mustUpload(uploadRequest{form: twineForm("demo", "1.0", "sdist", "", demoSdist1, b.sdist)})
	h.exec(`INSERT INTO deleted_filenames (filename) VALUES ($1), ($2)`, deletedWheel, deletedSdist)
	return b
}

// refusal is one refusing case: a request that would succeed but for one
// defect, and PyPI's answer to it.
type refusal struct {
	name   string
	req    uploadRequest
	status int
	msg    string            // the whole body (less its newline) and reason phrase
	header map[string]string // further response headers
}

// refusals builds the cases. The files are small enough for the harness's
// 1 KiB limit; wheel2/sdist2 are the request each case spoils.
func refusals(t *testing.T, b baseline) []refusal {
	const w2name, s2name = "demo-2.0-py3-none-any.whl", "demo-2.0.tar.gz"
	w2 := wheelSpec{dist: "demo", version: "2.0"}.build(t)
	s2 := sdistSpec{top: "demo-2.0"}.build(t)
	wheel2 := func() form { return twineForm("demo", "2.0", "bdist_wheel", "py3", w2name, w2) }
	sdist2 := func() form { return twineForm("demo", "2.0", "sdist", "", s2name, s2) }
	// wheelAs sends the wheel built from spec under filename.
	wheelAs := func(filename string, spec wheelSpec) form {
		return twineForm("demo", "2.0", "bdist_wheel", "py3", filename, spec.build(t))
	}
	sdistAs := func(filename string, data []byte) form {
		return twineForm("demo", "2.0", "sdist", "", filename, data)
	}
	otherDigests := digestsOf([]byte("other bytes"))
	tooLarge := bytes.Repeat([]byte("x"), checklistMaxSize+1)
	changed := wheelSpec{dist: "demo", version: "1.0", module: "x = 2\n"}.build(t)
	zipSdist := sdistSpec{top: "demo-1.0", zip: true}.build(t)
	sdist100 := sdistSpec{top: "demo-1.0.0"}.build(t)

	cases := []refusal{
		// 1.4 and checklist item 1: who is uploading.
		{name: "case 2: no credentials", req: uploadRequest{form: wheel2(), anonymous: true},
			status: 401, msg: "No credentials supplied.", header: map[string]string{"WWW-Authenticate": `Basic realm="pypi"`}},
		{name: "case 3: wrong password", req: uploadRequest{form: wheel2(), user: alice, password: "wrong"},
			status: 403, msg: pypiInvalidAuth},
		{name: "unknown user", req: uploadRequest{form: wheel2(), user: "mallory", password: alicePassword},
			status: 403, msg: pypiInvalidAuth},
		{name: "unknown API token", req: uploadRequest{form: wheel2(), user: "__token__", password: "pypi-AgEIcHlwaS5vcmc"},
			status: 403, msg: pypiInvalidAuth},

		// Item 2.
		{name: "case 5: protocol_version 2", req: uploadRequest{form: wheel2().with("protocol_version", "2")},
			status: 400, msg: "Unknown protocol version."},

		// Item 3: the form.
		{name: "case 33: name -foo", req: uploadRequest{form: wheel2().with("name", "-foo")},
			status: 400, msg: "'-foo' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'." + pypiCoreHelp},
		{name: "name missing", req: uploadRequest{form: wheel2().with("name")},
			status: 400, msg: "'' is an invalid value for Name. Error: This field is required." + pypiCoreHelp},
		{name: "case 7: filetype bdist_egg", req: uploadRequest{form: wheel2().with("filetype", "bdist_egg")},
			status: 400, msg: "Invalid value for filetype. Error: Use a known file type."},
		{name: "filetype bdist_wininst", req: uploadRequest{form: wheel2().with("filetype", "bdist_wininst")},
			status: 400, msg: "Invalid value for filetype. Error: Use a known file type."},
		{name: "filetype missing", req: uploadRequest{form: wheel2().with("filetype")},
			status: 400, msg: "Invalid value for filetype. Error: This field is required."},
		{name: "sha256_digest not hex", req: uploadRequest{form: wheel2().with("sha256_digest", strings.Repeat("g", 64))},
			status: 400, msg: "Invalid value for sha256_digest. Error: Use a valid, hex-encoded, SHA256 message digest."},
		{name: "sha256_digest too short", req: uploadRequest{form: wheel2().with("sha256_digest", digestsOf(w2).sha256[:63])},
			status: 400, msg: "Invalid value for sha256_digest. Error: Use a valid, hex-encoded, SHA256 message digest."},
		{name: "blake2_256_digest neither 64 nor 128 hex", req: uploadRequest{form: wheel2().with("blake2_256_digest", strings.Repeat("a", 100))},
			status: 400, msg: "Invalid value for blake2_256_digest. Error: Use a valid, hex-encoded, BLAKE2 message digest."},
		{name: "case 8: wheel without pyversion", req: uploadRequest{form: wheel2().with("pyversion", "")},
			status: 400, msg: "Error: Python version is required for binary distribution uploads."},
		{name: "case 9: sdist with pyversion py3", req: uploadRequest{form: sdist2().with("pyversion", "py3")},
			status: 400, msg: "Error: Use 'source' as Python version for an sdist."},
		{name: "case 10: no digest", req: uploadRequest{form: wheel2().with("md5_digest").with("sha256_digest").with("blake2_256_digest")},
			status: 400, msg: "Error: Include at least one message digest."},
		{name: "case 10: only empty digests", req: uploadRequest{form: wheel2().with("md5_digest", "").with("sha256_digest", "").with("blake2_256_digest", "")},
			status: 400, msg: "Error: Include at least one message digest."},

		// Item 4: the metadata in the form. The refusals only a public
		// index makes (local versions, special-use e-mail domains, unknown
		// classifiers, direct URL references) are in rules_test.go.
		{name: "case 34: version abc", req: uploadRequest{form: wheel2().with("version", "abc")},
			status: 400, msg: "'abc' is invalid for 'version'." + pypiCoreHelp},
		{name: "version missing", req: uploadRequest{form: wheel2().with("version")},
			status: 400, msg: "'version' is a required field." + pypiCoreHelp},
		{name: "case 36: metadata_version 3.0", req: uploadRequest{form: wheel2().with("metadata_version", "3.0")},
			status: 400, msg: "'3.0' is not a valid metadata version." + pypiCoreHelp},
		{name: "metadata_version 2.6", req: uploadRequest{form: wheel2().with("metadata_version", "2.6")},
			status: 400, msg: "'2.6' is not a valid metadata version." + pypiCoreHelp},
		{name: "case 38: description_content_type text/foo", req: uploadRequest{form: wheel2().with("description_content_type", "text/foo")},
			status: 400, msg: "'description-content-type' must be one of ['text/x-rst', 'text/plain', 'text/markdown'], not 'text/foo'." + pypiCoreHelp},
		{name: "case 39: requires_python >=3.x", req: uploadRequest{form: wheel2().with("requires_python", ">=3.x")},
			status: 400, msg: "'>=3.x' is invalid for 'requires-python'." + pypiCoreHelp},
		{name: "invalid author_email", req: uploadRequest{form: wheel2().with("author_email", "x")},
			status: 400, msg: "'x' is not a valid email address: An email address must have an @-sign." + pypiCoreHelp},
		{name: "home_page not a URL", req: uploadRequest{form: wheel2().with("home_page", "example.com")},
			status: 400, msg: "'example.com' is not a valid url." + pypiCoreHelp},
		{name: "license and license_expression", req: uploadRequest{form: wheel2().with("metadata_version", "2.4").with("license", "MIT").with("license_expression", "MIT")},
			status: 400, msg: "License is deprecated when License-Expression is present. Only License-Expression should be present." + pypiCoreHelp},
		{name: "single-use field sent twice", req: uploadRequest{form: wheel2().with("summary", "one", "two")},
			status: 400, msg: "'summary' has invalid data." + pypiCoreHelp},
		{name: "field sent as a file part", req: uploadRequest{form: append(wheel2().with("summary"), part{name: "summary", filename: "summary.txt", value: "hi"})},
			status: 400, msg: "summary: Should not be a tuple."},

		// Item 5.
		{name: "case 6: no content part", req: uploadRequest{form: wheel2().with("content")},
			status: 400, msg: "Upload payload does not have a file."},

		// Items 6 and 7: the project and the right to upload to it.
		{name: "case 44: stdlib name json", req: uploadRequest{form: twineForm("json", "1.0", "bdist_wheel", "py3", "json-1.0-py3-none-any.whl", wheelSpec{dist: "json", version: "1.0"}.build(t))},
			status: 400, msg: "The name 'json' isn't allowed (conflict with Python Standard Library module name)." + pypiNameHelp},
		{name: "case 42: no role on the project", req: uploadRequest{form: wheel2(), user: bob, password: bobPassword},
			status: 403, msg: "The user 'bob' isn't allowed to upload to project 'demo'." + pypiNameHelp},

		// Item 10: the filename.
		// Go's MIME header parser refuses raw control characters other than
		// tab; RFC 2231 encoding (filename*=) carries the others through.
		{name: "case 32: control character", req: uploadRequest{form: wheel2().withFileStar("demo-2.0-py3-none-any\x01.whl", w2)},
			status: 400, msg: pypiNonPrintable},
		{name: "case 32: newline", req: uploadRequest{form: wheel2().withFileStar("demo-2.0-py3-none-any.whl\n", w2)},
			status: 400, msg: pypiNonPrintable},
		{name: "case 32: tab", req: uploadRequest{form: wheel2().withFile("demo-2.0-py3-none-any\t.whl", w2)},
			status: 400, msg: pypiNonPrintable},
		{name: "case 32: DEL", req: uploadRequest{form: wheel2().withFileStar("demo-2.0-py3-none-any\x7f.whl", w2)},
			status: 400, msg: pypiNonPrintable},
		{name: "case 32: slash", req: uploadRequest{form: wheel2().withFile("dist/"+w2name, w2)},
			status: 400, msg: `Cannot upload a file with '/' or '\' in the name.`},
		{name: "case 32: dot-dot slash", req: uploadRequest{form: wheel2().withFile("../"+w2name, w2)},
			status: 400, msg: `Cannot upload a file with '/' or '\' in the name.`},
		{name: "case 32: slash, RFC 2231-encoded", req: uploadRequest{form: wheel2().withFileStar("dist/"+w2name, w2)},
			status: 400, msg: `Cannot upload a file with '/' or '\' in the name.`},
		{name: "case 32: backslash", req: uploadRequest{form: wheel2().withFile(`dist\`+w2name, w2)},
			status: 400, msg: `Cannot upload a file with '/' or '\' in the name.`},
		{name: "case 30: .tar.bz2", req: uploadRequest{form: sdistAs("demo-2.0.tar.bz2", s2)}, status: 400, msg: pypiBadExtension},
		{name: "case 30: .egg", req: uploadRequest{form: sdistAs("demo-2.0-py3.11.egg", s2)}, status: 400, msg: pypiBadExtension},
		{name: "case 30: .exe", req: uploadRequest{form: sdistAs("demo-2.0.win32.exe", s2)}, status: 400, msg: pypiBadExtension},
		{name: "case 30: .msi", req: uploadRequest{form: sdistAs("demo-2.0.msi", s2)}, status: 400, msg: pypiBadExtension},
		{name: "case 30: .tgz", req: uploadRequest{form: sdistAs("demo-2.0.tgz", s2)}, status: 400, msg: pypiBadExtension},
		{name: "case 30: .tar.xz", req: uploadRequest{form: sdistAs("demo-2.0.tar.xz", s2)}, status: 400, msg: pypiBadExtension},
		{name: "case 30: .tar", req: uploadRequest{form: sdistAs("demo-2.0.tar", s2)}, status: 400, msg: pypiBadExtension},
		{name: "case 31: .whl as sdist", req: uploadRequest{form: sdistAs(w2name, w2)},
			status: 400, msg: "Invalid file extension: Extension .whl is invalid for filetype sdist. See https://www.python.org/dev/peps/pep-0527 for more information."},
		{name: ".tar.gz as bdist_wheel", req: uploadRequest{form: wheel2().withFile(s2name, s2)},
			status: 400, msg: "Invalid file extension: Extension .tar.gz is invalid for filetype bdist_wheel. See https://www.python.org/dev/peps/pep-0527 for more information."},
		{name: "filename too long for its .metadata", req: uploadRequest{form: wheel2().withFile("demo-2.0-py3-none-"+strings.Repeat("a", 236)+".whl", w2)},
			status: 400, msg: "Filename is too long: 'demo-2.0-py3-none-" + strings.Repeat("a", 236) + ".whl'"},

		// Item 12.
		{name: "case 41: one byte over the limit", req: uploadRequest{form: twineForm("demo", "2.0", "bdist_wheel", "py3", w2name, tooLarge)},
			status: 400, msg: "File too large. Limit for project 'demo' is 1 KB. See https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase for more information."},

		// Item 13.
		{name: "case 11: sha256 mismatch", req: uploadRequest{form: wheel2().with("sha256_digest", otherDigests.sha256)},
			status: 400, msg: pypiDigestDiffer},
		{name: "case 12: md5 mismatch, sha256 right", req: uploadRequest{form: wheel2().with("md5_digest", otherDigests.md5)},
			status: 400, msg: pypiDigestDiffer},
		{name: "md5 not hex", req: uploadRequest{form: wheel2().with("md5_digest", "not-an-md5")},
			status: 400, msg: pypiDigestDiffer},
		{name: "blake2_256 mismatch", req: uploadRequest{form: wheel2().with("blake2_256_digest", otherDigests.blake2)},
			status: 400, msg: pypiDigestDiffer},
		{name: "blake2 128-hex (BLAKE2b-512) mismatch", req: uploadRequest{form: wheel2().with("blake2_256_digest", otherDigests.blake2_512)},
			status: 400, msg: pypiDigestDiffer},

		// Items 14 and 15.
		{name: "case 16: same filename, other bytes", req: uploadRequest{form: twineForm("demo", "1.0", "bdist_wheel", "py3", demoWheel1, changed)},
			status: 400, msg: "File already exists ('" + demoWheel1 + "', with blake2_256 hash '" + digestsOf(changed).blake2 + "')." + pypiReuseHelp},
		{name: "case 17: same bytes, other filename", req: uploadRequest{form: twineForm("demo", "1.0", "bdist_wheel", "py2.py3", "demo-1.0-py2.py3-none-any.whl", b.wheel)},
			status: 400, msg: "File already exists ('demo-1.0-py2.py3-none-any.whl', with blake2_256 hash '" + digestsOf(b.wheel).blake2 + "')." + pypiReuseHelp},
		{name: "case 17: same bytes, other project", req: uploadRequest{form: twineForm("other", "1.0", "bdist_wheel", "py3", "other-1.0-py3-none-any.whl", b.wheel)},
			status: 400, msg: "File already exists ('other-1.0-py3-none-any.whl', with blake2_256 hash '" + digestsOf(b.wheel).blake2 + "')." + pypiReuseHelp},
		{name: "case 18: filename of a deleted file", req: uploadRequest{form: twineForm("demo", "3.0", "bdist_wheel", "py3", deletedWheel, wheelSpec{dist: "demo", version: "3.0"}.build(t))},
			status: 400, msg: "This filename was previously used by a file that has since been deleted. Use a different version." + pypiReuseHelp},

		// Item 17.
		{name: "case 19: second sdist (.zip after .tar.gz)", req: uploadRequest{form: twineForm("demo", "1.0", "sdist", "", "demo-1.0.zip", zipSdist)},
			status: 400, msg: "Only one sdist may be uploaded per release."},
		{name: "second sdist under an equal version", req: uploadRequest{form: twineForm("demo", "1.0.0", "sdist", "", "demo-1.0.0.tar.gz", sdist100)},
			status: 400, msg: "Only one sdist may be uploaded per release."},

		// Item 18: the archive.
		{name: "case 26: wheel without METADATA", req: uploadRequest{form: wheelAs(w2name, wheelSpec{dist: "demo", version: "2.0", omit: "METADATA"})},
			status: 400, msg: "Wheel '" + w2name + "' does not contain the required METADATA file: demo-2.0.dist-info/METADATA"},
		{name: "case 27: wheel without WHEEL", req: uploadRequest{form: wheelAs(w2name, wheelSpec{dist: "demo", version: "2.0", omit: "WHEEL"})},
			status: 400, msg: "Invalid distribution file. WHEEL not found at demo-2.0.dist-info/WHEEL"},
		{name: "wheel without RECORD", req: uploadRequest{form: wheelAs(w2name, wheelSpec{dist: "demo", version: "2.0", omit: "RECORD"})},
			status: 400, msg: "Wheel '" + w2name + "' does not contain the required RECORD file: demo-2.0.dist-info/RECORD"},
		{name: "case 28: .whl not a zip", req: uploadRequest{form: wheel2().withFile(w2name, []byte("this is not a zip file"))},
			status: 400, msg: "Invalid distribution file. File is not a zipfile"},
		{name: "case 29: sdist without PKG-INFO", req: uploadRequest{form: sdistAs(s2name, sdistSpec{top: "demo-2.0", omitPKGInfo: true}.build(t))},
			status: 400, msg: "Invalid distribution file. PKG-INFO not found at demo-2.0/PKG-INFO"},
		{name: ".tar.gz not a gzip tar", req: uploadRequest{form: sdistAs(s2name, []byte("this is not a tarball"))},
			status: 400, msg: "Invalid distribution file. File is not a tarfile"},
		{name: ".zip sdist not a zip", req: uploadRequest{form: sdistAs("demo-2.0.zip", s2)},
			status: 400, msg: "Invalid distribution file. File is not a zipfile"},

		// Items 19 and 21: the filename names the project and release.
		{name: "case 22: wheel names another project", req: uploadRequest{form: wheelAs("other-2.0-py3-none-any.whl", wheelSpec{dist: "other", version: "2.0"})},
			status: 400, msg: "Start filename for 'demo' with 'demo'."},
		{name: "sdist names another project", req: uploadRequest{form: sdistAs("other-2.0.tar.gz", sdistSpec{top: "other-2.0"}.build(t))},
			status: 400, msg: "Start filename for 'demo' with 'demo'."},
		{name: "case 23: version 2.1 in the filename, 2.0 in the form", req: uploadRequest{form: wheelAs("demo-2.1-py3-none-any.whl", wheelSpec{dist: "demo", version: "2.1"})},
			status: 400, msg: "Version in filename should be '2.0' not '2.1'."},
		{name: "case 25: wheel filename with too few parts", req: uploadRequest{form: wheel2().withFile("demo-2.0.whl", w2)},
			status: 400, msg: "Invalid wheel filename (wrong number of parts): 'demo-2.0'"},
		{name: "invalid sdist filename", req: uploadRequest{form: sdistAs("demo.tar.gz", s2)},
			status: 400, msg: "Invalid source distribution filename: demo.tar.gz"},
		{name: "METADATA names another project", req: uploadRequest{form: wheelAs(w2name, wheelSpec{dist: "demo", version: "2.0", metadata: wheelMetadata("other", "2.0")})},
			status: 400, msg: "Name in the distribution file's metadata ('other') does not match the uploaded name ('demo')."},
		{name: "METADATA has another version", req: uploadRequest{form: wheelAs(w2name, wheelSpec{dist: "demo", version: "2.0", metadata: wheelMetadata("demo", "2.1")})},
			status: 400, msg: "Version in the distribution file's metadata ('2.1') does not match the uploaded version ('2.0')."},

		// 1.1: the other actions and the URL.
		{name: "case 48: doc_upload", req: uploadRequest{form: wheel2().with(":action", "doc_upload")},
			status: 410, msg: "Uploading documentation is no longer supported, we recommend using https://readthedocs.org/."},
		{name: "case 4: POST /legacy without the slash", req: uploadRequest{path: "/legacy", form: wheel2()},
			status: 308, msg: "An upload was attempted to /legacy but the expected upload URL is /legacy/ (with a trailing slash)",
			header: map[string]string{"Location": "/legacy/"}},
	}
	// Order: with two defects, the rule earlier in the checklist answers.
	cases = append(cases, []refusal{
		{name: "order: credentials before the form", req: uploadRequest{form: wheel2().with("protocol_version", "2"), anonymous: true},
			status: 401, msg: "No credentials supplied.", header: map[string]string{"WWW-Authenticate": `Basic realm="pypi"`}},
		{name: "order: protocol_version before the fields", req: uploadRequest{form: wheel2().with("protocol_version", "2").with("name", "-foo")},
			status: 400, msg: "Unknown protocol version."},
		{name: "order: name before the other fields", req: uploadRequest{form: wheel2().with("name", "-foo").with("blake2_256_digest", "x")},
			status: 400, msg: "'-foo' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'." + pypiCoreHelp},
		{name: "order: then the fields by name (blake2 before filetype)", req: uploadRequest{form: wheel2().with("filetype", "bdist_egg").with("blake2_256_digest", "x")},
			status: 400, msg: "Invalid value for blake2_256_digest. Error: Use a valid, hex-encoded, BLAKE2 message digest."},
		{name: "order: then the fields by name (filetype before sha256)", req: uploadRequest{form: wheel2().with("sha256_digest", "x").with("filetype", "bdist_egg")},
			status: 400, msg: "Invalid value for filetype. Error: Use a known file type."},
		{name: "order: field errors before form-level ones", req: uploadRequest{form: wheel2().with("sha256_digest", "x").with("pyversion", "")},
			status: 400, msg: "Invalid value for sha256_digest. Error: Use a valid, hex-encoded, SHA256 message digest."},
		{name: "order: the form before the metadata", req: uploadRequest{form: wheel2().with("version", "abc").with("filetype", "bdist_egg")},
			status: 400, msg: "Invalid value for filetype. Error: Use a known file type."},
		{name: "order: the metadata before the file", req: uploadRequest{form: wheel2().with("version", "abc").with("content")},
			status: 400, msg: "'abc' is invalid for 'version'." + pypiCoreHelp},
		{name: "order: the file before the project", req: uploadRequest{form: twineForm("json", "1.0", "bdist_wheel", "py3", "json-1.0-py3-none-any.whl", w2).with("content")},
			status: 400, msg: "Upload payload does not have a file."},
		{name: "order: permission before the filename", req: uploadRequest{form: sdistAs("demo-2.0.egg", s2), user: bob, password: bobPassword},
			status: 403, msg: "The user 'bob' isn't allowed to upload to project 'demo'." + pypiNameHelp},
		{name: "order: the filename before the size", req: uploadRequest{form: sdistAs("demo-2.0.egg", tooLarge)},
			status: 400, msg: pypiBadExtension},
		{name: "order: the size before the digests", req: uploadRequest{form: twineForm("demo", "2.0", "bdist_wheel", "py3", w2name, tooLarge).with("sha256_digest", otherDigests.sha256)},
			status: 400, msg: "File too large. Limit for project 'demo' is 1 KB. See https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase for more information."},
		{name: "order: the digests before duplicates", req: uploadRequest{form: twineForm("demo", "1.0", "bdist_wheel", "py3", demoWheel1, changed).with("sha256_digest", otherDigests.sha256)},
			status: 400, msg: pypiDigestDiffer},
		{name: "order: duplicates before tombstones", req: uploadRequest{form: twineForm("demo", "3.0", "bdist_wheel", "py3", deletedWheel, b.wheel)},
			status: 400, msg: "File already exists ('" + deletedWheel + "', with blake2_256 hash '" + digestsOf(b.wheel).blake2 + "')." + pypiReuseHelp},
		{name: "order: tombstones before the second sdist", req: uploadRequest{form: twineForm("demo", "1.0", "sdist", "", deletedSdist, sdistSpec{top: "demo-1.0.0", zip: true}.build(t))},
			status: 400, msg: "This filename was previously used by a file that has since been deleted. Use a different version." + pypiReuseHelp},
	}...)

	// Some refusals again as distutils sends them (no part Content-Type,
	// fixed boundary, leading CRLF), to show the encoding changes nothing.
	for _, c := range cases {
		switch c.name {
		case "case 2: no credentials", "case 5: protocol_version 2", "case 8: wheel without pyversion",
			"case 32: slash", "case 41: one byte over the limit", "case 19: second sdist (.zip after .tar.gz)":
			c.name = "distutils: " + c.name
			c.req.distutils = true
			cases = append(cases, c)
		}
	}
	return cases
}

// TestChecklistRefusals runs every refusing case against one server whose
// state must survive them all unchanged. The cases run in order, each
// checked against a snapshot taken just before it.
func TestChecklistRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, checklistMaxSize)
	b := setupBaseline(t, h)
	h.refuseAll(t, refusals(t, b), nil)
}

// refuseAll runs h.refused for each case, in order, as a subtest of t (a
// case with no status wants 400), then also(t) when also is not nil.
func (h *harness) refuseAll(t *testing.T, cases []refusal, also func(t *testing.T)) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			if c.status == 0 {
				c.status = http.StatusBadRequest
			}
			h.refused(t, c)
			if also != nil {
				also(t)
			}
		})
	}
	h.t = t
}

// refused posts c's request and checks the answer is c's, with the
// message in the body and the reason phrase, and that nothing changed: no
// file in DATA/packages, DATA/tmp or the pages, no row.
func (h *harness) refused(t *testing.T, c refusal) {
	t.Helper()
	before := h.snapshot()
	resp := h.post(c.req)
	if resp.status != c.status {
		t.Errorf("status %d, want %d", resp.status, c.status)
	}
	if got := strings.TrimSuffix(resp.body, "\n"); got != c.msg {
		t.Errorf("body\n%q\nwant\n%q", got, c.msg)
	}
	if want := reasonOf(c.msg); resp.reason != want {
		t.Errorf("reason phrase\n%q\nwant\n%q", resp.reason, want)
	}
	if ct := resp.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	for k, v := range c.header {
		if got := resp.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if left := h.tmpFiles(); len(left) > 0 {
		t.Errorf("left in DATA/tmp: %q", left)
	}
	if d := h.snapshot().diff(before); d != "" {
		t.Errorf("the refused upload changed things:\n%s", d)
	}
}

// reasonOf is msg as a reason phrase carries it: characters outside
// printable Latin-1 become '?', as on PyPI.
func reasonOf(msg string) string {
	var b strings.Builder
	for _, r := range msg {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestChecklistSpoiledRequestsAreValid shows that the requests the refusing
// cases spoil are accepted as they are, so each case fails for its one
// defect only.
func TestChecklistSpoiledRequestsAreValid(t *testing.T) {
	t.Parallel()
	h := newHarness(t, checklistMaxSize)
	setupBaseline(t, h)
	w2 := wheelSpec{dist: "demo", version: "2.0"}.build(t)
	s2 := sdistSpec{top: "demo-2.0"}.build(t)
	h.mustUpload(uploadRequest{form: twineForm("demo", "2.0", "bdist_wheel", "py3", "demo-2.0-py3-none-any.whl", w2)})
	h.mustUpload(uploadRequest{form: twineForm("demo", "2.0", "sdist", "", "demo-2.0.tar.gz", s2), distutils: true})
	// A new project (the stdlib case's shape) and another release with a
	// wheel of its own (the tombstone case's shape, under a fresh name).
	h.mustUpload(uploadRequest{form: twineForm("jsonish", "1.0", "bdist_wheel", "py3", "jsonish-1.0-py3-none-any.whl", wheelSpec{dist: "jsonish", version: "1.0"}.build(t))})
	h.mustUpload(uploadRequest{form: twineForm("demo", "3.1", "bdist_wheel", "py3", "demo-3.1-py3-none-any.whl", wheelSpec{dist: "demo", version: "3.1"}.build(t))})
	// Release 1.0 may still take another wheel.
	h.mustUpload(uploadRequest{form: twineForm("demo", "1.0", "bdist_wheel", "py2.py3", "demo-1.0-py2.py3-none-any.whl", wheelSpec{dist: "demo", version: "1.0", module: "y = 1\n"}.build(t))})
	// The limit is inclusive.
	for _, f := range [][]byte{w2, s2} {
		if len(f) > checklistMaxSize {
			t.Errorf("a test file of %d bytes is over the %d-byte limit", len(f), checklistMaxSize)
		}
	}
}

// --- accepted uploads ---

// accepted checks that an upload was answered 200 and that its file is
// listed, at once, on both pages of the project with its sha256 and, for a
// wheel, its core-metadata hash; that the stored file and its .metadata
// sidecar hold the right bytes; and that DATA/tmp is empty.
func (h *harness) accepted(t *testing.T, resp uploadResponse, norm, filename string, data []byte, metadata string) {
	t.Helper()
	if resp.status != http.StatusOK {
		t.Fatalf("status %d %q, body %q", resp.status, resp.reason, resp.body)
	}
	if left := h.tmpFiles(); len(left) > 0 {
		t.Errorf("left in DATA/tmp: %q", left)
	}
	d := digestsOf(data)
	path := datadir.PackagePath(d.blake2, filename)
	html, js := h.page(norm)
	link := `<a href="../../packages/` + path + `#sha256=` + d.sha256 + `"`
	i := strings.Index(html, link)
	if i < 0 {
		t.Fatalf("page of %s does not link %s:\n%s", norm, link, html)
	}
	tag := html[i : i+strings.Index(html[i:], ">")]
	var pj struct {
		Files []struct {
			Filename     string            `json:"filename"`
			URL          string            `json:"url"`
			Hashes       map[string]string `json:"hashes"`
			Size         int64             `json:"size"`
			CoreMetadata json.RawMessage   `json:"core-metadata"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(js), &pj); err != nil {
		t.Fatalf("JSON page: %v", err)
	}
	found := false
	for _, f := range pj.Files {
		if f.Filename != filename {
			continue
		}
		found = true
		if f.Hashes["sha256"] != d.sha256 || f.Size != int64(len(data)) {
			t.Errorf("JSON page: %s has sha256 %s size %d, want %s %d", filename, f.Hashes["sha256"], f.Size, d.sha256, len(data))
		}
		want := `false`
		if metadata != "" {
			want = `{"sha256":"` + sha256Hex([]byte(metadata)) + `"}`
		}
		if string(f.CoreMetadata) != want {
			t.Errorf("JSON page: core-metadata %s, want %s", f.CoreMetadata, want)
		}
	}
	if !found {
		t.Errorf("JSON page of %s does not list %s:\n%s", norm, filename, js)
	}
	stored, err := os.ReadFile(filepath.Join(h.dataDir, "packages", filepath.FromSlash(path)))
	if err != nil || !bytes.Equal(stored, data) {
		t.Errorf("stored file: %v (equal bytes: %v)", err, bytes.Equal(stored, data))
	}
	sidecar, err := os.ReadFile(filepath.Join(h.dataDir, "packages", filepath.FromSlash(path)+".metadata"))
	if metadata == "" {
		if !strings.Contains(tag, "data-core-metadata") {
			if err == nil {
				t.Errorf("an sdist got a .metadata sidecar")
			}
			return
		}
		t.Errorf("an sdist's link has data-core-metadata: %s", tag)
		return
	}
	if want := ` data-core-metadata="sha256=` + sha256Hex([]byte(metadata)) + `"`; !strings.Contains(tag, want) {
		t.Errorf("link %s lacks %s", tag, want)
	}
	if err != nil || string(sidecar) != metadata {
		t.Errorf(".metadata sidecar %q (%v), want the wheel's METADATA %q", sidecar, err, metadata)
	}
}

func TestChecklistAccepted(t *testing.T) {
	t.Parallel()

	t.Run("case 1: twine wheel", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0)
		w := wheelSpec{dist: "foo_bar", version: "1.0"}.build(t)
		resp := h.post(uploadRequest{form: twineForm("foo-bar", "1.0", "bdist_wheel", "py3", "foo_bar-1.0-py3-none-any.whl", w)})
		h.accepted(t, resp, "foo-bar", "foo_bar-1.0-py3-none-any.whl", w, wheelMetadata("foo_bar", "1.0"))
		// Checklist item 23: the journal, whose last id is the serial.
		if got := h.query(`SELECT string_agg(action, '|' ORDER BY id) FROM journal`); got != "create|add Owner alice|new release|add py3 file foo_bar-1.0-py3-none-any.whl" {
			t.Errorf("journal %q", got)
		}
		if got := h.query(`SELECT (last_serial = (SELECT max(id) FROM journal))::text FROM projects`); got != "true" {
			t.Errorf("the project's serial is not its last journal entry")
		}
	})

	t.Run("case 13: upper-case hex digests", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0)
		w := wheelSpec{dist: "demo", version: "1.0"}.build(t)
		f := twineForm("demo", "1.0", "bdist_wheel", "py3", demoWheel1, w)
		for _, k := range []string{"md5_digest", "sha256_digest", "blake2_256_digest"} {
			f = f.with(k, strings.ToUpper(f.get(k)))
		}
		h.accepted(t, h.post(uploadRequest{form: f}), "demo", demoWheel1, w, wheelMetadata("demo", "1.0"))
	})

	t.Run("case 14: 128-hex blake2 from distutils", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0)
		s := sdistSpec{top: "demo-1.0"}.build(t)
		f := twineForm("demo", "1.0", "sdist", "", demoSdist1, s).with("blake2_256_digest", digestsOf(s).blake2_512)
		h.accepted(t, h.post(uploadRequest{form: f, distutils: true}), "demo", demoSdist1, s, "")
		if got := h.query(`SELECT python_version FROM files WHERE filename = $1`, demoSdist1); got != "source" {
			t.Errorf("python_version %q, want source (case 9)", got)
		}
	})

	t.Run("case 15: identical re-upload", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0)
		w := wheelSpec{dist: "demo", version: "1.0"}.build(t)
		r := uploadRequest{form: twineForm("demo", "1.0", "bdist_wheel", "py3", demoWheel1, w)}
		h.accepted(t, h.post(r), "demo", demoWheel1, w, wheelMetadata("demo", "1.0"))
		serial := h.query(`SELECT last_serial::text FROM projects WHERE normalized = 'demo'`)
		before := h.snapshot()
		h.accepted(t, h.post(r), "demo", demoWheel1, w, wheelMetadata("demo", "1.0"))
		// Also as distutils sends it (no part types, 128-hex BLAKE2).
		h.accepted(t, h.post(uploadRequest{form: r.form.with("blake2_256_digest", digestsOf(w).blake2_512), distutils: true}),
			"demo", demoWheel1, w, wheelMetadata("demo", "1.0"))
		if d := h.snapshot().diff(before); d != "" {
			t.Errorf("an identical re-upload changed things:\n%s", d)
		}
		if got := h.query(`SELECT last_serial::text FROM projects WHERE normalized = 'demo'`); got != serial {
			t.Errorf("serial %s, was %s", got, serial)
		}
	})

	t.Run("case 20: wheel Foo_Bar for foo-bar", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0)
		const fn = "Foo_Bar-1.0-py3-none-any.whl"
		w := wheelSpec{dist: "Foo_Bar", version: "1.0"}.build(t)
		// twine sends its "safe name", Foo-Bar.
		h.accepted(t, h.post(uploadRequest{form: twineForm("Foo-Bar", "1.0", "bdist_wheel", "py3", fn, w)}), "foo-bar", fn, w, wheelMetadata("Foo_Bar", "1.0"))
	})

	t.Run("case 21: sdist Foo_Bar for foo-bar from distutils", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0)
		const fn = "Foo_Bar-1.0.tar.gz"
		s := sdistSpec{top: "Foo_Bar-1.0"}.build(t)
		h.accepted(t, h.post(uploadRequest{form: twineForm("Foo_Bar", "1.0", "sdist", "", fn, s), distutils: true}), "foo-bar", fn, s, "")
	})

	t.Run("case 24: wheel 1.0.0 joins release 1.0", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0)
		s := sdistSpec{top: "demo-1.0"}.build(t)
		h.accepted(t, h.post(uploadRequest{form: twineForm("demo", "1.0", "sdist", "source", demoSdist1, s)}), "demo", demoSdist1, s, "")
		const fn = "demo-1.0.0-py3-none-any.whl"
		w := wheelSpec{dist: "demo", version: "1.0.0"}.build(t)
		h.accepted(t, h.post(uploadRequest{form: twineForm("demo", "1.0", "bdist_wheel", "py3", fn, w)}), "demo", fn, w, wheelMetadata("demo", "1.0.0"))
		if got := h.query(`SELECT string_agg(version, ',') FROM releases`); got != "1.0" {
			t.Errorf("releases %q, want just 1.0", got)
		}
		if got := h.query(`SELECT count(DISTINCT release_id)::text FROM files`); got != "1" {
			t.Errorf("files spread over %s releases", got)
		}
	})

	t.Run("case 38: description_content_type text/markdown; variant=GFM", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0)
		w := wheelSpec{dist: "demo", version: "1.0"}.build(t)
		f := twineForm("demo", "1.0", "bdist_wheel", "py3", demoWheel1, w).
			with("description_content_type", "text/markdown; variant=GFM").with("description", "# Demo\n\nText.")
		h.accepted(t, h.post(uploadRequest{form: f}), "demo", demoWheel1, w, wheelMetadata("demo", "1.0"))
	})

	t.Run("case 43: Foo.Bar uploads to foo-bar", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0)
		w1 := wheelSpec{dist: "foo_bar", version: "1.0"}.build(t)
		h.mustUpload(uploadRequest{form: twineForm("Foo-Bar", "1.0", "bdist_wheel", "py3", "foo_bar-1.0-py3-none-any.whl", w1)})
		w2 := wheelSpec{dist: "foo_bar", version: "2.0"}.build(t)
		const fn = "foo_bar-2.0-py3-none-any.whl"
		h.accepted(t, h.post(uploadRequest{form: twineForm("Foo.Bar", "2.0", "bdist_wheel", "py3", fn, w2)}), "foo-bar", fn, w2, wheelMetadata("foo_bar", "2.0"))
		if got := h.query(`SELECT string_agg(name || '=' || normalized, ',') FROM projects`); got != "Foo.Bar=foo-bar" {
			t.Errorf("projects %q, want the one project foo-bar shown as Foo.Bar", got)
		}
		if html, _ := h.page("foo-bar"); !strings.Contains(html, "<h1>Links for Foo.Bar</h1>") {
			t.Errorf("page title does not show Foo.Bar:\n%s", html)
		}
		if _, err := os.Stat(filepath.Join(h.dataDir, "simple", "foo.bar")); err == nil {
			t.Errorf("a page directory for the unnormalized name exists")
		}
	})

	t.Run("case 47: distutils sdist upload", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, 0)
		const fn = "Foo_Bar-1.0.tar.gz"
		s := sdistSpec{top: "Foo_Bar-1.0"}.build(t)
		d := digestsOf(s)
		// Exactly the fields CPython 3.11's distutils upload sends, in its
		// order, for a setup() that set little (PROTOCOL.md 1.2).
		f := form{
			{name: ":action", value: "file_upload"},
			{name: "protocol_version", value: "1"},
			{name: "name", value: "Foo_Bar"},
			{name: "version", value: "1.0"},
			{name: "content", filename: fn, value: string(s)},
			{name: "filetype", value: "sdist"},
			{name: "pyversion", value: ""},
			{name: "md5_digest", value: d.md5},
			{name: "sha256_digest", value: d.sha256},
			{name: "blake2_256_digest", value: d.blake2_512},
			{name: "metadata_version", value: "1.0"},
			{name: "summary", value: "A distutils project"},
			{name: "home_page", value: "UNKNOWN"},
			{name: "author", value: "UNKNOWN"},
			{name: "author_email", value: "UNKNOWN"},
			{name: "license", value: "UNKNOWN"},
			{name: "description", value: "UNKNOWN"},
			{name: "keywords", value: "cheese"},
			{name: "keywords", value: "shop"},
			{name: "platform", value: "UNKNOWN"},
			{name: "classifiers", value: "Programming Language :: Python :: 3"},
			{name: "classifiers", value: "License :: OSI Approved :: MIT License"},
			{name: "download_url", value: "UNKNOWN"},
			{name: "provides", value: ""},
			{name: "requires", value: ""},
			{name: "obsoletes", value: ""},
			{name: "comment", value: ""},
		}
		h.accepted(t, h.post(uploadRequest{form: f, distutils: true}), "foo-bar", fn, s, "")
		if got := h.query(`SELECT metadata->>'keywords' FROM releases`); got != "cheese, shop" {
			t.Errorf("keywords %q, want the two parts joined", got)
		}
		if got := h.query(`SELECT (metadata->'classifiers')::text FROM releases`); got != `["Programming Language :: Python :: 3", "License :: OSI Approved :: MIT License"]` {
			t.Errorf("classifiers %s", got)
		}
		if got := h.query(`SELECT metadata::text FROM releases`); strings.Contains(got, "UNKNOWN") {
			t.Errorf("UNKNOWN placeholders were kept: %s", got)
		}
	})
}
