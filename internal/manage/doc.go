// Package manage changes published releases after the fact: yank and unyank
// (PEP 592), delete a file or a release, give or take roles, and set the
// project's PEP 792 status (moving a quarantined project's files out of
// packages/ into quarantine/ and back). Each change
// is one store transaction, then the project's pages are rewritten, then
// (for deletions) the files are removed from the data directory, all before
// the call returns: the same order as an upload, so nothing is visible late
// and no page links to a file that is gone.
//
// Service is used by the command line (cmd/cheeseshop: yank, unyank, delete,
// role) and by Handler, the owners' HTTP endpoint:
//
//	POST /manage/<project>/<version>/yank     form: reason
//	POST /manage/<project>/<version>/unyank
//	POST /manage/<project>/<version>/delete   form or query: filename (absent: the whole release)
//	POST /manage/<project>/status             form: status (active, archived, deprecated, quarantined), reason
//
// Handler authenticates with HTTP Basic and a password, requires the owner
// role, and refuses API tokens: on PyPI a token can only upload, so a token
// leaked from CI cannot delete releases.
//
// It declares the store methods it calls (Store) and the page hook (Pages);
// cmd wires them to index and staticgen. It imports index, auth, datadir
// (where removed files are), httperr and crossorigin, never upload,
// staticgen or mirror.
package manage
