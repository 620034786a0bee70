// Package crossorigin refuses cross-site browser requests to the endpoints
// that change state (uploads, registrations, yank and delete): a browser
// that remembers Basic credentials for the index (it asked for them with
// WWW-Authenticate) would otherwise send them with any web page's form.
//
// The check is net/http's CrossOriginProtection: a request with a safe
// method (GET, HEAD, OPTIONS) passes, and so does one whose Sec-Fetch-Site
// is same-origin or none, or, without that header, whose Origin is absent
// or names the request's own host. Packaging clients (twine, distutils,
// setuptools, flit, poetry, pdm, uv) send neither header and always pass.
// It imports index, for the sentinel of the refusal, and nothing else
// internal.
package crossorigin

import (
	"net/http"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// protection is immutable after init; CrossOriginProtection's methods are
// safe for concurrent use.
var protection = http.NewCrossOriginProtection()

// errCrossSite is the refusal: 403, as PyPI answers a request it will not
// act on.
var errCrossSite = index.Errorf(index.ErrForbidden, "Cross-site request refused: a page on another web site cannot upload to or change this index. Upload with twine or another packaging tool.")

// Check returns an index.ErrForbidden error when r is a state-changing
// request a browser sent from another site, nil otherwise.
func Check(r *http.Request) error {
	if protection.Check(r) != nil {
		return errCrossSite
	}
	return nil
}
