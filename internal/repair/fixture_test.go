package repair_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
	"github.com/cheeseshop/cheeseshop/internal/repair"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// fixture is a fresh database and data directory with the real store and
// page generator, as serve wires them.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store *index.Store
	pages *staticgen.Generator
	data  string
	user  int64
	now   time.Time // what the repairer believes the time is
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool, _ := indextest.NewDB(t)
	store := index.NewStore(pool)
	ctx := context.Background()
	u, err := store.CreateUser(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	for _, d := range []string{"packages", "tmp"} {
		if err := os.MkdirAll(filepath.Join(data, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{t: t, ctx: ctx, store: store, pages: staticgen.New(staticgen.Config{DataDir: data}, store, nil),
		data: data, user: u.ID, now: time.Now()}
}

func (fx *fixture) repairer(cfg repair.Config) *repair.Repairer {
	fx.t.Helper()
	cfg.DataDir = fx.data
	cfg.Now = func() time.Time { return fx.now }
	r, err := repair.New(cfg, fx.store, fx.pages, testLogger(fx.t))
	if err != nil {
		fx.t.Fatal(err)
	}
	return r
}

// later makes the repairer believe the grace period has passed for every
// file that exists now.
func (fx *fixture) later() { fx.now = time.Now().Add(repair.DefaultGrace + time.Minute) }

// addFile writes an sdist of project at version with the given bytes under
// DATA/packages and records it, as an upload does, without writing pages.
// With metadata it is a wheel with a PEP 658 sidecar.
func (fx *fixture) addFile(project, version, body string, metadata bool) index.File {
	fx.t.Helper()
	if !metadata {
		f := index.File{Filename: fmt.Sprintf("%s-%s.tar.gz", project, version), Type: index.Sdist, PythonVersion: "source"}
		return fx.putFile(project, version, f, []byte(body), nil)
	}
	wheelName := strings.ReplaceAll(project, "-", "_")
	f := index.File{Filename: fmt.Sprintf("%s-%s-py3-none-any.whl", wheelName, version), Type: index.Wheel, PythonVersion: "py3"}
	md := []byte("Metadata-Version: 2.1\nName: " + project + "\nVersion: " + version + "\n")
	ms := sha256.Sum256(md)
	f.MetadataSHA256 = hex.EncodeToString(ms[:])
	return fx.putFile(project, version, f, []byte(body), md)
}

// putFile writes data under DATA/packages at f's content-addressed path,
// and sidecar (unless nil) beside it as its .metadata, and records f, with
// its size, digests and path those of data, as a file of project at
// version.
func (fx *fixture) putFile(project, version string, f index.File, data, sidecar []byte) index.File {
	fx.t.Helper()
	v, err := index.ParseVersion(version)
	if err != nil {
		fx.t.Fatal(err)
	}
	s, m, b := sha256.Sum256(data), md5.Sum(data), blake2b.Sum256(data)
	f.Size, f.SHA256, f.MD5, f.Blake2b256 = int64(len(data)), hex.EncodeToString(s[:]), hex.EncodeToString(m[:]), hex.EncodeToString(b[:])
	f.Path = datadir.PackagePath(f.Blake2b256, f.Filename)
	dst := fx.packagePath(f.Path)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		fx.t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		fx.t.Fatal(err)
	}
	if sidecar != nil {
		if err := os.WriteFile(dst+".metadata", sidecar, 0o644); err != nil {
			fx.t.Fatal(err)
		}
	}
	if _, err := fx.store.AddFile(fx.ctx, index.NewFile{Project: project, Version: v, File: f, Uploader: fx.user}); err != nil {
		fx.t.Fatal(err)
	}
	return f
}

func (fx *fixture) packagePath(rel string) string {
	return filepath.Join(fx.data, "packages", filepath.FromSlash(rel))
}

func (fx *fixture) pageDir(name string) string { return filepath.Join(fx.data, "simple", name) }

// wantPages fails unless the project's pages are what the database renders.
func (fx *fixture) wantPages(name string) {
	fx.t.Helper()
	err := fx.store.InspectProject(fx.ctx, index.Normalized(name), func(st index.ProjectState) error {
		for file, render := range map[string]func(*bytes.Buffer, index.ProjectState){
			datadir.HTMLName: staticgen.RenderProjectHTML, datadir.JSONName: staticgen.RenderProjectJSON,
		} {
			var want bytes.Buffer
			render(&want, st)
			got, err := os.ReadFile(filepath.Join(fx.pageDir(name), file))
			if err != nil {
				return err
			}
			if !bytes.Equal(got, want.Bytes()) {
				return fmt.Errorf("%s/%s is not the database's rendering at serial %d", name, file, st.Project.LastSerial)
			}
		}
		return nil
	})
	if err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *fixture) stale() []index.StalePage {
	fx.t.Helper()
	s, err := fx.store.StalePages(fx.ctx)
	if err != nil {
		fx.t.Fatal(err)
	}
	return s
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// testLogger sends logs to t.Log while the test runs.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
