package manage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/crossorigin"
	"github.com/cheeseshop/cheeseshop/internal/httperr"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Authenticator identifies the caller.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (auth.Identity, error)
}

// maxFormBytes caps a management form: it carries a reason at most.
const maxFormBytes = 64 << 10

// Handler serves the owners' endpoint under /manage/ (see the package
// documentation). Mount it at "/manage/"; it parses the rest of the path
// itself, so it works under any router.
type Handler struct {
	svc   *Service
	store Store
	auth  Authenticator
	log   *slog.Logger
	h     http.Handler
}

// NewHandler returns the endpoint. Cross-origin browser requests are
// refused (internal/crossorigin, as uploads are): a browser that remembers
// Basic credentials must not let another site's form yank a release.
func NewHandler(svc *Service, authn Authenticator, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{svc: svc, store: svc.store, auth: authn, log: log.With("component", "manage")}
	h.h = httperr.Handler(h.log, func(w http.ResponseWriter, r *http.Request) error {
		if err := crossorigin.Check(r); err != nil {
			return err
		}
		return h.serve(w, r)
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.h.ServeHTTP(w, r) }

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	rest, ok := strings.CutPrefix(r.URL.Path, "/manage/")
	parts := strings.Split(rest, "/")
	if ok && len(parts) == 2 && parts[0] != "" && parts[1] == "status" {
		// POST /manage/<project>/status: the PEP 792 status, for the
		// whole project.
		parts = []string{parts[0], "", "status"}
	} else if !ok || len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return index.Errorf(index.ErrNotFound, "use POST /manage/<project>/<version>/yank, unyank or delete, or POST /manage/<project>/status")
	}
	project, version, action := parts[0], parts[1], parts[2]
	if action != "yank" && action != "unyank" && action != "delete" && action != "status" {
		return index.Errorf(index.ErrNotFound, "unknown action %q: use yank, unyank or delete", action)
	}
	if r.Method != http.MethodPost {
		return httperr.MethodNotAllowed(http.MethodPost)
	}
	ctx := r.Context()
	if err := index.CheckText("project name in the path", project); err != nil {
		return err
	}
	if err := index.CheckText("version in the path", version); err != nil {
		return err
	}
	id, err := h.auth.Authenticate(ctx, r)
	if err != nil {
		return err
	}
	if err := h.authorize(ctx, id, project); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return index.Errorf(index.ErrInvalid, "invalid form: %v", err)
	}
	if err := checkForm(r.Form); err != nil {
		return err
	}
	var ch index.Change
	var done string
	switch action {
	case "yank":
		ch, err = h.svc.Yank(ctx, project, version, r.PostFormValue("reason"), id.UserName)
		done = "yanked"
	case "unyank":
		ch, err = h.svc.Unyank(ctx, project, version, id.UserName)
		done = "unyanked"
	case "delete":
		ch, err = h.svc.Delete(ctx, project, version, r.FormValue("filename"), id.UserName)
		done = fmt.Sprintf("deleted (%d files)", len(ch.Removed))
	case "status":
		var st index.Status
		if st, err = index.ParseStatus(r.PostFormValue("status")); err != nil {
			return err
		}
		var sc index.StatusChange
		sc, err = h.svc.SetStatus(ctx, project, st, r.PostFormValue("reason"), id.UserName)
		ch, done, version = sc.Change, "status "+st.String(), "status"
	}
	if err != nil {
		return err
	}
	if !ch.Changed {
		done = "unchanged"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Vary", "Authorization")
	w.Header().Set("X-PyPI-Last-Serial", fmt.Sprint(ch.Project.LastSerial))
	fmt.Fprintf(w, "%s %s: %s\n", ch.Project.Name, version, done)
	return nil
}

// authorize requires a password-authenticated owner of the project.
func (h *Handler) authorize(ctx context.Context, id auth.Identity, project string) error {
	if id.Token != nil {
		return index.Errorf(index.ErrForbidden, "API tokens can only upload. Authenticate with your user name and password to manage releases.")
	}
	p, err := h.store.Project(ctx, index.Normalize(project))
	if err != nil {
		return err
	}
	role, err := h.store.Role(ctx, p.ID, id.UserID)
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return err
	}
	if role != index.RoleOwner {
		return index.Errorf(index.ErrForbidden, "The user '%s' isn't allowed to manage project '%s': only its owners may yank and delete releases.", id.UserName, p.Name)
	}
	return nil
}
