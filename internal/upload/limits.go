package upload

import (
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Limits on the shape of a request, so that the memory one upload takes is
// bounded whatever a client sends (the body size alone does not bound it:
// a million empty parts, or a thousand 1 MiB names in a small archive,
// cost far more memory than they take bytes on the wire).
const (
	// maxParts caps the parts of one multipart form. twine sends about 30,
	// distutils one per keyword and classifier besides: a few hundred at
	// the most.
	maxParts = 1000
	// maxFieldNameBytes caps a part's field name; the longest the protocol
	// knows is 21 bytes.
	maxFieldNameBytes = 256
)

var errTooManyParts = index.Errorf(index.ErrInvalid, "Too many parts in the form: more than %d.", maxParts)

// checkFieldName refuses a form field name that is absurdly long or not
// text: no client sends one, and it would be kept as a map key.
func checkFieldName(name string) error {
	if len(name) > maxFieldNameBytes {
		return index.Errorf(index.ErrInvalid, "Form field name too long: more than %d bytes.", maxFieldNameBytes)
	}
	return index.CheckText("name of a form field", name)
}
