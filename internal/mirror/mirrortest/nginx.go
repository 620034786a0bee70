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

	"github.com/cheeseshop/cheeseshop/internal/deploy/deploytest"
)

// nginxPath is Debian's nginx, which has the WebDAV module (scripts/deps.sh
// installs it).
const nginxPath = "/usr/sbin/nginx"

// required reports whether a missing tool must fail the test (make test
// sets CHEESESHOP_REQUIRE; CI sets CI=true).
func required() bool { return os.Getenv("CHEESESHOP_REQUIRE") != "" || os.Getenv("CI") == "true" }

// StartNginxDAV starts a private nginx (see StartNginx) in a temporary
// directory, stops it when the test ends, and returns the base URL of /dav.
// Without nginx the test is skipped, or fails when the tools are required.
func StartNginxDAV(t testing.TB) string {
	t.Helper()
	if err := NginxAvailable(); err != nil {
		if required() {
			t.Fatalf("%v: run `make test`, which installs it", err)
		}
		t.Skipf("%v: run `make test`", err)
	}
	n, err := StartNginx(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Stop()
		if t.Failed() {
			t.Logf("nginx logs:\n%s", n.Logs())
		}
	})
	return n.URL
}

// NginxAvailable reports why nginx cannot be started, or nil.
func NginxAvailable() error {
	if _, err := os.Stat(nginxPath); err != nil {
		return fmt.Errorf("%s is missing", nginxPath)
	}
	return nil
}

// Nginx is a private nginx that accepts PUT under /dav/ (creating
// directories) and serves what was put with GET.
type Nginx struct {
	// URL is the base URL of /dav, without a trailing slash.
	URL    string
	dir    string
	cmd    *exec.Cmd
	out    *bytes.Buffer
	exited chan error
}

// StartNginx starts nginx on a free loopback port with everything it writes
// (pid, logs, temporary files, the served tree) under dir, and returns once
// it accepts connections.
func StartNginx(dir string) (*Nginx, error) {
	for _, d := range []string{"www/dav", "body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	port, err := deploytest.FreePort()
	if err != nil {
		return nil, err
	}
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
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }
    }
}
`, user, dir, port)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	n := &Nginx{dir: dir, out: &bytes.Buffer{}, exited: make(chan error, 1)}
	n.cmd = exec.Command(nginxPath, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	// Its own process group, so that a forced stop also reaches the worker,
	// which holds the output pipe that Wait waits for.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	go func() { n.exited <- n.cmd.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-n.exited:
			n.exited <- err
			return nil, fmt.Errorf("nginx exited: %v\n%s", err, n.Logs())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.Stop()
			return nil, fmt.Errorf("nginx does not answer on %s\n%s", addr, n.Logs())
		}
	}
	n.URL = "http://" + addr + "/dav"
	return n, nil
}

// Stop shuts nginx down and waits for it, killing its process group after
// ten seconds. SIGTERM is nginx's fast shutdown. Its graceful one (SIGQUIT)
// waits for every open connection, and a connection an HTTP client opened
// but never sent a request on (Go's transport dials spares under load) holds
// it for client_header_timeout, 60 s.
func (n *Nginx) Stop() {
	n.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited already
	select {
	case err := <-n.exited:
		n.exited <- err
	case <-time.After(10 * time.Second):
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck
		n.exited <- <-n.exited
	}
}

// Logs returns what nginx printed and its error log.
func (n *Nginx) Logs() string {
	log, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
	return n.out.String() + string(log)
}
