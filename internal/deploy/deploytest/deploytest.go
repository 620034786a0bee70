// Package deploytest runs real nginx and Apache processes for tests: each in
// its own directory (configuration, pid file, logs, temporary files), in the
// foreground, on a free loopback port, with a site configuration produced by
// the caller (normally package deploy's output).
//
// It only starts and stops the processes it starts; it never touches the
// system's web server configuration or fixed ports.
package deploytest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// The web servers, by the name `cheeseshop deploy` uses for them.
const (
	Nginx  = "nginx"
	Apache = "apache"
)

// Binary is where Debian's nginx and apache2 packages put the servers.
var Binary = map[string]string{
	Nginx:  "/usr/sbin/nginx",
	Apache: "/usr/sbin/apache2",
}

// apacheModules is where Debian's apache2 package puts its modules.
const apacheModules = "/usr/lib/apache2/modules"

// Missing returns a non-nil error when the web server of kind is not
// installed, saying how to get it.
func Missing(kind string) error {
	bin, ok := Binary[kind]
	if !ok {
		return fmt.Errorf("unknown web server %q", kind)
	}
	if _, err := os.Stat(bin); err != nil {
		pkg := map[string]string{Nginx: "nginx", Apache: "apache2"}[kind]
		return fmt.Errorf("%s is missing (Debian package %s; `make test` installs it)", bin, pkg)
	}
	return nil
}

// Server is a running web server.
type Server struct {
	Kind string
	Dir  string // its configuration, pid file, logs and temporary files
	Addr string // 127.0.0.1:port
	URL  string // http://127.0.0.1:port

	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	err    error         // from Wait, valid after done
	output *lockedBuffer // stdout and stderr
}

// startAttempts bounds the retries when another process takes the chosen
// port between our probe and the server's bind.
const startAttempts = 10

// Start starts the web server of kind in dir (created if needed). render
// returns the site configuration for a listen address "127.0.0.1:PORT"; it
// is called again with a new port when the server cannot bind. The data
// directory the site serves must be readable by the server's workers, which
// run as www-data when the tests run as root: see OpenPath.
func Start(kind, dir string, render func(listen string) ([]byte, error)) (*Server, error) {
	if err := Missing(kind); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := OpenPath(dir); err != nil {
		return nil, err
	}
	var lastErr error
	for range startAttempts {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		site, err := render(addr)
		if err != nil {
			return nil, fmt.Errorf("render %s site: %w", kind, err)
		}
		s, err := start(kind, dir, addr, site)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errAddrInUse) {
			return nil, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("%s: no free port after %d attempts: %w", kind, startAttempts, lastErr)
}

var errAddrInUse = errors.New("address in use")

// StartT is Start for a test: it fails the test when the server does not
// start, and stops the server when the test ends, failing the test when it
// does not stop cleanly and logging what the server wrote when the test
// failed.
func StartT(t testing.TB, kind, dir string, render func(listen string) ([]byte, error)) *Server {
	t.Helper()
	srv, err := Start(kind, dir, render)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Log(srv.Logs())
		}
	})
	return srv
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func start(kind, dir, addr string, site []byte) (*Server, error) {
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), site, 0o644); err != nil {
		return nil, err
	}
	pidFile := filepath.Join(dir, kind+".pid")
	os.Remove(pidFile)
	errorLog := filepath.Join(dir, "error.log")
	os.Remove(errorLog)
	if err := os.MkdirAll(filepath.Join(dir, "scratch"), 0o755); err != nil {
		return nil, err
	}
	vars := mainVars{Dir: dir, Addr: addr, PidFile: pidFile, ErrorLog: errorLog, Modules: apacheModules}
	if os.Geteuid() == 0 {
		// Root's workers must run as someone; the data directory is then read
		// as that user, as in production.
		vars.User, vars.Group = workerUser()
	}
	var conf bytes.Buffer
	if err := mainConf[kind].Execute(&conf, vars); err != nil {
		return nil, err
	}
	confFile := filepath.Join(dir, kind+".conf")
	if err := os.WriteFile(confFile, conf.Bytes(), 0o644); err != nil {
		return nil, err
	}

	var cmd *exec.Cmd
	switch kind {
	case Nginx:
		cmd = exec.Command(Binary[kind], "-p", dir+"/", "-c", confFile, "-e", errorLog)
	case Apache:
		cmd = exec.Command(Binary[kind], "-DFOREGROUND", "-d", dir, "-f", confFile)
	}
	out := new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = dir
	// Its own process group, so that a forced stop also reaches the workers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", kind, err)
	}
	s := &Server{Kind: kind, Dir: dir, Addr: addr, URL: "http://" + addr, cmd: cmd, done: make(chan struct{}), output: out}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(pidFile); err != nil {
		s.Stop()
		logs := s.Logs()
		if strings.Contains(logs, "Address already in use") || strings.Contains(logs, "could not bind") {
			return nil, fmt.Errorf("%w: %s", errAddrInUse, addr)
		}
		return nil, fmt.Errorf("%s did not start: %w\n%s", kind, err, logs)
	}
	return s, nil
}

// readyTimeout is generous: a loaded CI machine may take a while to fork.
const readyTimeout = 30 * time.Second

// waitReady waits until the server has bound its port and accepts
// connections. Both servers write their pid file only after opening their
// listening sockets, so the pid file tells our server from another process
// that might have taken the port.
func (s *Server) waitReady(pidFile string) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("exited: %v", s.err)
		default:
		}
		if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(s.cmd.Process.Pid) {
			if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", readyTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopTimeout bounds a graceful stop before the process group is killed.
const stopTimeout = 10 * time.Second

// Stop stops the server and waits for it. It is safe to call more than once.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	// SIGTERM is a fast shutdown for both servers; they stop their workers.
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(stopTimeout):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		return fmt.Errorf("%s did not stop within %s; killed", s.Kind, stopTimeout)
	}
}

// Logs returns the server's error log and its output, for failure messages.
func (s *Server) Logs() string {
	var b strings.Builder
	if log, err := os.ReadFile(filepath.Join(s.Dir, "error.log")); err == nil && len(log) > 0 {
		fmt.Fprintf(&b, "--- %s error.log\n%s", s.Kind, log)
	}
	if out := s.output.String(); out != "" {
		fmt.Fprintf(&b, "--- %s output\n%s", s.Kind, out)
	}
	return b.String()
}

// OpenPath lets the web server's workers reach path: it adds search (o+x)
// permission to path and each of its parents inside the temporary directory
// that lack it, such as the 0700 directories of t.TempDir and testscript.
// Nothing outside the temporary directory is changed.
func OpenPath(path string) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	tmp, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		tmp = os.TempDir()
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	for p := path; strings.HasPrefix(p, tmp+string(filepath.Separator)); p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.IsDir() && fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, fi.Mode().Perm()|0o011); err != nil {
				return err
			}
		}
	}
	return nil
}

// workerUser is the user and group the workers run as under root: Debian's
// www-data, as the packaged servers use.
func workerUser() (string, string) {
	if _, err := user.Lookup("www-data"); err == nil {
		return "www-data", "www-data"
	}
	return "nobody", "nogroup"
}

type mainVars struct {
	Dir, Addr, PidFile, ErrorLog, Modules string
	User, Group                           string
}

// mainConf holds the top-level configurations that wrap a site: everything
// inside Dir, nothing from /etc.
var mainConf = map[string]*template.Template{
	Nginx: template.Must(template.New(Nginx).Parse(`daemon off;
master_process on;
worker_processes 1;
pid {{.PidFile}};
error_log {{.ErrorLog}} warn;
{{with .User}}user {{.}} {{$.Group}};{{end}}
events {
    worker_connections 256;
}
http {
    # As Debian's nginx.conf: the site must hold its own against these.
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    gzip on;
    access_log {{.Dir}}/access.log;
    client_body_temp_path {{.Dir}}/scratch/client_body;
    proxy_temp_path {{.Dir}}/scratch/proxy;
    fastcgi_temp_path {{.Dir}}/scratch/fastcgi;
    uwsgi_temp_path {{.Dir}}/scratch/uwsgi;
    scgi_temp_path {{.Dir}}/scratch/scgi;
    include {{.Dir}}/site.conf;
}
`)),
	Apache: template.Must(template.New(Apache).Parse(`ServerRoot {{.Dir}}
ServerName localhost
Listen {{.Addr}}
PidFile {{.PidFile}}
ErrorLog {{.ErrorLog}}
LogLevel warn
DefaultRuntimeDir {{.Dir}}
Mutex file:{{.Dir}} default
# As Debian's mime.conf, plus an AddEncoding some operators add: the site
# must still send a .tar.gz as opaque bytes.
TypesConfig /etc/mime.types
AddType application/x-gzip .gz .tgz
AddEncoding x-gzip .gz .tgz
AddCharset UTF-8 .utf8
{{with .User}}User {{.}}
Group {{$.Group}}{{end}}
LoadModule mpm_event_module {{.Modules}}/mod_mpm_event.so
LoadModule authz_core_module {{.Modules}}/mod_authz_core.so
LoadModule mime_module {{.Modules}}/mod_mime.so
LoadModule dir_module {{.Modules}}/mod_dir.so
LoadModule rewrite_module {{.Modules}}/mod_rewrite.so
LoadModule headers_module {{.Modules}}/mod_headers.so
LoadModule proxy_module {{.Modules}}/mod_proxy.so
LoadModule proxy_http_module {{.Modules}}/mod_proxy_http.so
LoadModule proxy_balancer_module {{.Modules}}/mod_proxy_balancer.so
LoadModule slotmem_shm_module {{.Modules}}/mod_slotmem_shm.so
LoadModule lbmethod_byrequests_module {{.Modules}}/mod_lbmethod_byrequests.so
LogFormat "%h %l %u %t \"%r\" %>s %b" common
CustomLog {{.Dir}}/access.log common
<Directory />
    Options None
    AllowOverride None
    Require all denied
</Directory>
Include {{.Dir}}/site.conf
`)),
}

// lockedBuffer collects a process's output, written by os/exec's copying
// goroutine and read by Logs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
