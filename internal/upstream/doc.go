// Package upstream is the local-first caching proxy of an upstream simple
// index (--upstream, e.g. https://pypi.org/simple/): one index URL for the
// team's own projects and, for every other name, the upstream's, cached so
// that installs keep working while the upstream is slow or down.
//
// Local wins, always: a name that exists locally in any form (a project
// row, whatever it holds; a name an administrator claimed) is never looked
// up upstream, so nobody publishing that name upstream can shadow it
// (dependency confusion). The static server (internal/static) serves a
// local page first; only a name with no local page reaches this package,
// which checks the database before it asks the upstream.
//
// What it owns: fetching and parsing upstream pages (PEP 691 JSON
// preferred, PEP 503 HTML accepted), rewriting their file URLs to this
// server, writing the cached pages into DATA/cache/simple (datadir), the
// TTL and revalidation (ETag, Last-Modified), cached 404s, stale-if-error,
// and the first download of each file: streamed to the client while it is
// written beside its place in DATA/cache/packages, verified against the
// upstream's sha256 before it is kept, fetched once however many clients
// and processes ask (a lock file per file). Once cached, pages and files
// are served from disk by internal/static (or nginx), never from here.
//
// It must not serve cached bytes itself (static does), touch local pages
// or files, or know SQL (index does). It imports index, datadir, httperr
// and reqlog.
package upstream
