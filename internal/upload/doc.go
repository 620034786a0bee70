// Package upload implements the legacy upload API (POST /legacy/): HTTP Basic
// authentication, streaming multipart parsing with hashing, every check of
// PyPI's upload checklist (those only a public index needs under
// Config.PyPIRules; docs/uploads.md), the durable placement of the file under the data
// directory's packages/ folder, the database commit, and the page rewrite
// (through the Pages hook) before the reply.
//
// It declares the few store methods it calls (Store) and the page hook
// (Pages); cmd wires them to index and staticgen. It imports index, auth,
// datadir (where files go), crossorigin (cross-site browser requests are
// refused) and httperr (the one place that turns errors into HTTP
// statuses), never staticgen or mirror.
package upload
