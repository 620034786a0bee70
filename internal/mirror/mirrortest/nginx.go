package mirrortest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// nginxPath is Debian's nginx, which has the WebDAV module (scripts/deps.sh
// installs it).
const nginxPath = "/usr/sbin/nginx"

// required reports whether a missing tool must fail the test (make test
// sets CHEESESHOP_REQUIRE; CI sets CI=true).
func required() bool { return os.Getenv("CHEESESHOP_REQUIRE") != "" || os.Getenv("CI") == "true" }

// StartNginxDAV starts a private nginx on a free loopback port that accepts
// PUT under /dav/ (creating directories) and serves what was put with GET,
// and returns the base URL of /dav. Everything nginx writes stays in a
// temporary directory; the server stops when the test ends. Without nginx
// the test is skipped, or fails when the tools are required.
func StartNginxDAV(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(nginxPath); err != nil {
		if required() {
			t.Fatalf("%s is missing: run `make test`, which installs it", nginxPath)
		}
		t.Skipf("%s is missing: run `make test`", nginxPath)
	}
	dir := t.TempDir()
	for _, d := range []string{"www/dav", "body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	user := ""
	if os.Geteuid() == 0 {
		// nginx's workers would otherwise drop to nobody and could not
		// write to the test's directory.
		user = "user root;"
	}
	conf := fmt.Sprintf(`%[1]s
daemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    server {
        listen 127.0.0.1:%[3]d;
        root %[2]s/www;
        client_max_body_size 0;
        location /dav/ {
            dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }
    }
}
`, user, dir, port)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(nginxPath, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT) //nolint:errcheck // it may have exited already
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill() //nolint:errcheck
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", stderr.String(), log)
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s", err, stderr.String(), log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not answer on %s", addr)
		}
	}
	return "http://" + addr + "/dav"
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
