// Package httperr is the one place where errors become HTTP responses: the
// table from index's sentinel errors to status codes, the client-safe
// message, and PyPI's convention of repeating that message in the reason
// phrase (distutils shows nothing else).
//
// Every package with dynamic handlers (upload, jsonapi, manage) answers
// errors through Write or Handler, so a status is chosen in one place only.
// It imports index (for the sentinels) and nothing else internal.
package httperr
