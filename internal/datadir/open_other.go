//go:build !unix

package datadir

import "os"

// Open is os.Open; see open_unix.go.
func Open(path string) (*os.File, error) { return os.Open(path) }

func createTemp(dir, prefix string) (*os.File, error) { return os.CreateTemp(dir, prefix) }
