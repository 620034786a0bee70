// Package index is cheeseshop's vocabulary and its only way to the database.
//
// It defines projects, releases and files, PEP 503 name normalisation, PEP 440
// versions, distribution filename parsing, the kinds of errors (sentinels)
// and Error, the refusal that carries its public message as data. Driver
// errors become Errors here (translate) and nowhere else. It owns the
// PostgreSQL store (pgx) and the embedded migrations runner.
//
// It must not know about HTTP, the data directory layout on disk, or page
// rendering, and it imports no other internal package.
package index
