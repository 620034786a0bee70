package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// rootSerial reads the root JSON's _last-serial of project from a server.
func rootSerial(t *testing.T, baseURL, project string) int64 {
	t.Helper()
	body := getOK(t, baseURL+"/simple/", "application/vnd.pypi.simple.v1+json")
	var root struct {
		Projects []struct {
			Name       string `json:"name"`
			LastSerial int64  `json:"_last-serial"`
		} `json:"projects"`
	}
	if err := json.Unmarshal(body, &root); err != nil {
		t.Fatal(err)
	}
	for _, p := range root.Projects {
		if p.Name == project {
			return p.LastSerial
		}
	}
	t.Fatalf("%s is not on the root page", project)
	return 0
}

var serialOut = regexp.MustCompile(`\(serial (\d+)\)`)

// TestCLIChangeReachesRoot (issue 17): with a server running, `cheeseshop
// unyank` from the command line raises the root JSON's _last-serial of the
// project within --root-refresh: the server hears the commit (NOTIFY) and
// rewrites its root. bandersnatch finds changed projects by those serials.
func TestCLIChangeReachesRoot(t *testing.T) {
	t.Parallel()
	in := newInstall(t, indextest.NewDBURL(t), filepath.Join(t.TempDir(), "data"))
	const refresh = time.Second
	srv := in.serve("--root-refresh", refresh.String())
	d := buildWheel(t, "notify-demo", "1.0", 0)
	if r := postDist(srv.url, d); r.status != 200 {
		t.Fatalf("upload: %d %s %v", r.status, r.body, r.err)
	}
	for _, step := range []string{"yank", "unyank"} {
		out, err := in.run("", step, "notify-demo", "1.0")
		if err != nil {
			t.Fatalf("%s: %v\n%s", step, err, out)
		}
		m := serialOut.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%s printed no serial: %s", step, out)
		}
		want, _ := strconv.ParseInt(m[1], 10, 64)
		start := time.Now()
		deadline := start.Add(refresh + 3*time.Second) // the refresh, plus a rewrite on a busy machine
		for {
			got := rootSerial(t, srv.url, "notify-demo")
			if got >= want {
				t.Logf("%s: root serial %d after %s", step, got, time.Since(start).Round(time.Millisecond))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the root JSON still says _last-serial %d after %s, want %d", step, got, time.Since(start).Round(time.Millisecond), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
