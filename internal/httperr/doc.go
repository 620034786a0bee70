// Package httperr is the one place where errors become HTTP responses: the
// table from error kinds (index's sentinels, and ErrMethodNotAllowed here)
// to status codes, the client-safe message (the public message an
// *index.Error carries, never a slice of err.Error()), and PyPI's
// convention of repeating that message in the reason phrase (distutils
// shows nothing else).
//
// Every package with dynamic handlers (upload, jsonapi, manage) answers
// errors through Write or Handler, and static its 405s, so a status is
// chosen in one place only.
// It imports index (for the kinds and *index.Error) and reqlog (so that its
// log line has a request id even for a request that skipped the router's
// middleware), nothing else internal.
package httperr
