package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// TestReadyz (issue 17): /readyz is 503 with the reason while the server's
// PostgreSQL is down and 200 again once it is back, without a restart;
// /healthz stays 200 throughout.
func TestReadyz(t *testing.T) {
	t.Parallel()
	pg := newPGCluster(t)
	in := newInstall(t, pg.url("cheeseshop"), filepath.Join(t.TempDir(), "data"))
	srv := in.serve()
	probe := func(path string) (int, string) {
		status, b := get(t, srv.url+path, "")
		return status, strings.TrimSpace(string(b))
	}
	waitStatus := func(want int) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body := probe("/readyz")
			if code == want {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz: %d %q, want %d", code, body, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if body := waitStatus(200); body != "ready" {
		t.Fatalf("/readyz body %q", body)
	}
	pg.stop()
	if body := waitStatus(503); body != "database unreachable" {
		t.Fatalf("/readyz while PostgreSQL is down: %q", body)
	}
	if code, _ := probe("/healthz"); code != 200 {
		t.Fatalf("/healthz while PostgreSQL is down: %d", code)
	}
	pg.start()
	waitStatus(200)
}

// metricValue finds a sample's value in the text format.
func metricValue(t *testing.T, text, sample string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestMetrics (issue 17): /metrics passes `promtool check metrics`, every
// metric of ours is named cheeseshop_*, and the upload counters move after
// an upload; with --metrics-listen the metrics are there and not on the
// main listener.
func TestMetrics(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("promtool"); err != nil {
		if required() {
			t.Fatal("promtool is missing: run `make test`, which installs Debian's prometheus package")
		}
		t.Skip("promtool is missing")
	}
	in := newInstall(t, indextest.NewDBURL(t), filepath.Join(t.TempDir(), "data"))
	metricsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	srv := in.serve("--metrics-listen", metricsAddr)
	scrape := func() string {
		t.Helper()
		return string(getOK(t, "http://"+metricsAddr+"/metrics", ""))
	}
	before := scrape()
	if v := metricValue(t, before, `cheeseshop_uploads_total{outcome="ok"}`); v != "0" {
		t.Fatalf("uploads ok before any upload: %q", v)
	}
	if r := postDist(srv.url, buildWheel(t, "metrics-demo", "1.0", 0)); r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	if r := postDist(srv.url, buildWheel(t, "metrics-demo", "1.0", 1)); r.status != 400 {
		t.Fatalf("other bytes under the same filename: %d %s", r.status, r.body)
	}
	get(t, srv.url+"/simple/metrics-demo/", "")
	// A request is counted once its handler returns, which can be just
	// after the client has read the answer (a refusal is written on the
	// hijacked connection): wait for the last one to be counted.
	after := scrape()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); after = scrape() {
		if metricValue(t, after, `cheeseshop_http_requests_total{code="200",route="simple"}`) == "1" &&
			metricValue(t, after, `cheeseshop_uploads_total{outcome="refused"}`) == "1" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for sample, want := range map[string]string{
		`cheeseshop_uploads_total{outcome="ok"}`:                      "1",
		`cheeseshop_uploads_total{outcome="refused"}`:                 "1",
		`cheeseshop_upload_duration_seconds_count`:                    "2",
		`cheeseshop_http_requests_total{code="200",route="upload"}`:   "1",
		`cheeseshop_http_requests_total{code="200",route="simple"}`:   "1",
		`cheeseshop_page_rewrite_duration_seconds_count{page="root"}`: "",
		`cheeseshop_stale_pages`:                                      "",
	} {
		got := metricValue(t, after, sample)
		if got == "" || (want != "" && got != want) {
			t.Errorf("%s = %q, want %q", sample, got, want)
		}
	}
	if !strings.Contains(after, "go_goroutines ") {
		t.Error("no Go runtime metrics")
	}
	for _, line := range strings.Split(after, "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			name := strings.Fields(line)[2]
			if !strings.HasPrefix(name, "cheeseshop_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") && !strings.HasPrefix(name, "promhttp_") {
				t.Errorf("metric %s is not named cheeseshop_*", name)
			}
		}
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(after)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	if status, _ := get(t, srv.url+"/metrics", ""); status != 404 {
		t.Errorf("/metrics on the main listener with --metrics-listen: %d, want 404", status)
	}
}

// TestAccessLog (issue 17): one line per request with every field, the
// client taken from X-Forwarded-For of a trusted proxy (the test's own
// loopback connection), and durations in milliseconds.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	in := newInstall(t, indextest.NewDBURL(t), filepath.Join(t.TempDir(), "data"))
	srv := in.serve("--log-format", "json")
	req, _ := http.NewRequest(http.MethodGet, srv.url+"/simple/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 127.0.0.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()
	if r := postDist(srv.url, buildWheel(t, "log-demo", "1.0", 0)); r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var simple, upload, uploaded map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for (simple == nil || upload == nil) && time.Now().Before(deadline) {
		b, _ := os.ReadFile(srv.log)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			if line["msg"] == "file uploaded" {
				uploaded = line
			}
			if line["msg"] != "request" {
				continue
			}
			switch line["route"] {
			case "simple":
				simple = line
			case "upload":
				upload = line
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if simple == nil || upload == nil {
		b, _ := os.ReadFile(srv.log)
		t.Fatalf("no access-log lines for /simple/ and the upload:\n%s", b)
	}
	for _, k := range []string{"time", "level", "method", "route", "path", "status", "bytes", "duration_ms", "request_id", "client"} {
		if _, ok := simple[k]; !ok {
			t.Errorf("access-log line lacks %s: %v", k, simple)
		}
	}
	if simple["client"] != "203.0.113.7" || simple["method"] != "GET" || simple["status"] != float64(200) || simple["bytes"].(float64) <= 0 {
		t.Errorf("access-log line: %v", simple)
	}
	if d, ok := upload["duration_ms"].(float64); !ok || d <= 0 || d > 60_000 {
		t.Errorf("upload duration_ms %v", upload["duration_ms"])
	}
	if n, _ := upload["request_bytes"].(float64); n <= 0 {
		t.Errorf("upload's access-log line lacks its size: %v", upload)
	}
	if uploaded == nil || uploaded["size"] == nil || uploaded["duration_ms"] == nil || uploaded["request_id"] != upload["request_id"] {
		t.Errorf("upload line %v, want size, duration_ms and the request_id %v", uploaded, upload["request_id"])
	}
}
