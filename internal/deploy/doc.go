// Package deploy renders the web server configurations that put nginx or
// Apache in front of cheeseshop: the server serves DATA/simple and
// DATA/packages straight from disk, so pip keeps installing while the app is
// down, and proxies uploads and everything else to the app.
//
// It owns the mapping from cheeseshop's on-disk layout and HTTP behaviour
// (PEP 691 negotiation, the page and file headers that internal/static sends)
// to nginx and Apache directives, in the embedded templates. The two must be
// kept in step: a change to the headers or the layout there is a change here.
//
// It must not read the environment or flags, touch the data directory or the
// database, or start processes; cmd turns flags into a Config and prints.
// It imports only internal/cors (the CORS headers the binary sends, so the
// web servers send the same) and the standard library. Package deploytest starts real nginx
// and Apache processes for tests.
package deploy
