package upload

// Everyday-odd and hostile input (issue 14): what Debian 12's setuptools 66
// sends (item 1), names no page or file can be written for (item 3), and
// filename components the file server would not serve (item 4). Every
// refusal is checked as the checklist's are: status, message in the body
// and the reason phrase, and nothing changed.

import (
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// setuptools66Form is what `python3 setup.py sdist upload` sends on Debian
// 12 (setuptools 66.1.1, its own copy of distutils) for
// setup(name=..., version=..., description="x", long_description="Long."):
// every field setup() left unset is the string "None". Captured from the
// real command; the order is its order.
func setuptools66Form(name, version, filename string, data []byte) form {
	d := digestsOf(data)
	f := form{
		{name: ":action", value: "file_upload"},
		{name: "protocol_version", value: "1"},
		{name: "name", value: name},
		{name: "version", value: version},
		{name: "content", filename: filename, value: string(data)},
		{name: "filetype", value: "sdist"},
		{name: "pyversion", value: ""},
		{name: "metadata_version", value: "1.0"},
	}
	f = append(f, setuptools66Metadata()...)
	return append(f,
		part{name: "comment", value: ""},
		part{name: "md5_digest", value: d.md5},
		part{name: "sha256_digest", value: d.sha256},
		part{name: "blake2_256_digest", value: d.blake2_512},
	)
}

// setuptools66Register is what `python3 setup.py register` sends there.
func setuptools66Register(name, version string) form {
	f := form{
		{name: ":action", value: "submit"},
		{name: "metadata_version", value: "1.0"},
		{name: "name", value: name},
		{name: "version", value: version},
	}
	return append(f, setuptools66Metadata()...)
}

// setuptools66Metadata are the metadata fields both of them send, in their
// order.
func setuptools66Metadata() form {
	return form{
		{name: "summary", value: "x"},
		{name: "home_page", value: "None"},
		{name: "author", value: "None"},
		{name: "author_email", value: "None"},
		{name: "license", value: "None"},
		{name: "description", value: "Long."},
		{name: "platform", value: "None"},
		{name: "download_url", value: "None"},
	}
}

// Item 1: "None" from distutils means absent; it is neither refused nor
// stored.
func TestSetuptools66None(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	noNone := func(t *testing.T, version string) {
		t.Helper()
		if got := h.query(`SELECT metadata::text FROM releases WHERE version = $1`, version); strings.Contains(got, "None") {
			t.Errorf("release %s stored the placeholder: %s", version, got)
		}
	}

	t.Run("sdist upload", func(t *testing.T) {
		h.t = t
		s := sdistSpec{top: "cheese-sixtysix-1.0"}.build(t)
		const fn = "cheese-sixtysix-1.0.tar.gz"
		h.accepted(t, h.post(uploadRequest{form: setuptools66Form("cheese-sixtysix", "1.0", fn, s), distutils: true}), "cheese-sixtysix", fn, s, "")
		noNone(t, "1.0")
		if got := h.query(`SELECT metadata->>'description' FROM releases WHERE version = '1.0'`); got != "Long." {
			t.Errorf("description %q", got)
		}
	})

	t.Run("sdist upload with download_url", func(t *testing.T) {
		h.t = t
		s := sdistSpec{top: "cheese-sixtysix-1.1"}.build(t)
		const fn = "cheese-sixtysix-1.1.tar.gz"
		f := setuptools66Form("cheese-sixtysix", "1.1", fn, s).
			with("download_url", "https://example.com/cheese-sixtysix-1.1.tar.gz").with("description", "None")
		h.accepted(t, h.post(uploadRequest{form: f, distutils: true}), "cheese-sixtysix", fn, s, "")
		noNone(t, "1.1")
		if got := h.query(`SELECT metadata->>'download_url' FROM releases WHERE version = '1.1'`); got != "https://example.com/cheese-sixtysix-1.1.tar.gz" {
			t.Errorf("download_url %q", got)
		}
	})

	t.Run("register", func(t *testing.T) {
		h.t = t
		h.mustUpload(uploadRequest{form: setuptools66Register("cheese-sixtysix", "2.0"), distutils: true})
		noNone(t, "2.0")
		if _, js := h.page("cheese-sixtysix"); !strings.Contains(js, `"2.0"`) {
			t.Errorf("registered release missing from the page: %s", js)
		}
	})

	// "None" is a valid project name: distutils' name is kept.
	t.Run("a project named None", func(t *testing.T) {
		h.t = t
		h.mustUpload(uploadRequest{form: setuptools66Register("None", "1.0"), distutils: true})
		if got := h.query(`SELECT name FROM projects WHERE normalized = 'none'`); got != "None" {
			t.Errorf("project %q", got)
		}
	})

	// Only distutils sends the placeholder: from twine, "None" is a value.
	t.Run("twine's None is a value", func(t *testing.T) {
		h.t = t
		w := wheelSpec{dist: "cheese_sixtysix", version: "3.0"}.build(t)
		f := twineForm("cheese-sixtysix", "3.0", "bdist_wheel", "py3", "cheese_sixtysix-3.0-py3-none-any.whl", w).with("license", "None")
		h.mustUpload(uploadRequest{form: f})
		if got := h.query(`SELECT metadata->>'license' FROM releases WHERE version = '3.0'`); got != "None" {
			t.Errorf("license %q", got)
		}
	})
	h.t = t
}

// Item 3: a name no page directory or file name can hold is refused before
// anything is written, and no message carries a client's value unbounded.
func TestNamesTooLong(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	elided := func(c byte) string { return strings.Repeat(string(c), 30) + "..." + strings.Repeat(string(c), 30) }
	tooLong := func(c byte) string {
		return "'" + elided(c) + "' is an invalid value for Name. Error: Names are limited to 200 characters." + pypiCoreHelp
	}
	n300, n100k := strings.Repeat("a", 300), strings.Repeat("b", 100_000)
	w := wheelSpec{dist: "demo", version: "1.0"}.build(t)
	cases := []refusal{
		{name: "register, 300 characters", req: uploadRequest{form: setuptools66Register(n300, "1.0"), distutils: true}, msg: tooLong('a')},
		{name: "register, 100,000 characters", req: uploadRequest{form: setuptools66Register(n100k, "1.0"), distutils: true}, msg: tooLong('b')},
		{name: "verify, 300 characters", req: uploadRequest{form: setuptools66Register(n300, "1.0").with(":action", "verify"), distutils: true}, msg: tooLong('a')},
		{name: "upload, 300 characters", req: uploadRequest{form: twineForm(n300, "1.0", "bdist_wheel", "py3", "demo-1.0-py3-none-any.whl", w)}, msg: tooLong('a')},
		{name: "register, 100,000-character version", req: uploadRequest{form: setuptools66Register("demo", strings.Repeat("x", 100_000)), distutils: true},
			msg: "'" + strings.Repeat("x", 1024-len("'...")) + "..."},
		{name: "upload, 100,000-character filename", req: uploadRequest{form: twineForm("demo", "1.0", "bdist_wheel", "py3", "demo-1.0-py3-none-"+strings.Repeat("y", 100_000)+".whl", w)},
			msg: "Filename is too long: 'demo-1.0-py3-none-" + strings.Repeat("y", 150-len("demo-1.0-py3-none-")) + "..." + strings.Repeat("y", 146) + ".whl'"},
	}
	h.refuseAll(t, cases, nil)
	// The longest name allowed gets its project and page.
	t.Run("register, 200 characters", func(t *testing.T) {
		h.t = t
		name := strings.Repeat("c", index.MaxNameLength)
		h.mustUpload(uploadRequest{form: setuptools66Register(name, "1.0"), distutils: true})
		if _, js := h.page(name); !strings.Contains(js, `"versions":["1.0"]`) {
			t.Errorf("page of the 200-character project: %s", js)
		}
	})
	h.t = t
}

// Item 4: each component of a distribution filename is checked against its
// grammar (wheel tags, build tag, PEP 440 version, PEP 625 sdist name), so
// nothing is listed that the file server would not serve.
func TestFilenameComponents(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	setupBaseline(t, h)
	w2 := wheelSpec{dist: "demo", version: "2.0"}.build(t)
	s2 := sdistSpec{top: "demo-2.0"}.build(t)
	wheel := func(fn string) uploadRequest {
		return uploadRequest{form: twineForm("demo", "2.0", "bdist_wheel", "py3", "x.whl", nil).withFileStar(fn, w2)}
	}
	sdist := func(fn string) uploadRequest {
		return uploadRequest{form: twineForm("demo", "2.0", "sdist", "", "x.tar.gz", nil).withFileStar(fn, s2)}
	}
	// shown is a filename as the sdist message shows it.
	shown := func(s string) string {
		for _, r := range s {
			if r < ' ' || r > '~' {
				return index.Repr(s)
			}
		}
		return s
	}
	cases := []refusal{{
		name: "the reproducer: foo_bar-3.0-py3-none-a:b.whl",
		req: uploadRequest{form: twineForm("foo_bar", "3.0", "bdist_wheel", "py3", "x.whl", nil).
			withFile("foo_bar-3.0-py3-none-a:b.whl", wheelSpec{dist: "foo_bar", version: "3.0"}.build(t))},
		msg: "Binary wheel 'foo_bar-3.0-py3-none-a:b.whl' has an unsupported platform tag 'a:b'.",
	}}
	for _, bad := range []string{"a:b", "#", "?", "%00", "%2e%2e", " ", "<img src=x onerror=alert(1)>", `"`, "'",
		"\u0085", "\u202e", "\u2215", "\u00a0"} {
		for _, tag := range []struct{ kind, python, abi, platform string }{
			{"python", "py3" + bad, "none", "any"},
			{"abi", "py3", "none" + bad, "any"},
			{"platform", "py3", "none", "any" + bad},
			{"platform", "py3", "none", "any." + bad},
		} {
			fn := "demo-2.0-" + tag.python + "-" + tag.abi + "-" + tag.platform + ".whl"
			bt := map[string]string{"python": tag.python, "abi": tag.abi, "platform": tag.platform}[tag.kind]
			if tag.platform == "any."+bad {
				bt = bad
			}
			cases = append(cases, refusal{name: fn, req: wheel(fn),
				msg: "Binary wheel " + index.Repr(fn) + " has an unsupported " + tag.kind + " tag " + index.Repr(bt) + "."})
		}
		fn := "demo-2.0-1" + bad + "-py3-none-any.whl"
		cases = append(cases, refusal{name: fn, req: wheel(fn),
			msg: "Invalid build number: " + shown("1"+bad) + " in " + index.Repr(strings.TrimSuffix(fn, ".whl"))})
		fn = "demo-2.0" + bad + "-py3-none-any.whl"
		cases = append(cases, refusal{name: fn, req: wheel(fn),
			msg: "Invalid wheel filename (invalid version): " + index.Repr(strings.TrimSuffix(fn, ".whl"))})
		fn = "demo-2.0" + bad + ".tar.gz"
		cases = append(cases, refusal{name: fn, req: sdist(fn), msg: "Invalid source distribution filename: " + shown(fn)})
	}
	h.refuseAll(t, cases, nil)
	// What the grammar allows still goes through: compressed tag sets, a
	// build tag, a local version.
	t.Run("accepted", func(t *testing.T) {
		h.t = t
		const fn = "demo-2.0-1_b2-cp311.py3-abi3.none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
		h.accepted(t, h.post(wheel(fn)), "demo", fn, w2, wheelMetadata("demo", "2.0"))
		const local = "demo-2.1+cu118-py3-none-any.whl"
		w := wheelSpec{dist: "demo", version: "2.1+cu118"}.build(t)
		h.accepted(t, h.post(uploadRequest{form: twineForm("demo", "2.1+cu118", "bdist_wheel", "py3", local, w)}), "demo", local, w, wheelMetadata("demo", "2.1+cu118"))
	})
	h.t = t
}
