// Package migrations holds cheeseshop's versioned schema changes as numbered
// SQL files, embedded in the binary. index.Migrate applies them in order,
// each once and in its own transaction.
package migrations

import "embed"

// FS holds every NNNN_name.sql file of this directory.
//
//go:embed *.sql
var FS embed.FS
