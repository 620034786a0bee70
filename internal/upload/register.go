package upload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Register: the legacy API's :action=submit (and its old name
// submit_pkg_info), which distutils' `setup.py register` sends, and
// :action=verify (`register --dry-run`). PyPI answers both with 410 since
// 2023; we implement them (PROTOCOL.md 1.1) because the people we serve
// still publish with distutils.
//
// distutils sends them differently from uploads (PROTOCOL.md 1.2, 1.4):
// LF-only multipart, which mime/multipart accepts, and no credentials on
// the first request. submit needs the 401 challenge (writeError sends
// `WWW-Authenticate: Basic realm="pypi"`, the realm urllib's password
// manager is keyed on) before distutils sends credentials; verify is never
// sent with credentials and must work without them.

// maxAnonymousBody caps what is read from a request without credentials
// before deciding whether its action needs them: a metadata form fits (the
// fields of any form are capped at this much), a file upload does not and
// is answered 401 at once.
const maxAnonymousBody = maxFieldBytes

// anonymousAllowed reports whether a request that came without credentials
// may still be parsed to see its action: only verify works without them,
// and the action may be in the body, which is read only when small (the
// body's :action wins over the query's, so a query saying verify proves
// nothing).
func anonymousAllowed(r *http.Request, authErr error) bool {
	if !errors.Is(authErr, index.ErrUnauthenticated) {
		return false
	}
	if a := r.URL.Query().Get(":action"); a != "" && a != "verify" {
		return false
	}
	return r.ContentLength >= 0 && r.ContentLength <= maxAnonymousBody
}

// registerForm validates a register form's metadata as an upload's is
// validated (parseMetadata), without the file-only fields.
func registerForm(req *request, pypiRules bool) (index.Metadata, index.Version, error) {
	f := dropEmpty(req.fields, req.distutils)
	if pv := first(f["protocol_version"]); pv != "" && pv != "1" {
		return index.Metadata{}, index.Version{}, index.Errorf(index.ErrInvalid, "Unknown protocol version.")
	}
	md, err := parseMetadata(f, pypiRules)
	if err != nil {
		return index.Metadata{}, index.Version{}, err
	}
	v, err := index.ParseVersion(md.Version)
	if err != nil {
		return index.Metadata{}, index.Version{}, err
	}
	return md, v, nil
}

// submit registers a release without files: the project is created when
// new (the registrant becomes its owner), and the pages show the release
// (in the JSON page's versions) before the reply.
func (h *Handler) submit(ctx context.Context, id auth.Identity, req *request) error {
	md, version, err := registerForm(req, h.cfg.PyPIRules)
	if err != nil {
		return err
	}
	name := md.Name
	norm := index.Normalize(name)
	if _, err := h.authorize(ctx, id, name); err != nil {
		return err
	}
	rd := h.readme(ctx, md)
	res, err := h.store.RegisterRelease(ctx, index.NewRelease{
		Project:    name,
		Version:    version,
		Metadata:   md,
		Readme:     rd,
		Registrant: id.UserID,
		Allowed:    func(p index.Project) error { return tokenAllows(id, p) },
	})
	if err != nil {
		return err
	}
	h.log.InfoContext(ctx, "release registered", "project", string(norm), "version", version.String(),
		"serial", res.Serial, "changed", !res.Identical, "user", id.UserName)
	// Rewritten even when nothing changed: a retry repairs a page that an
	// earlier attempt committed but did not get to write.
	err = h.regenerate(ctx, norm, res.NewProject)
	h.queueReadme(norm, rd)
	return err
}

// verify checks a register form as submit would, and writes nothing.
func (h *Handler) verify(ctx context.Context, req *request) error {
	md, _, err := registerForm(req, h.cfg.PyPIRules)
	if err != nil {
		return err
	}
	_, err = h.store.Project(ctx, index.Normalize(md.Name))
	if errors.Is(err, index.ErrNotFound) {
		return checkNewProjectName(md.Name)
	}
	return err
}

// listClassifiers answers distutils' `register --list-classifiers`
// (GET ?:action=list_classifiers): the known trove classifiers, one a line.
func listClassifiers(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	for _, c := range dataLines(classifiersTxt) {
		b.WriteString(c)
		b.WriteByte('\n')
	}
	fmt.Fprint(w, b.String())
}
