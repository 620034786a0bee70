package manage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// pageTimeout bounds the page rewrite after a commit. It runs detached from
// the caller's context: a client that hangs up must not leave a stale page.
const pageTimeout = 30 * time.Second

// Store is what the service needs from the database; *index.Store has it.
type Store interface {
	Project(ctx context.Context, name index.Normalized) (index.Project, error)
	Role(ctx context.Context, projectID, userID int64) (string, error)
	YankRelease(ctx context.Context, project index.Normalized, version, reason, by string) (index.Change, error)
	UnyankRelease(ctx context.Context, project index.Normalized, version, by string) (index.Change, error)
	DeleteFile(ctx context.Context, project index.Normalized, version, filename, by string) (index.Change, error)
	DeleteRelease(ctx context.Context, project index.Normalized, version, by string) (index.Change, error)
	AddRole(ctx context.Context, project index.Normalized, userName, role string) (index.Change, error)
	RemoveRole(ctx context.Context, project index.Normalized, userName string) (index.Change, error)
	SetProjectStatus(ctx context.Context, project index.Normalized, st index.Status, reason, by string) (index.StatusChange, error)
	ProjectFiles(ctx context.Context, project index.Normalized) ([]index.FileRef, error)
	PruneProject(ctx context.Context, project index.Normalized, r index.Retention, dryRun bool, by string) (index.PruneResult, error)
	RetentionPolicies(ctx context.Context) ([]index.ProjectRetention, error)
}

// Pages rewrites a project's /simple pages from the committed state; cmd
// connects it to staticgen.
type Pages interface {
	RegenerateProject(ctx context.Context, name index.Normalized) error
}

// Config configures a Service.
type Config struct {
	DataDir string // required: deleted files are removed from DataDir/packages
}

// Service makes the changes, each followed by the page rewrite.
type Service struct {
	cfg   Config
	store Store
	pages Pages
	log   *slog.Logger
}

// New returns a Service. A nil logger discards.
func New(cfg Config, store Store, pages Pages, log *slog.Logger) (*Service, error) {
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("manage: no data directory")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, store: store, pages: pages, log: log.With("component", "manage")}, nil
}

// Yank marks a release yanked with reason ("" for none). by names who did
// it, for the journal ("" from the command line).
func (s *Service) Yank(ctx context.Context, project, version, reason, by string) (index.Change, error) {
	norm := index.Normalize(project)
	ch, err := s.store.YankRelease(ctx, norm, version, reason, by)
	return s.after(ctx, norm, ch, err, "release yanked", "version", version, "reason", reason, "user", by)
}

// Unyank takes a release's yank back.
func (s *Service) Unyank(ctx context.Context, project, version, by string) (index.Change, error) {
	norm := index.Normalize(project)
	ch, err := s.store.UnyankRelease(ctx, norm, version, by)
	return s.after(ctx, norm, ch, err, "release unyanked", "version", version, "user", by)
}

// Delete deletes one file of a release, or the whole release when filename
// is "". The filenames can never be uploaded again. The files leave the
// disk after the pages stop linking to them.
func (s *Service) Delete(ctx context.Context, project, version, filename, by string) (index.Change, error) {
	norm := index.Normalize(project)
	var ch index.Change
	var err error
	if filename == "" {
		ch, err = s.store.DeleteRelease(ctx, norm, version, by)
	} else {
		ch, err = s.store.DeleteFile(ctx, norm, version, filename, by)
	}
	ch, err = s.after(ctx, norm, ch, err, "deleted", "version", version, "filename", filename, "files", len(ch.Removed), "user", by)
	if err != nil {
		return ch, err
	}
	return ch, s.removeFiles(ch.Removed)
}

// AddRole gives a user a role (index.RoleOwner or index.RoleMaintainer) on
// a project, or changes the one they have.
func (s *Service) AddRole(ctx context.Context, project, user, role string) (index.Change, error) {
	norm := index.Normalize(project)
	ch, err := s.store.AddRole(ctx, norm, user, role)
	return s.after(ctx, norm, ch, err, "role set", "role", role, "user", user)
}

// RemoveRole takes a user's role on a project away.
func (s *Service) RemoveRole(ctx context.Context, project, user string) (index.Change, error) {
	norm := index.Normalize(project)
	ch, err := s.store.RemoveRole(ctx, norm, user)
	return s.after(ctx, norm, ch, err, "role removed", "user", user)
}

// after logs a committed change and rewrites the project's pages. The pages
// are rewritten even when nothing changed: a retry then repairs a page that
// an earlier attempt committed but did not get to write.
func (s *Service) after(ctx context.Context, norm index.Normalized, ch index.Change, err error, msg string, attrs ...any) (index.Change, error) {
	if err != nil {
		return index.Change{}, err
	}
	attrs = append(attrs, "project", string(norm), "serial", ch.Project.LastSerial, "changed", ch.Changed)
	s.log.InfoContext(ctx, msg, attrs...)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pageTimeout)
	defer cancel()
	if err := s.pages.RegenerateProject(pctx, norm); err != nil {
		return ch, fmt.Errorf("rewrite pages of %s: %w", norm, err)
	}
	return ch, nil
}

// removeFiles removes deleted files and their PEP 658 sidecars from the
// data directory. A file already gone is not an error. The content-addressed
// directories stay: an upload may be placing a file there.
func (s *Service) removeFiles(files []index.FileRef) error {
	var errs []error
	for _, f := range files {
		if !filepath.IsLocal(filepath.FromSlash(f.Path)) {
			errs = append(errs, fmt.Errorf("remove %s: stored path %q is not inside packages/", f.Filename, f.Path))
			continue
		}
		dir := datadir.New(s.cfg.DataDir)
		p, q := dir.Package(f.Path), dir.Quarantined(f.Path) // a quarantined project's files are in quarantine/
		for _, name := range []string{p, p + datadir.MetadataSuffix, q, q + datadir.MetadataSuffix} {
			if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove %s: %w", f.Filename, err))
			}
		}
	}
	return errors.Join(errs...)
}
