package upload

import (
	"log/slog"
	"net/http"

	"github.com/cheeseshop/cheeseshop/internal/httperr"
)

// writeError answers with err's status and message. The table from errors
// to statuses lives in internal/httperr, shared with the other packages that
// serve dynamic responses, so that a status is chosen in one place only.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	httperr.Write(w, r, log, err)
}
