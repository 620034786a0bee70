package upload

// Private-index rules (issue 14, item 2): what PyPI refuses only because it
// is public is accepted by default, and refused again, with PyPI's words,
// under Config.PyPIRules (serve --pypi-rules).

import (
	"net/http"
	"strconv"
	"testing"
)

// publicOnly is one upload a private index accepts and PyPI refuses: the
// twine form with field set to values.
type publicOnly struct {
	name   string
	field  string
	values []string
	msg    string // PyPI's refusal, under PyPIRules
}

// specialUseEmail is PyPI's refusal of an e-mail address on a special-use
// domain.
func specialUseEmail(addr string) string {
	return "'" + addr + "' is not a valid email address: The part after the @-sign is a special-use or reserved name that cannot be used with email." + pypiCoreHelp
}

func publicOnlyCases() []publicOnly {
	var cases []publicOnly
	for _, addr := range []string{"team@corp.local", "x@build.internal", "a@example.invalid", "b@ci.test", "c@home.arpa", "d@office.lan"} {
		msg := specialUseEmail(addr)
		switch addr {
		case "x@build.internal", "d@office.lan":
			msg = "" // not on email-validator's list: PyPI accepts them too
		}
		cases = append(cases, publicOnly{name: "author_email " + addr, field: "author_email", values: []string{"Team <" + addr + ">"}, msg: msg})
	}
	return append(cases,
		publicOnly{name: "maintainer_email on .local", field: "maintainer_email", values: []string{"ops@build.local"},
			msg: specialUseEmail("ops@build.local")},
		publicOnly{name: "local version", field: "version", values: []string{"2.0+cu118"},
			msg: "The use of local versions in '2.0+cu118' is not allowed." + pypiCoreHelp},
		publicOnly{name: "classifier outside the trove list", field: "classifiers",
			values: []string{"Programming Language :: Python :: 3", "Private :: Corp :: GPU Team"},
			msg:    "'Private :: Corp :: GPU Team' is not a valid classifier." + pypiCoreHelp},
		publicOnly{name: "deprecated classifier", field: "classifiers", values: []string{"Natural Language :: Ukranian"},
			msg: "The classifier 'Natural Language :: Ukranian' has been deprecated, use one of ['Natural Language :: Ukrainian'] instead." + pypiCoreHelp},
		publicOnly{name: "direct URL requirement", field: "requires_dist", values: []string{"corp-tools @ git+https://git.corp/corp-tools"},
			msg: "Can't have direct dependency: corp-tools @ git+https://git.corp/corp-tools." + pypiCoreHelp},
	)
}

// TestPrivateIndexRules uploads each case to a default server, where it is
// stored and listed, and to a --pypi-rules one, where it is refused with
// PyPI's message and nothing changes.
func TestPrivateIndexRules(t *testing.T) {
	t.Parallel()
	private := newHarness(t, 0)
	pypi := newHarnessWith(t, Config{PyPIRules: true})
	for i, c := range publicOnlyCases() {
		// A distinct release per case: the file names differ, and a local
		// version has its own filename.
		base := "2." + strconv.Itoa(i+1)
		build := func(h *harness) (form, string, []byte) {
			f := twineForm("demo", base, "bdist_wheel", "py3", "", nil).with(c.field, c.values...)
			version := f.get("version")
			fn := "demo-" + version + "-py3-none-any.whl"
			w := wheelSpec{dist: "demo", version: version}.build(h.t)
			return f.withFile(fn, w), fn, w
		}
		t.Run(c.name, func(t *testing.T) {
			private.t, pypi.t = t, t
			f, fn, w := build(private)
			private.accepted(t, private.post(uploadRequest{form: f}), "demo", fn, w, wheelMetadata("demo", f.get("version")))
			if c.msg == "" {
				pypi.mustUpload(uploadRequest{form: f})
				return
			}
			pypi.refused(t, refusal{req: uploadRequest{form: f}, status: http.StatusBadRequest, msg: c.msg})
		})
	}
	private.t, pypi.t = t, t
	// The accepted metadata is stored as sent.
	if got := private.query(`SELECT metadata->>'author_email' FROM releases WHERE version = '2.1'`); got != "Team <team@corp.local>" {
		t.Errorf("author_email stored as %q", got)
	}
	if got := private.query(`SELECT version FROM releases WHERE version LIKE '%+%'`); got != "2.0+cu118" {
		t.Errorf("local version stored as %q", got)
	}
}

// Syntax checks stay, with their messages, in both modes.
func TestPrivateIndexRulesKeepSyntaxChecks(t *testing.T) {
	t.Parallel()
	private := newHarness(t, 0)
	w := wheelSpec{dist: "demo", version: "2.0"}.build(t)
	wheel := twineForm("demo", "2.0", "bdist_wheel", "py3", "demo-2.0-py3-none-any.whl", w)
	private.refuseAll(t, []refusal{
		{name: "e-mail without @", req: uploadRequest{form: wheel.with("author_email", "team.corp.local")},
			msg: "'team.corp.local' is not a valid email address: An email address must have an @-sign." + pypiCoreHelp},
		{name: "e-mail domain without a dot", req: uploadRequest{form: wheel.with("author_email", "team@corp")},
			msg: "'team@corp' is not a valid email address: The part after the @-sign is not valid. It should have a period." + pypiCoreHelp},
		{name: "bad local version", req: uploadRequest{form: wheel.with("version", "2.0+cu 118")},
			msg: "'2.0+cu 118' is invalid for 'version'." + pypiCoreHelp},
		{name: "bad requirement", req: uploadRequest{form: wheel.with("requires_dist", "corp-tools @ ")},
			msg: "'corp-tools @ ' is invalid for 'requires-dist'." + pypiCoreHelp},
		{name: "direct URL in Provides-Dist", req: uploadRequest{form: wheel.with("provides_dist", "corp-tools @ https://git.corp/x")},
			msg: "Can't have direct dependency: 'corp-tools @ https://git.corp/x'." + pypiCoreHelp},
	}, nil)
}
