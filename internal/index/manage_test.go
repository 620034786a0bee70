package index_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// manageFixture is a fresh database with users alice (who uploads) and bob.
type manageFixture struct {
	store      *index.Store
	alice, bob int64
}

func newManageFixture(t *testing.T) *manageFixture {
	t.Helper()
	pool, _ := indextest.NewDB(t)
	fx := &manageFixture{store: index.NewStore(pool)}
	for _, u := range []struct {
		name string
		id   *int64
	}{{"alice", &fx.alice}, {"bob", &fx.bob}} {
		user, err := fx.store.CreateUser(context.Background(), u.name, "x")
		if err != nil {
			t.Fatal(err)
		}
		*u.id = user.ID
	}
	return fx
}

func mustVersion(t *testing.T, s string) index.Version {
	t.Helper()
	v, err := index.ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// upload records a file of project at version as user and returns the result.
func (fx *manageFixture) upload(t *testing.T, user int64, project, version, filename string) (index.AddResult, error) {
	t.Helper()
	h := fmt.Sprintf("%x", sha256.Sum256([]byte(filename)))
	typ, pyv := index.Sdist, "source"
	if strings.HasSuffix(filename, ".whl") {
		typ, pyv = index.Wheel, "py3"
	}
	return fx.store.AddFile(context.Background(), index.NewFile{
		Project: project, Version: mustVersion(t, version), Uploader: user,
		File: index.File{Filename: filename, Type: typ, PythonVersion: pyv, Size: 3,
			SHA256: h, MD5: h[:32], Blake2b256: h, Path: datadir.PackagePath(h, filename)},
	})
}

// wantJournal fails the test unless the project's journal holds the
// actions want, in order.
func (fx *manageFixture) wantJournal(t *testing.T, project string, want ...string) {
	t.Helper()
	rows, err := fx.store.Pool().Query(context.Background(), `SELECT action FROM journal WHERE name ILIKE $1 ORDER BY id`, project)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out, want) {
		t.Fatalf("journal\n got %q\nwant %q", out, want)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newManageFixture(t)
	hash := sha256.Sum256([]byte("pypi-secret"))
	tok, err := fx.store.CreateToken(ctx, "alice", hash[:], []string{"Foo_Bar", "foo.bar", "spam"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.UserID != fx.alice || !slices.Equal(tok.Projects, []index.Normalized{"foo-bar", "spam"}) || tok.Revoked() {
		t.Fatalf("created %+v", tok)
	}
	u, got, err := fx.store.TokenBySecretHash(ctx, hash[:])
	if err != nil || u.ID != fx.alice || u.Name != "alice" || got.ID != tok.ID || got.LastUsedAt.IsZero() {
		t.Fatalf("lookup = %+v, %+v, %v", u, got, err)
	}
	other := sha256.Sum256([]byte("pypi-other"))
	if _, _, err := fx.store.TokenBySecretHash(ctx, other[:]); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("unknown token: %v, want ErrNotFound", err)
	}
	if _, err := fx.store.CreateToken(ctx, "nobody", other[:], nil); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("token for unknown user: %v", err)
	}
	if _, err := fx.store.CreateToken(ctx, "alice", other[:], []string{"-bad-"}); !errors.Is(err, index.ErrInvalid) {
		t.Fatalf("token for invalid project: %v", err)
	}
	if _, err := fx.store.CreateToken(ctx, "bob", hash[:], nil); !errors.Is(err, index.ErrExists) {
		t.Fatalf("same secret twice: %v", err)
	}

	revoked, err := fx.store.RevokeToken(ctx, tok.ID)
	if err != nil || !revoked.Revoked() {
		t.Fatalf("revoke = %+v, %v", revoked, err)
	}
	again, err := fx.store.RevokeToken(ctx, tok.ID)
	if err != nil || !again.RevokedAt.Equal(revoked.RevokedAt) {
		t.Fatalf("second revoke = %+v, %v: must keep the first time", again, err)
	}
	if _, _, err := fx.store.TokenBySecretHash(ctx, hash[:]); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("revoked token: %v, want ErrNotFound", err)
	}
	if _, err := fx.store.RevokeToken(ctx, tok.ID+100); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	list, err := fx.store.Tokens(ctx, "alice")
	if err != nil || len(list) != 1 || !list[0].Revoked() {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if _, err := fx.store.Tokens(ctx, "nobody"); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("list of unknown user: %v", err)
	}

	// Only the hash is stored.
	var stored []byte
	if err := fx.store.Pool().QueryRow(ctx, `SELECT secret_sha256 FROM api_tokens WHERE id = $1`, tok.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, hash[:]) {
		t.Fatalf("stored %x", stored)
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newManageFixture(t)
	if _, err := fx.upload(t, fx.alice, "Demo", "1.0", "demo-1.0.tar.gz"); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.upload(t, fx.bob, "demo", "1.1", "demo-1.1.tar.gz"); !errors.Is(err, index.ErrForbidden) {
		t.Fatalf("stranger upload: %v, want ErrForbidden", err)
	}
	ch, err := fx.store.AddRole(ctx, "demo", "bob", index.RoleMaintainer)
	if err != nil || !ch.Changed {
		t.Fatalf("add role = %+v, %v", ch, err)
	}
	if again, err := fx.store.AddRole(ctx, "demo", "bob", index.RoleMaintainer); err != nil || again.Changed || again.Project.LastSerial != ch.Project.LastSerial {
		t.Fatalf("same role again = %+v, %v", again, err)
	}
	if _, err := fx.upload(t, fx.bob, "demo", "1.1", "demo-1.1.tar.gz"); err != nil {
		t.Fatalf("maintainer upload: %v", err)
	}
	roles, err := fx.store.Roles(ctx, ch.Project.ID)
	want := []index.RoleAssignment{{User: "alice", Role: "owner"}, {User: "bob", Role: "maintainer"}}
	if err != nil || !slices.Equal(roles, want) {
		t.Fatalf("roles = %+v, %v", roles, err)
	}
	if _, err := fx.store.RemoveRole(ctx, "demo", "alice"); !errors.Is(err, index.ErrInvalid) {
		t.Fatalf("removing the last owner: %v, want ErrInvalid", err)
	}
	if _, err := fx.store.AddRole(ctx, "demo", "alice", index.RoleMaintainer); !errors.Is(err, index.ErrInvalid) {
		t.Fatalf("demoting the last owner: %v, want ErrInvalid", err)
	}
	if _, err := fx.store.AddRole(ctx, "demo", "bob", index.RoleOwner); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.RemoveRole(ctx, "demo", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.RemoveRole(ctx, "demo", "alice"); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("removing a missing role: %v", err)
	}
	for _, bad := range []struct{ project, user, role string }{
		{"nope", "bob", "owner"}, {"demo", "nobody", "owner"}, {"demo", "bob", "admin"},
	} {
		if _, err := fx.store.AddRole(ctx, index.Normalized(bad.project), bad.user, bad.role); err == nil {
			t.Errorf("AddRole(%v) succeeded", bad)
		}
	}
	fx.wantJournal(t, "demo", "create", "add Owner alice", "new release", "add source file demo-1.0.tar.gz", "add Maintainer bob",
		"new release", "add source file demo-1.1.tar.gz", "change Maintainer bob to Owner", "remove Owner alice")
}

func TestYankAndDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newManageFixture(t)
	for _, f := range []struct{ v, name string }{{"1.0", "demo-1.0.tar.gz"}, {"1.0", "demo-1.0-py3-none-any.whl"}, {"2.0", "demo-2.0.tar.gz"}} {
		if _, err := fx.upload(t, fx.alice, "demo", f.v, f.name); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := fx.store.YankRelease(ctx, "demo", "2.0.0", "broken", "alice")
	if err != nil || !ch.Changed {
		t.Fatalf("yank = %+v, %v", ch, err)
	}
	state := func() index.ProjectDetail {
		d, err := fx.store.ProjectDetail(ctx, "demo")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := state()
	if r := d.Releases[1]; !r.Yanked || r.YankedReason != "broken" || d.Project.LastSerial != ch.Project.LastSerial {
		t.Fatalf("after yank: %+v serial %d", r, d.Project.LastSerial)
	}
	if again, err := fx.store.YankRelease(ctx, "demo", "2.0", "broken", "alice"); err != nil || again.Changed {
		t.Fatalf("second yank = %+v, %v", again, err)
	}
	if _, err := fx.store.UnyankRelease(ctx, "demo", "2.0", ""); err != nil {
		t.Fatal(err)
	}
	if r := state().Releases[1]; r.Yanked || r.YankedReason != "" {
		t.Fatalf("after unyank: %+v", r)
	}
	if _, err := fx.store.YankRelease(ctx, "demo", "3.0", "", ""); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("yank unknown release: %v", err)
	}
	if _, err := fx.store.YankRelease(ctx, "nope", "1.0", "", ""); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("yank unknown project: %v", err)
	}

	ch, err = fx.store.DeleteFile(ctx, "demo", "1.0", "demo-1.0.tar.gz", "alice")
	if err != nil || len(ch.Removed) != 1 || ch.Removed[0].Path == "" {
		t.Fatalf("delete file = %+v, %v", ch, err)
	}
	if _, err := fx.store.DeleteFile(ctx, "demo", "1.0", "demo-1.0.tar.gz", "alice"); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := fx.upload(t, fx.alice, "demo", "1.0", "demo-1.0.tar.gz"); !errors.Is(err, index.ErrInvalid) ||
		!bytes.Contains([]byte(err.Error()), []byte("previously used by a file that has since been deleted")) {
		t.Fatalf("re-upload of a deleted filename: %v", err)
	}
	ch, err = fx.store.DeleteRelease(ctx, "demo", "1.0", "alice")
	if err != nil || len(ch.Removed) != 1 || ch.Removed[0].Filename != "demo-1.0-py3-none-any.whl" {
		t.Fatalf("delete release = %+v, %v", ch, err)
	}
	d = state()
	if len(d.Releases) != 1 || len(d.Files) != 1 || d.Project.LastSerial != ch.Project.LastSerial {
		t.Fatalf("after delete: %+v", d)
	}
	_, _, deleted, err := fx.store.ExistingFile(ctx, "demo-1.0-py3-none-any.whl", "x")
	if err != nil || !deleted {
		t.Fatalf("wheel of the deleted release not tombstoned: %v", err)
	}
	fx.wantJournal(t, "demo", "create", "add Owner alice", "new release", "add source file demo-1.0.tar.gz", "add py3 file demo-1.0-py3-none-any.whl",
		"new release", "add source file demo-2.0.tar.gz", "yank release", "unyank release",
		"remove file demo-1.0.tar.gz", "remove file demo-1.0-py3-none-any.whl", "remove release")
}

func TestRegisterRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newManageFixture(t)
	md := index.Metadata{MetadataVersion: "1.0", Name: "Foo.Bar", Version: "1.0", Summary: "first"}
	nr := index.NewRelease{Project: "Foo.Bar", Version: mustVersion(t, "1.0"), Metadata: md, Registrant: fx.alice}
	res, err := fx.store.RegisterRelease(ctx, nr)
	if err != nil || !res.NewProject || res.Identical || res.Project.Normalized != "foo-bar" {
		t.Fatalf("register = %+v, %v", res, err)
	}
	again, err := fx.store.RegisterRelease(ctx, nr)
	if err != nil || !again.Identical || again.Serial != res.Serial {
		t.Fatalf("register again = %+v, %v", again, err)
	}
	nr.Metadata.Summary = "second"
	upd, err := fx.store.RegisterRelease(ctx, nr)
	if err != nil || upd.Identical || upd.Serial <= res.Serial {
		t.Fatalf("register changed metadata = %+v, %v", upd, err)
	}
	d, err := fx.store.ProjectDetail(ctx, "foo-bar")
	if err != nil || len(d.Releases) != 1 || len(d.Files) != 0 || d.Releases[0].Metadata.Summary != "second" ||
		!slices.Equal(d.Roles, []index.RoleAssignment{{User: "alice", Role: "owner"}}) {
		t.Fatalf("detail = %+v, %v", d, err)
	}
	nr.Registrant = fx.bob
	if _, err := fx.store.RegisterRelease(ctx, nr); !errors.Is(err, index.ErrForbidden) {
		t.Fatalf("stranger registers: %v", err)
	}
	nr.Registrant = fx.alice
	nr.Project = "other"
	nr.Allowed = func(p index.Project) error { return fmt.Errorf("%w: scoped", index.ErrForbidden) }
	if _, err := fx.store.RegisterRelease(ctx, nr); !errors.Is(err, index.ErrForbidden) {
		t.Fatalf("scoped token creates another project: %v", err)
	}
	if _, err := fx.store.Project(ctx, "other"); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("refused register left project: %v", err)
	}
	// An upload to the registered release keeps its metadata.
	if _, err := fx.upload(t, fx.alice, "foo.bar", "1.0", "foo_bar-1.0.tar.gz"); err != nil {
		t.Fatal(err)
	}
	fx.wantJournal(t, "foo.bar", "create", "add Owner alice", "new release", "update release", "add source file foo_bar-1.0.tar.gz")
	if _, err := fx.store.ProjectDetail(ctx, "nope"); !errors.Is(err, index.ErrNotFound) {
		t.Fatalf("detail of unknown project: %v", err)
	}
}
