// Package staticgen renders the /simple repository pages and has datadir put
// them into the data directory, where the HTTP layer (or nginx/Apache in
// production) serves them as plain files.
//
// It renders bytes; internal/datadir places them: where each page goes
// (DATA/simple/ for the root, DATA/simple/<normalized>/ for a project, two
// files each, see datadir's doc), how the serial a page was built from is
// recorded in it (<!--SERIAL n--> in HTML, meta._last-serial in JSON) and
// read back, and the atomic replacement of a page file.
//
// Pages are pure functions of index.ProjectState and index.RootState: the same
// state always renders to the same bytes (no clock, no map order). A page is
// always replaced whole (temporary file in the same directory, renamed over
// the page), so a reader sees either the old page or the new one. When it
// is durable depends on the caller:
//
//   - By default (the commands, repair) every rewrite is durable when it
//     returns: each page file is fsynced before its rename and the
//     directory after both.
//   - With Config.DeferSync (serve) a rewrite returns once both pages are
//     renamed into place; a background round (pagesync.go) fsyncs every
//     page rewritten since the previous round and only then records their
//     serials (projects.page_serial). A crash before that leaves the serial
//     behind, and start-up repair reads the page back.
//   - RegenerateProjects (rebuilding many projects) writes without fsyncs
//     and syncs the whole file system once per batch before the store
//     records the serials.
//
// Ordering across writers comes from the Store: it holds a cross-process
// per-project (or root) lock while the page is rendered and written, and the
// state it hands over is read under that lock, so a page is never replaced by
// one built from an older committed state.
//
// The package must not know about HTTP, PostgreSQL or the other internal
// packages: it imports only internal/index (for the domain types and
// sentinel errors) and internal/datadir.
package staticgen
