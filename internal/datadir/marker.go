package datadir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// A data directory carries the marker of the index (the database) it
// belongs to, in MarkerFile at its top; the database records the same
// marker. A command about to write pages compares the two, so that a
// command run in the wrong directory refuses instead of writing a second,
// unseen tree.

const markerPrefix = "cheeseshop-index "

// Marker is the file holding the directory's index marker.
func (d Dir) Marker() string { return filepath.Join(d.root, MarkerFile) }

// NewMarker returns a fresh random marker.
func NewMarker() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// ReadMarker returns the directory's marker, or "" when it has none (the
// file, or the directory, does not exist).
func (d Dir) ReadMarker() (string, error) {
	b, err := os.ReadFile(d.Marker())
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	s, ok := strings.CutPrefix(strings.TrimSpace(string(b)), markerPrefix)
	if !ok || s == "" {
		return "", fmt.Errorf("%s is not a cheeseshop marker file", d.Marker())
	}
	return s, nil
}

// WriteMarker writes the directory's marker durably, creating the directory
// when needed.
func (d Dir) WriteMarker(marker string) error {
	if err := os.MkdirAll(d.root, 0o755); err != nil {
		return err
	}
	return WriteFile(d.Marker(), []byte(markerPrefix+marker+"\n"), 0o644)
}

// InUse reports whether the directory holds a root page or package files:
// an index has been served from it.
func (d Dir) InUse() bool {
	for _, p := range []string{d.RootPage(HTML), d.Packages()} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
