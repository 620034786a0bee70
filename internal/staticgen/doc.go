// Package staticgen renders the /simple repository pages and writes them into
// the data directory, where the HTTP layer (or nginx/Apache in production)
// serves them as plain files.
//
// It owns the page layout under DATA/simple:
//
//	DATA/simple/index.html                 root, PEP 503 HTML
//	DATA/simple/index.v1_json              root, PEP 691 JSON
//	DATA/simple/<normalized>/index.html    project, PEP 503/592/629/658/714 HTML
//	DATA/simple/<normalized>/index.v1_json project, PEP 691/700 JSON
//
// Pages are pure functions of index.ProjectState and index.RootState: the same
// state always renders to the same bytes (no clock, no map order), and every
// page records the serial it was built from (<!--SERIAL n--> in HTML,
// meta._last-serial in JSON) so start-up repair and the HTTP layer can tell a
// stale page with PageSerial. Pages are replaced atomically and durably
// (temporary file in the same directory, fsync, rename, fsync of the
// directory), so a reader sees either the old page or the new one, and a
// crash never leaves a truncated page.
//
// Ordering across writers comes from the Store: it holds a cross-process
// per-project (or root) lock while the page is rendered and written, and the
// state it hands over is read under that lock, so a page is never replaced by
// one built from an older committed state.
//
// The package must not know about HTTP, PostgreSQL or the other internal
// packages: it imports only internal/index (for the domain types and
// sentinel errors) and github.com/google/renameio/v2.
package staticgen
