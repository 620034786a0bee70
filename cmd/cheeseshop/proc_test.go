package main

// Helpers for the robustness tests (robust_test.go): the real program as
// separate processes (TestMain's testscript set-up puts a "cheeseshop" that
// re-executes this test binary on PATH), real wheels, and uploads as twine
// sends them.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// install is one installation: a database URL and a data directory, shared
// by every process started on it.
type install struct {
	t       *testing.T
	dbURL   string
	dataDir string
	logDir  string
	mu      sync.Mutex
	n       int // processes started, for log names
}

const (
	rbUser     = "alice"
	rbPassword = "alice-secret"
)

// newInstall migrates dbURL (creating the database) and adds the uploader.
func newInstall(t *testing.T, dbURL, dataDir string) *install {
	t.Helper()
	in := &install{t: t, dbURL: dbURL, dataDir: dataDir, logDir: t.TempDir()}
	if out, err := in.run("", "migrate", "--create-database"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if out, err := in.run(rbPassword+"\n", "user", "add", rbUser, "--password-stdin"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	return in
}

func (in *install) env() []string {
	return append(os.Environ(),
		"CHEESESHOP_DATABASE_URL="+in.dbURL,
		"CHEESESHOP_DATA_DIR="+in.dataDir,
		"CHEESESHOP_LOG_FORMAT=text",
	)
}

// run runs a cheeseshop command to completion and returns its output.
func (in *install) run(stdin string, args ...string) (string, error) {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "cheeseshop", args...)
	cmd.Env = in.env()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// check runs `cheeseshop check` and fails the test unless it is clean.
func (in *install) check() {
	in.t.Helper()
	out, err := in.run("", "check")
	if err != nil || !strings.Contains(out, ": 0 problems") {
		in.t.Fatalf("cheeseshop check: %v\n%s", err, out)
	}
	in.t.Logf("check: %s", lastLine(out))
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// server is one `cheeseshop serve` process.
type server struct {
	in   *install
	cmd  *exec.Cmd
	url  string
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done
}

// serve starts a server and waits until it accepts connections.
func (in *install) serve(extra ...string) *server {
	in.t.Helper()
	in.mu.Lock()
	in.n++
	n := in.n
	in.mu.Unlock()
	ready := filepath.Join(in.logDir, fmt.Sprintf("ready-%d", n))
	logPath := filepath.Join(in.logDir, fmt.Sprintf("serve-%d.log", n))
	logFile, err := os.Create(logPath)
	if err != nil {
		in.t.Fatal(err)
	}
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--ready-file", ready}, extra...)
	cmd := exec.Command("cheeseshop", args...)
	cmd.Env = in.env()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	s := &server{in: in, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	in.t.Cleanup(func() {
		s.kill()
		if in.t.Failed() {
			b, _ := os.ReadFile(logPath)
			in.t.Logf("log of server %d:\n%s", n, tail(string(b), 60))
		}
	})
	deadline := time.After(60 * time.Second)
	for {
		if b, err := os.ReadFile(ready); err == nil && len(bytes.TrimSpace(b)) > 0 {
			s.url = strings.TrimSpace(string(b))
			return s
		}
		select {
		case <-s.done:
			b, _ := os.ReadFile(logPath)
			in.t.Fatalf("server exited before it was ready: %v\n%s", s.err, b)
		case <-deadline:
			in.t.Fatal("server not ready after 60s")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// kill stops the server with SIGKILL, as a crash would, and waits for it.
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // it may have exited meanwhile
	<-s.done
}

// stop sends SIGTERM and returns the exit error once the process is gone.
func (s *server) stop(timeout time.Duration) error {
	s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	select {
	case <-s.done:
		return s.err
	case <-time.After(timeout):
		return fmt.Errorf("server still running %s after SIGTERM", timeout)
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// dist is a distribution file to upload.
type dist struct {
	project, version, filename string
	data                       []byte
}

func (d dist) sha256() string {
	s := sha256.Sum256(d.data)
	return hex.EncodeToString(s[:])
}

// buildWheel returns a minimal valid, installable pure-Python wheel whose
// module body is unique to (project, version); padding adds stored (not
// compressed) bytes.
func buildWheel(t testing.TB, project, version string, padding int) dist {
	t.Helper()
	distName := strings.NewReplacer("-", "_", ".", "_").Replace(project)
	di := distName + "-" + version + ".dist-info/"
	module := fmt.Sprintf("NAME = %q\nVERSION = %q\n", project, version)
	members := [][2]string{
		{distName + ".py", module},
		{di + "METADATA", "Metadata-Version: 2.1\nName: " + project + "\nVersion: " + version + "\nSummary: robustness test\n"},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: cheeseshop-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	if padding > 0 {
		members = append(members, [2]string{distName + "_data.bin", string(randomish(padding, project+version))})
	}
	data := zipWheel(t, di, members, zip.Store)
	return dist{project: project, version: version, filename: distName + "-" + version + "-py3-none-any.whl", data: data}
}

// zipWheel returns a wheel of members (name, content) with their RECORD
// added in the dist-info directory di, each member stored with method
// (zip.Store or zip.Deflate).
func zipWheel(t testing.TB, di string, members [][2]string, method uint16) []byte {
	t.Helper()
	var record strings.Builder
	for _, m := range members {
		s := sha256.Sum256([]byte(m[1]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", m[0], strings.TrimRight(b64url(s[:]), "="), len(m[1]))
	}
	record.WriteString(di + "RECORD,,\n")
	members = append(members, [2]string{di + "RECORD", record.String()})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m[0], Method: method,
			Modified: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, m[1]) //nolint:errcheck // a bytes.Buffer
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readFile returns the file at path, failing the test when it cannot be read.
func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeFile writes data to path, failing the test when it cannot.
func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func b64url(b []byte) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var s strings.Builder
	for i := 0; i < len(b); i += 3 {
		var v uint32
		n := min(3, len(b)-i)
		for j := range 3 {
			v <<= 8
			if j < n {
				v |= uint32(b[i+j])
			}
		}
		for j := range 4 {
			if j <= n {
				s.WriteByte(enc[v>>(18-6*j)&63])
			} else {
				s.WriteByte('=')
			}
		}
	}
	return s.String()
}

// randomish is n incompressible-looking bytes derived from seed.
func randomish(n int, seed string) []byte {
	out := make([]byte, 0, n+32)
	h := sha256.Sum256([]byte(seed))
	for len(out) < n {
		h = sha256.Sum256(h[:])
		out = append(out, h[:]...)
	}
	return out[:n]
}

// uploadBody encodes d as twine 4 does.
func uploadBody(d dist) (contentType string, body []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	m := md5.Sum(d.data)
	for _, f := range [][2]string{
		{":action", "file_upload"}, {"protocol_version", "1"}, {"metadata_version", "2.1"},
		{"name", d.project}, {"version", d.version}, {"summary", "robustness test"},
		{"filetype", "bdist_wheel"}, {"pyversion", "py3"},
		{"md5_digest", hex.EncodeToString(m[:])}, {"sha256_digest", d.sha256()},
	} {
		mw.WriteField(f[0], f[1]) //nolint:errcheck // a bytes.Buffer
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="content"; filename=%q`, d.filename))
	h.Set("Content-Type", "application/octet-stream")
	w, _ := mw.CreatePart(h)
	w.Write(d.data) //nolint:errcheck
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// uploadResult is what an upload got: a status, or an error when no answer
// came (the server died, the connection broke).
type uploadResult struct {
	status  int
	header  http.Header
	body    string
	err     error
	elapsed time.Duration
}

var rbClient = &http.Client{Timeout: 60 * time.Second}

// untilStopped starts n goroutines in wg; goroutine i calls fn(i) again
// and again until stop is closed.
func untilStopped(wg *sync.WaitGroup, stop <-chan struct{}, n int, fn func(i int)) {
	for i := range n {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				fn(i)
			}
		})
	}
}

// postDist uploads d to baseURL/legacy/ as the robustness tests' user.
func postDist(baseURL string, d dist) uploadResult {
	return postAs(baseURL, d, rbUser, rbPassword, nil)
}

// postAs uploads d to baseURL/legacy/ with user:pass and extra headers.
func postAs(baseURL string, d dist, user, pass string, header map[string]string) uploadResult {
	start := time.Now()
	ctype, body := uploadBody(d)
	req, err := http.NewRequest(http.MethodPost, baseURL+"/legacy/", bytes.NewReader(body))
	if err != nil {
		return uploadResult{err: err}
	}
	req.Header.Set("Content-Type", ctype)
	req.SetBasicAuth(user, pass)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := rbClient.Do(req)
	if err != nil {
		return uploadResult{err: err, elapsed: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return uploadResult{err: err, elapsed: time.Since(start)}
	}
	return uploadResult{status: resp.StatusCode, header: resp.Header, body: string(b), elapsed: time.Since(start)}
}

// get fetches a URL and returns its status and body.
// getOK is get for a page that must answer 200.
func getOK(t testing.TB, u, accept string) []byte {
	t.Helper()
	status, body := get(t, u, accept)
	if status != http.StatusOK {
		t.Fatalf("GET %s (Accept %q): %d\n%s", u, accept, status, body)
	}
	return body
}

func get(t testing.TB, u, accept string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := rbClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, b
}

const pep691JSON = "application/vnd.pypi.simple.v1+json"

// wantOnPages fails unless every dist is linked, with its sha256, from the
// project's HTML and JSON pages at baseURL, and downloads with that sha256
// through the link.
func wantOnPages(t testing.TB, baseURL, project string, dists []dist, download bool) {
	t.Helper()
	pageURL := baseURL + "/simple/" + project + "/"
	html := getOK(t, pageURL, "text/html")
	js := getOK(t, pageURL, pep691JSON)
	var missing []string
	for _, d := range dists {
		link := d.filename + "#sha256=" + d.sha256()
		if !bytes.Contains(html, []byte(link)) {
			missing = append(missing, "HTML: "+d.filename)
		}
		if !bytes.Contains(js, []byte(`"filename":"`+d.filename+`"`)) || !bytes.Contains(js, []byte(d.sha256())) {
			missing = append(missing, "JSON: "+d.filename)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%s: %d of %d files missing from the pages: %v", pageURL, len(missing), len(dists), missing)
	}
	if !download {
		return
	}
	for _, d := range dists {
		href := hrefOf(html, d.filename)
		if href == "" {
			t.Fatalf("no link to %s", d.filename)
		}
		u, err := resolve(pageURL, href)
		if err != nil {
			t.Fatal(err)
		}
		status, b := get(t, u, "")
		if s := sha256.Sum256(b); status != http.StatusOK || hex.EncodeToString(s[:]) != d.sha256() {
			t.Fatalf("GET %s: %d, sha256 %x, want %s", u, status, s, d.sha256())
		}
	}
}

// hrefOf returns the href of the HTML page's link to filename.
func hrefOf(html []byte, filename string) string {
	for _, line := range strings.Split(string(html), "\n") {
		i := strings.Index(line, `href="`)
		if i < 0 || !strings.Contains(line, ">"+filename+"<") {
			continue
		}
		rest := line[i+len(`href="`):]
		if j := strings.IndexByte(rest, '"'); j >= 0 {
			return strings.ReplaceAll(rest[:j], "&amp;", "&")
		}
	}
	return ""
}

func resolve(base, href string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, base, nil)
	if err != nil {
		return "", err
	}
	u, err := req.URL.Parse(href)
	if err != nil {
		return "", err
	}
	u.Fragment = ""
	return u.String(), nil
}
