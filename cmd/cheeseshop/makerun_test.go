package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// TestMakeRunNeedsOnlyGoAndPostgres (issue 17): `make run` starts the
// server on a PATH with Go, PostgreSQL's client tools and the basic shell
// tools, and without nginx, apache2, twine, flit or apt-get.
func TestMakeRunNeedsOnlyGoAndPostgres(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary with make")
	}
	dbURL := indextest.NewDBURL(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	// A PATH of links to the tools make run may use, and nothing else.
	bin := t.TempDir()
	for _, tool := range []string{"make", "go", "bash", "sh", "env", "id", "pg_isready", "grep", "sed", "awk",
		"cat", "ls", "sort", "tail", "seq", "sleep", "dirname", "mkdir", "rm", "uname", "git",
		// The C toolchain is optional for make run; with it the build reuses
		// the test's own build cache instead of rebuilding without cgo.
		"gcc", "cc", "as", "ld"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			if optional := map[string]bool{"git": true, "gcc": true, "cc": true, "as": true, "ld": true}; optional[tool] {
				continue
			}
			if required() {
				t.Fatalf("%s is missing", tool)
			}
			t.Skipf("%s is missing", tool)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	for _, absent := range []string{"nginx", "apache2", "twine", "flit", "apt-get", "sudo"} {
		if _, err := os.Stat(filepath.Join(bin, absent)); err == nil {
			t.Fatalf("%s is on the test's PATH", absent)
		}
	}
	port := freePort(t)
	listen := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command("make", "-C", root, "run", "LISTEN="+listen, "DATABASE_URL="+dbURL, "DATA_DIR="+filepath.Join(t.TempDir(), "data"))
	cmd.Env = append(os.Environ(), "PATH="+bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logPath := filepath.Join(t.TempDir(), "make-run.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) //nolint:errcheck // it may have exited
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck
			<-done
		}
		logFile.Close()
	})
	deadline := time.Now().Add(5 * time.Minute) // make builds the binary first
	for {
		resp, err := http.Get("http://" + listen + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("make run exited: %v\n%s", err, b)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("make run: no server on %s after 5 minutes\n%s", listen, b)
		}
	}
}
