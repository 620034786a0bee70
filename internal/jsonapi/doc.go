// Package jsonapi serves PyPI's JSON API, the read API that pip-audit,
// renovate, bandersnatch and other tools use next to /simple
// (PROTOCOL.md 7):
//
//	GET /pypi/<project>/json            the latest release, and every release's files
//	GET /pypi/<project>/<version>/json  one release (no "releases" key, as on PyPI since 2022)
//
// Both answer with the project's serial in X-PyPI-Last-Serial, 404 for an
// unknown project, release or a project with no release, and 301 to the
// normalised name for any other spelling. Responses are built from one
// read-only snapshot of the database and are never cached for long, so a
// change is visible the moment the request that made it returns.
//
// As on PyPI, info.package_url and info.project_url point at the project's
// page for people (/project/<name>/) and info.release_url at the release's
// (/project/<name>/<version>/).
//
// It declares the one store method it calls (Store); cmd wires it to index.
// It imports index, httperr and cors, nothing else internal.
package jsonapi
