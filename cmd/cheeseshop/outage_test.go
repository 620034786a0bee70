package main

// Outages: PostgreSQL stopped under a running server, and a data directory
// whose disk fills up. Both need root (runuser, mount); without it they are
// skipped, or fail under CHEESESHOP_REQUIRE.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

const pgBin = "/usr/lib/postgresql/15/bin"

// needRoot skips (or, when required, fails) a test that needs root.
func needRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if required() {
		t.Fatalf("%s needs root", why)
	}
	t.Skipf("%s needs root", why)
}

// pgCluster is a throwaway PostgreSQL cluster of this test's own, run as
// the postgres user (PostgreSQL refuses to run as root).
type pgCluster struct {
	t    *testing.T
	dir  string
	port int
}

func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	needRoot(t, "running a PostgreSQL cluster")
	for _, tool := range []string{pgBin + "/initdb", pgBin + "/pg_ctl", "/usr/sbin/runuser"} {
		if _, err := os.Stat(tool); err != nil {
			if required() {
				t.Fatalf("%s is missing: run `make test`, which installs PostgreSQL", tool)
			}
			t.Skipf("%s is missing", tool)
		}
	}
	// t.TempDir's parents are private to root; the postgres user needs a
	// path it can walk.
	dir, err := os.MkdirTemp("", "cheeseshop-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "postgres:", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
	pg := &pgCluster{t: t, dir: dir, port: freePort(t)}
	pg.asPostgres(pgBin+"/initdb", "-D", pg.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	pg.start()
	t.Cleanup(func() {
		exec.Command("/usr/sbin/runuser", "-u", "postgres", "--", pgBin+"/pg_ctl", "-D", pg.data(), "-m", "immediate", "-w", "stop").Run() //nolint:errcheck // may be stopped already
	})
	return pg
}

func (pg *pgCluster) data() string { return filepath.Join(pg.dir, "data") }

func (pg *pgCluster) asPostgres(args ...string) {
	pg.t.Helper()
	cmd := exec.Command("/usr/sbin/runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	cmd.Dir = pg.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		pg.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (pg *pgCluster) start() {
	pg.t.Helper()
	pg.asPostgres(pgBin+"/pg_ctl", "-D", pg.data(), "-l", filepath.Join(pg.dir, "log"), "-w", "-t", "60", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", pg.port, pg.dir),
		"start")
}

func (pg *pgCluster) stop() {
	pg.t.Helper()
	pg.asPostgres(pgBin+"/pg_ctl", "-D", pg.data(), "-m", "fast", "-w", "stop")
}

func (pg *pgCluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.port, db)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Acceptance 3: PostgreSQL stops under a running server. Uploads fail fast
// with 503 and a clear reason, the pages and files are still served (pip
// installs), and once PostgreSQL is back uploads succeed without
// restarting cheeseshop.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"/usr/bin/python3"} {
		if _, err := os.Stat(tool); err != nil {
			if required() {
				t.Fatalf("%s is missing: run `make test`", tool)
			}
			t.Skipf("%s is missing", tool)
		}
	}
	pg := newPGCluster(t)
	work := t.TempDir()
	// The venv is made while the rest is set up: it takes seconds.
	venv := filepath.Join(work, "venv")
	venvDone := make(chan error, 1)
	go func() {
		out, err := exec.Command("/usr/bin/python3", "-m", "venv", venv).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%v\n%s", err, out)
		}
		venvDone <- err
	}()
	in := newInstall(t, pg.url("cheeseshop"), filepath.Join(work, "data"))
	s := in.serve()
	before := buildWheel(t, "outage-demo", "1.0", 0)
	if r := postDist(s.url, before); r.status != http.StatusOK {
		t.Fatalf("upload with the database up: %d %q %v", r.status, r.body, r.err)
	}

	pg.stop()
	during := buildWheel(t, "outage-demo", "2.0", 0)
	for i := range 3 { // a fresh server and pooled connections alike
		r := postDist(s.url, during)
		if r.err != nil || r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "database cannot be reached") {
			t.Fatalf("upload %d with the database down: %d %q %v", i, r.status, r.body, r.err)
		}
		if r.elapsed > 10*time.Second {
			t.Fatalf("upload %d with the database down took %s", i, r.elapsed)
		}
		t.Logf("upload with the database down: 503 in %s", r.elapsed.Round(time.Millisecond))
	}
	if e, _ := os.ReadDir(filepath.Join(in.dataDir, "tmp")); len(e) > 0 {
		t.Errorf("a refused upload left %d temp files", len(e))
	}
	// Installs keep working from the pages and files on disk.
	wantOnPages(t, s.url, "outage-demo", []dist{before}, true)
	if err := <-venvDone; err != nil {
		t.Fatalf("python3 -m venv: %v", err)
	}
	pip := exec.Command(filepath.Join(venv, "bin", "pip"), "install", "--no-cache-dir", "--index-url", s.url+"/simple/", "outage-demo")
	pip.Env = append(os.Environ(), "HOME="+work, "PIP_DISABLE_PIP_VERSION_CHECK=1", "PATH="+debianPath(os.Getenv("PATH")))
	if out, err := pip.CombinedOutput(); err != nil || !strings.Contains(string(out), "Successfully installed outage-demo-1.0") {
		t.Fatalf("pip install with the database down: %v\n%s", err, out)
	}

	pg.start()
	var r uploadResult
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if r = postDist(s.url, during); r.status == http.StatusOK || time.Now().After(deadline) {
			break
		}
	}
	if r.status != http.StatusOK {
		t.Fatalf("upload after the database came back: %d %q %v", r.status, r.body, r.err)
	}
	wantOnPages(t, s.url, "outage-demo", []dist{before, during}, true)
	if err := s.stop(30 * time.Second); err != nil {
		t.Errorf("server exit: %v", err)
	}
	in.check()
}

// Acceptance 4: the data directory's disk fills up. The upload fails with
// 507 and a clear message, nothing partial stays (no temp file, no placed
// file, no row, no page change), check is clean, and uploads work again
// once there is room.
//
// It needs to mount a tmpfs. Without that permission it is skipped; the
// same failure is injected into the temp file's writer by
// internal/upload's TestUploadWriteFailure, which needs no privileges.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	needRoot(t, "mounting a small tmpfs")
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		if required() {
			t.Logf("mount not permitted (%v: %s); internal/upload TestUploadWriteFailure injects the error instead", err, out)
		}
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", mnt).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v %s", mnt, err, out)
		}
	})
	dataDir := filepath.Join(mnt, "data")
	in := newInstall(t, indextest.NewDBURL(t), dataDir)
	s := in.serve()
	small := buildWheel(t, "full-demo", "1.0", 0)
	if r := postDist(s.url, small); r.status != http.StatusOK {
		t.Fatalf("upload with room: %d %q %v", r.status, r.body, r.err)
	}
	before := treeOf(t, dataDir)

	big := buildWheel(t, "full-demo", "2.0", 2<<20) // twice the disk
	r := postDist(s.url, big)
	if r.err != nil || r.status != http.StatusInsufficientStorage || !strings.Contains(r.body, "disk is full") {
		t.Fatalf("upload to a full disk: %d %q %v", r.status, r.body, r.err)
	}
	if after := treeOf(t, dataDir); after != before {
		t.Errorf("a failed upload changed the data directory:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	in.check()

	// The disk has room again (another file goes): the same upload works.
	ballast := filepath.Join(mnt, "ballast")
	writeFile(t, ballast, make([]byte, 256<<10))
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	medium := buildWheel(t, "full-demo", "2.0", 256<<10)
	if r := postDist(s.url, medium); r.status != http.StatusOK {
		t.Fatalf("upload once there is room: %d %q %v", r.status, r.body, r.err)
	}
	wantOnPages(t, s.url, "full-demo", []dist{small, medium}, true)
	if err := s.stop(30 * time.Second); err != nil {
		t.Errorf("server exit: %v", err)
	}
	in.check()
}

// treeOf lists every file under dir with its size and modification time,
// so that any change shows.
func treeOf(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			fmt.Fprintf(&b, "%s/\n", rel)
		} else {
			fmt.Fprintf(&b, "%s %d %s\n", rel, fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	return b.String()
}
