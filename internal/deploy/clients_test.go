package deploy_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/deploy"
	"github.com/cheeseshop/cheeseshop/internal/deploy/deploytest"
	"github.com/cheeseshop/cheeseshop/internal/static"
)

// clientAccepts are the exact Accept headers real installers and mirrors
// send for a project page (/work/shared/spec/PROTOCOL.md §5 and the
// clients' sources), and whether each must get the JSON page (PEP 691).
var clientAccepts = []struct {
	client, accept string
	json           bool
}{
	// pip 23.0 (Debian 12) to 26.x: pip/_internal/index/collector.py.
	{"pip 23-26", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", true},
	// uv: crates/uv-client/src/registry_client.rs.
	{"uv", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", true},
	// pdm resolves through unearth, which sends pip's header (unearth/collector.py).
	{"pdm", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", true},
	// poetry >= 2.3 for a legacy (non-PyPI) source: http_repository.py _get_prefer_json_header.
	{"poetry 2.3+", "application/vnd.pypi.simple.v1+json, */*;q=0.1", true},
	// poetry < 2.3 sends requests' default and parses HTML.
	{"poetry <2.3", "*/*", false},
	// bandersnatch 8 (and poetry's PyPI source) name JSON only.
	{"bandersnatch 8", "application/vnd.pypi.simple.v1+json", true},
}

// TestClientAcceptHeaders: every client's Accept header gets the same
// representation from the binary (internal/static, what serve mounts at
// /simple/) and from nginx and Apache serving the data directory with the
// configurations cheeseshop deploy prints.
func TestClientAcceptHeaders(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	writeData(t, data)
	servers := map[string]string{}

	bin := httptest.NewServer(static.New(static.Config{DataDir: data}, nil).SimpleHandler())
	t.Cleanup(bin.Close)
	servers["binary"] = bin.URL

	for _, kind := range []string{deploytest.Nginx, deploytest.Apache} {
		if err := deploytest.Missing(kind); err != nil {
			if required() {
				t.Fatal(err)
			}
			t.Logf("%s: %v; skipped", kind, err)
			continue
		}
		servers[kind] = startWebServer(t, kind, data)
	}

	for name, base := range servers {
		for _, c := range clientAccepts {
			t.Run(name+"/"+c.client, func(t *testing.T) {
				r := do(t, "GET", base+"/simple/foo-bar/", nil, "Accept", c.accept, "Cache-Control", "max-age=0")
				ct, body := "text/html", pageHTML
				if c.json {
					ct, body = "application/vnd.pypi.simple.v1+json", pageJSON
				}
				if got := r.header.Get("Content-Type"); r.status != http.StatusOK || !strings.HasPrefix(got, ct) || r.body != body {
					t.Errorf("Accept %q: %d %s %q; want 200 %s with the page", c.accept, r.status, got, r.body, ct)
				}
				if v := r.header.Get("Vary"); !strings.Contains(v, "Accept") {
					t.Errorf("Vary %q does not name Accept", v)
				}
			})
		}
	}
}

// startWebServer runs nginx or Apache with the configuration cheeseshop
// deploy prints for data, in front of a fake app, and returns its URL.
func startWebServer(t *testing.T, kind, data string) string {
	t.Helper()
	app := startApp(t, "127.0.0.1:0")
	t.Cleanup(app.stop)
	return serveDeployed(t, kind, deploy.Config{Upstream: app.addr, DataDir: data, ServerName: "localhost", MaxFileSize: 1 << 20})
}
