// Package static serves cheeseshop's data directory over HTTP: the derived
// /simple pages (PEP 503 HTML and their PEP 691 JSON twins, chosen by content
// negotiation) and the content-addressed files under /packages.
//
// It owns the HTTP side of reading DATA/simple and DATA/packages: request
// paths, negotiation, validators (ETag, Last-Modified), caching and CORS
// headers, and the mapping of file-system errors to statuses (not-found,
// permission, anything else, as net/http does). A method it does not serve
// is refused through httperr's table, as every dynamic handler's is.
//
// With an upstream cache (Config.Cache), a project page or a file that is
// not local is looked up in DATA/cache the same way (a page only while it
// is younger than the TTL); what is not there, or stale, is handed to the
// Cache, which never serves cached bytes itself.
//
// It must not write to the data directory, render pages or touch the
// database; pages are produced by staticgen and replaced atomically by rename
// (datadir), which is what makes the stat-validated page cache here correct.
// It imports index (for PEP 503 name normalisation), datadir (where pages and
// files are, a page's serial, file identity), httperr (405s), reqlog, cors
// and the standard library.
package static
