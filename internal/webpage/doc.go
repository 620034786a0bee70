// Package webpage renders the pages for people to bytes: the home page, a
// project's page, a release's page, the search page and the page for an
// unknown project, all with html/template around one stylesheet, no
// script, and nothing from another origin.
//
// Pages are pure functions of their data (no clock, no map order), so
// `check` can compare the files on disk with a fresh rendering. staticgen
// writes them into the data directory under the same lock and in the same
// rewrite as the /simple pages; the search handler renders its page live.
//
// webpage imports only internal/index, for the domain types.
package webpage
