package upload

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// pageTimeout bounds the page rewrite after a commit. It runs detached from
// the request's context: a client that hangs up must not leave a stale page.
const pageTimeout = 30 * time.Second

var (
	hex64  = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	hex128 = regexp.MustCompile(`^[0-9a-fA-F]{128}$`)
)

// checkForm applies PyPI's form checks (checklist items 2 and 3) and words
// their failures as Warehouse's UploadForm does: field errors first, the
// name's before the others and the others by field name (Warehouse reports
// sorted(form.errors)[0]), then the form-level checks, whose messages start
// "Error: ". md5_digest has no format check there: a malformed one fails
// later as a digest that does not match.
func checkForm(f map[string][]string) error {
	if pv := first(f["protocol_version"]); pv != "" && pv != "1" {
		return index.Errorf(index.ErrInvalid, "Unknown protocol version.")
	}
	if name := first(f["name"]); name == "" {
		return nameFieldError(name, "This field is required.")
	} else if !index.ValidName(name) {
		return nameFieldError(name, "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'.")
	}
	// Lenient: distutils and setuptools ≤ 66 send a 128-hex BLAKE2b-512
	// digest under this name (PROTOCOL.md 2, item 3); it is verified as such.
	if v := first(f["blake2_256_digest"]); v != "" && !hex64.MatchString(v) && !hex128.MatchString(v) {
		return index.Errorf(index.ErrInvalid, "Invalid value for blake2_256_digest. Error: Use a valid, hex-encoded, BLAKE2 message digest.")
	}
	ft := first(f["filetype"])
	switch {
	case ft == "":
		return index.Errorf(index.ErrInvalid, "Invalid value for filetype. Error: This field is required.")
	case ft != string(index.Sdist) && ft != string(index.Wheel):
		return index.Errorf(index.ErrInvalid, "Invalid value for filetype. Error: Use a known file type.")
	}
	if v := first(f["sha256_digest"]); v != "" && !hex64.MatchString(v) {
		return index.Errorf(index.ErrInvalid, "Invalid value for sha256_digest. Error: Use a valid, hex-encoded, SHA256 message digest.")
	}
	pyv := first(f["pyversion"])
	if ft != string(index.Sdist) && pyv == "" {
		return index.Errorf(index.ErrInvalid, "Error: Python version is required for binary distribution uploads.")
	}
	if ft == string(index.Sdist) && pyv != "" && pyv != "source" {
		return index.Errorf(index.ErrInvalid, "Error: Use 'source' as Python version for an sdist.")
	}
	if first(f["md5_digest"]) == "" && first(f["sha256_digest"]) == "" && first(f["blake2_256_digest"]) == "" {
		return index.Errorf(index.ErrInvalid, "Error: Include at least one message digest.")
	}
	return nil
}

// nameFieldError is Warehouse's message for a bad name field, which shows a
// value longer than 60 characters as its first and last 30.
func nameFieldError(value, msg string) error {
	if r := []rune(value); len(r) > 60 {
		value = string(r[:30]) + "..." + string(r[len(r)-30:])
	}
	return index.Errorf(index.ErrInvalid, "%s is an invalid value for Name. Error: %s See https://packaging.python.org/specifications/core-metadata for more information.",
		index.Repr(value), msg)
}

// dropEmpty removes empty values and distutils' "UNKNOWN" placeholder, which
// mean "absent" (PROTOCOL.md 1.2). From distutils (the request's fixed
// boundary says so), it also removes "None": the copy of distutils in
// setuptools ≥ 60, which Debian 12's `setup.py upload` and `register` use,
// sends str(None) for every field setup() left unset (PROTOCOL.md 11). The
// name and version are kept whatever they say: "None" is a valid project
// name, and distutils never sends them unset.
func dropEmpty(f map[string][]string, distutils bool) map[string][]string {
	out := make(map[string][]string, len(f))
	for k, vs := range f {
		none := distutils && k != "name" && k != "version"
		var keep []string
		for _, v := range vs {
			if v != "" && v != "UNKNOWN" && !(none && v == "None") {
				keep = append(keep, v)
			}
		}
		if len(keep) > 0 {
			out[k] = keep
		}
	}
	return out
}

func (h *Handler) fileUpload(ctx context.Context, id auth.Identity, req *request) error {
	f := dropEmpty(req.fields, req.distutils)
	if err := checkForm(f); err != nil {
		return err
	}
	md, err := parseMetadata(f, h.cfg.PyPIRules)
	if err != nil {
		return err
	}
	version, err := index.ParseVersion(md.Version)
	if err != nil {
		return err
	}
	c := req.content
	if c == nil {
		return index.Errorf(index.ErrInvalid, "Upload payload does not have a file.")
	}
	name := md.Name
	norm := index.Normalize(name)

	// The duplicate check (below) runs meanwhile on another connection: two
	// reads at once instead of one after the other. Its answer is used only
	// after the permission and the form's own checks passed.
	type existing struct {
		ref            index.FileRef
		found, deleted bool
		err            error
	}
	existingCh := make(chan existing, 1)
	if index.TextProblem(c.filename) == "" {
		go func() {
			var e existing
			e.ref, e.found, e.deleted, e.err = h.store.ExistingFile(ctx, c.filename, c.blake2)
			existingCh <- e
		}()
	} else {
		// The database cannot hold such a name; the filename checks
		// below refuse it before the answer is needed.
		existingCh <- existing{}
	}

	// Project and permission, before any work on the file.
	project, err := h.authorize(ctx, id, name)
	if err != nil {
		return err
	}

	// The file: name, size, digests.
	if err := index.CheckUploadFilename(c.filename); err != nil {
		return err
	}
	if err := index.CheckText("filename", c.filename); err != nil {
		return err
	}
	typ := index.PackageType(first(f["filetype"]))
	if err := checkExtension(c.filename, typ); err != nil {
		return err
	}
	limit, err := h.fileLimit(ctx, norm, req.limit)
	if err != nil {
		return err
	}
	if c.tooLarge || c.size > limit {
		return index.Errorf(index.ErrTooLarge, "File too large. Limit for project %s is %s. See https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase for more information.",
			index.Repr(project.Name), sizeText(limit))
	}
	if err := checkDigests(f, c); err != nil {
		return err
	}

	// Duplicates, before the archive is opened: a retry of an upload that
	// succeeded is answered at once (twine re-sends after 5xx).
	ex := <-existingCh
	ref, found, deleted := ex.ref, ex.found, ex.deleted
	if ex.err != nil {
		return ex.err
	}
	switch {
	case found && ref.Filename == c.filename && ref.SHA256 == c.sha256 && ref.Blake2b256 == c.blake2:
		// Identical: nothing changes. The page is rewritten anyway: if an
		// earlier attempt committed and then failed before its rewrite, the
		// retry repairs the page.
		return h.regenerate(ctx, norm, false)
	case found:
		return index.DuplicateError(c.filename, c.blake2)
	case deleted:
		return index.DeletedFilenameError()
	}

	pyversion := first(f["pyversion"])
	var metadata []byte
	switch typ {
	case index.Wheel:
		wf, err := index.ParseWheelFilename(c.filename)
		if err != nil {
			return err
		}
		if err := checkFilenameProject(wf.Name, wf.Version, project, version); err != nil {
			return err
		}
		if metadata, err = inspectWheel(c.path, c.filename, wf); err != nil {
			return err
		}
		if err := checkCoreMetadata(metadata, name, version); err != nil {
			return err
		}
	case index.Sdist:
		pyversion = "source"
		sf, err := index.ParseSdistFilename(c.filename)
		if err != nil {
			return err
		}
		if err := checkFilenameProject(sf.Name, sf.Version, project, version); err != nil {
			return err
		}
		if err := inspectSdist(c.path, c.filename); err != nil {
			return err
		}
	}

	file := index.File{
		Filename:      c.filename,
		Type:          typ,
		PythonVersion: pyversion,
		Size:          c.size,
		SHA256:        c.sha256,
		MD5:           c.md5,
		Blake2b256:    c.blake2,
		Path:          datadir.PackagePath(c.blake2, c.filename),
		CommentText:   first(f["comment"]),
	}
	if metadata != nil {
		file.MetadataSHA256 = sha256Hex(metadata)
	}
	// The temp file's identity: after the rename it is the placed file's,
	// which tells ours apart from a concurrent identical upload's.
	placed, err := os.Stat(c.path)
	if err != nil {
		return storageErr("place file", err)
	}
	// The file is placed and synced while the transaction runs its checks
	// and writes; the transaction waits for it just before committing, so
	// no row commits before its file is durable, and the disk flush and the
	// database round trips overlap instead of adding up.
	placeDone := make(chan error, 1)
	go func() { placeDone <- h.place(c.path, file.Path, metadata) }()
	var placeErr error
	placeWaited := false
	// waitPlace is bounded by the request's database deadline too: a disk
	// that hangs must not hold the project's lock for longer.
	waitPlace := func() error {
		if placeWaited {
			return placeErr
		}
		select {
		case placeErr = <-placeDone:
			placeWaited = true
			if placeErr != nil {
				// A failed sync leaves the file renamed into place.
				placeErr = storageErr("place file", placeErr)
			}
			return placeErr
		case <-ctx.Done():
			return storageErr("place file", ctx.Err())
		}
	}
	rd := h.readme(ctx, md)
	res, err := h.store.AddFile(ctx, index.NewFile{
		Project:      name,
		Version:      version,
		Metadata:     md,
		Readme:       rd,
		File:         file,
		Uploader:     id.UserID,
		Allowed:      func(p index.Project) error { return tokenAllows(id, p) },
		BeforeCommit: waitPlace,
	})
	if err == nil && !placeWaited {
		// Only a store that ignores BeforeCommit gets here: the upload
		// still waits for, and fails with, the placement.
		err = waitPlace()
	}
	if err != nil {
		// The file was placed under a path that holds its own digest and
		// name; only an identical upload shares it. Remove it unless a row
		// refers to it after all (storage.go), once the placement ended
		// (a refusal inside the transaction comes before it did), so that
		// a refused upload leaves nothing behind when it is answered. When
		// the database did not answer, or the disk not within the deadline,
		// that may take as long again: it runs after the reply, and the
		// sweep catches what it cannot settle.
		waitPlace() //nolint:errcheck // err already says why the upload failed
		if !placeWaited || errors.Is(err, index.ErrUnavailable) {
			go func() {
				if !placeWaited {
					<-placeDone
				}
				h.unplaceFailed(ctx, norm, file, placed, err)
			}()
		} else {
			h.unplaceFailed(ctx, norm, file, placed, err)
		}
		return err
	}
	h.log.InfoContext(ctx, "file uploaded", "project", string(norm), "version", version.String(),
		"filename", file.Filename, "sha256", file.SHA256, "serial", res.Serial, "user", id.UserName,
		"size", c.size, "duration_ms", float64(time.Since(req.start).Microseconds())/1000)
	err = h.regenerate(ctx, norm, res.NewProject)
	h.queueReadme(norm, rd)
	return err
}

func (h *Handler) regenerate(ctx context.Context, norm index.Normalized, root bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pageTimeout)
	defer cancel()
	if err := h.pages.RegenerateProject(ctx, norm); err != nil {
		return fmt.Errorf("rewrite page of %s: %w", norm, asStorage(err))
	}
	if root {
		if err := h.pages.RegenerateRoot(ctx); err != nil {
			return fmt.Errorf("rewrite root index: %w", asStorage(err))
		}
	}
	return nil
}

// authorize returns the project an upload or register of name goes to, and
// whether id may change it: anybody may create a new project (with an
// allowed name), only its owners and maintainers may add to an existing one,
// and a scoped token only to its projects. The store checks the role again
// in the transaction that commits.
func (h *Handler) authorize(ctx context.Context, id auth.Identity, name string) (index.Project, error) {
	norm := index.Normalize(name)
	project, role, err := h.store.ProjectRole(ctx, norm, id.UserID)
	switch {
	case errors.Is(err, index.ErrNotFound):
		if err := checkNewProjectName(name); err != nil {
			return index.Project{}, err
		}
		project = index.Project{Name: name, Normalized: norm}
	case err != nil:
		return index.Project{}, err
	case role == "" || project.Status.RefusesUploads():
		// PEP 792: archived and quarantined projects refuse uploads. PyPI
		// refuses them through its permission check, so with the same
		// words as a missing role; the store checks again under its lock.
		return index.Project{}, forbidden(id, project)
	}
	if err := tokenAllows(id, project); err != nil {
		return index.Project{}, err
	}
	return project, nil
}

func forbidden(id auth.Identity, p index.Project) error {
	if id.Token != nil {
		return index.Errorf(index.ErrForbidden, "The given token isn't allowed to upload to project '%s'. See https://pypi.org/help/#project-name for more information.", p.Name)
	}
	return index.Errorf(index.ErrForbidden, "The user '%s' isn't allowed to upload to project '%s'. See https://pypi.org/help/#project-name for more information.", id.UserName, p.Name)
}

// tokenAllows checks a project-scoped token's list.
func tokenAllows(id auth.Identity, p index.Project) error {
	if id.Token == nil || len(id.Token.Projects) == 0 {
		return nil
	}
	for _, n := range id.Token.Projects {
		if n == p.Normalized {
			return nil
		}
	}
	return forbidden(id, p)
}

// checkExtension is checklist item 10's second half: the extension must suit
// the file type, compared case-sensitively as PyPI does.
func checkExtension(filename string, typ index.PackageType) error {
	var ok bool
	ext := filepath.Ext(filename)
	if strings.HasSuffix(filename, ".tar.gz") {
		ext = ".tar.gz"
	}
	switch typ {
	case index.Sdist:
		ok = ext == ".tar.gz" || ext == ".zip"
	case index.Wheel:
		ok = ext == ".whl"
	}
	if !ok {
		return index.Errorf(index.ErrInvalid, "Invalid file extension: Extension %s is invalid for filetype %s. See https://www.python.org/dev/peps/pep-0527 for more information.", ext, typ)
	}
	return nil
}

// sizeText shows a size limit as PyPI does, in whole "MB" (MiB), when it is
// one; a limit configured to the byte is shown in KB or bytes rather than
// rounded down to a misleading "0 MB".
func sizeText(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkDigests requires every supplied digest to match (checklist item 13).
func checkDigests(f map[string][]string, c *content) error {
	mismatch := index.Errorf(index.ErrInvalid, "The digest supplied does not match a digest calculated from the uploaded file.")
	if v := first(f["md5_digest"]); v != "" && !strings.EqualFold(v, c.md5) {
		return mismatch
	}
	if v := first(f["sha256_digest"]); v != "" && !strings.EqualFold(v, c.sha256) {
		return mismatch
	}
	if v := first(f["blake2_256_digest"]); v != "" {
		want := c.blake2
		if len(v) == 128 {
			var err error
			if want, err = c.blake2b512(); err != nil {
				return storageErr("read temp file", err)
			}
		}
		if !strings.EqualFold(v, want) {
			return mismatch
		}
	}
	return nil
}

// checkFilenameProject checks that a filename's name and version parts name
// this project and release. Lenient (PROTOCOL.md 2, items 19 and 21): the
// name part only has to normalise to the project's name, because setuptools
// 66 builds Foo_Bar-1.0-py3-none-any.whl and Foo_Bar-1.0.tar.gz.
func checkFilenameProject(fnName, fnVersion string, p index.Project, v index.Version) error {
	if index.Normalize(fnName) != p.Normalized {
		return index.Errorf(index.ErrInvalid, "Start filename for '%s' with '%s'.", p.Name, strings.ReplaceAll(string(p.Normalized), "-", "_"))
	}
	fv, err := index.ParseVersion(fnVersion)
	if err != nil {
		return err
	}
	if !fv.Equal(v) {
		return index.Errorf(index.ErrInvalid, "Version in filename should be '%s' not '%s'.", v.String(), fv.String())
	}
	return nil
}

// place moves the temp file to its content-addressed path durably (fsync
// file, rename, fsync directory) and writes the PEP 658 metadata beside it.
// The metadata goes first: a page never promises a sidecar that is missing.
func (h *Handler) place(tmp, rel string, metadata []byte) error {
	dst := h.dir.Package(rel)
	// A failed upload removes the hash directories it leaves empty
	// (unplace), possibly just after MkdirAll made them for us; that shows
	// as a missing directory, and another attempt makes them again.
	var err error
	for range 3 {
		if err = placeOnce(tmp, dst, metadata); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		h.removeEmptyDirs(filepath.Dir(dst))
	}
	return err
}

// placeOnce moves the upload to dst and writes its sidecar, and returns
// once both, and every directory entry leading to them, are durable. The
// renames come first and all the syncs (the file, the sidecar, their
// directory, and the parent of each directory made here) then run at once,
// so they share one journal commit: an upload waits for one round of disk
// flushes here instead of one per step. That order is safe because nothing
// refers to dst until the database commit, which waits for all of them: a
// crash before it leaves at worst a torn file at a path no row names, which
// the repair sweep moves aside and an identical upload replaces.
func placeOnce(tmp, dst string, metadata []byte) error {
	dir := filepath.Dir(dst)
	created, err := mkdirMissing(dir)
	if err != nil {
		return fmt.Errorf("place file: %w", err)
	}
	// On a failure the sidecar stays: a concurrent identical upload may
	// have committed it already (same path, same bytes), and an
	// unreferenced one is moved aside by the repair sweep after its grace
	// period.
	if metadata != nil {
		if err := datadir.Replace(dst+datadir.MetadataSuffix, metadata, 0o644, false); err != nil {
			return fmt.Errorf("write metadata: %w", err)
		}
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("place file: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("place file: %w", err)
	}
	if hook := failPlaceSync.Load(); hook != nil {
		if err := (*hook)(dst); err != nil {
			return err
		}
	}
	syncs := []func() error{func() error { return datadir.SyncFile(dst) }, func() error { return datadir.SyncDir(dir) }}
	if metadata != nil {
		syncs = append(syncs, func() error { return datadir.SyncFile(dst + datadir.MetadataSuffix) })
	}
	for _, d := range created {
		syncs = append(syncs, func() error { return datadir.SyncDir(filepath.Dir(d)) })
	}
	errs := make([]error, len(syncs))
	var wg sync.WaitGroup
	for i, f := range syncs[1:] {
		wg.Go(func() { errs[i+1] = f() })
	}
	errs[0] = syncs[0]()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sync placed file: %w", err)
	}
	return nil
}

// mkdirMissing creates dir and its missing parents and returns the
// directories it created, whose parents the caller syncs so that they
// survive a crash along with the file (an fsync of a directory covers its
// own entries only).
func mkdirMissing(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return missing, nil
}

// unplace removes a placed file after its commit failed, and the hash
// directories it leaves empty: a refused upload leaves nothing on disk.
func (h *Handler) unplace(rel string, placed fs.FileInfo) {
	dst := h.dir.Package(rel)
	if cur, err := os.Stat(dst); err == nil && !os.SameFile(cur, placed) {
		return // another upload's file now: leave it and its sidecar
	}
	os.Remove(dst)
	os.Remove(dst + datadir.MetadataSuffix)
	h.removeEmptyDirs(filepath.Dir(dst))
}

// removeEmptyDirs removes dir and then its parents, up to but not including
// packages/, while they are empty. os.Remove refuses a directory that holds
// anything, so another upload's file keeps its directories; directories
// another upload has only just made may go, and its place tries again.
func (h *Handler) removeEmptyDirs(dir string) {
	root := h.dir.Packages()
	for strings.HasPrefix(dir, root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}
