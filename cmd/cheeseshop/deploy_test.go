package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/deploy"
	"github.com/cheeseshop/cheeseshop/internal/static"
)

var updateDeploy = flag.Bool("update-deploy", false, "rewrite deploy/nginx and deploy/apache from `cheeseshop deploy …`")

// TestDeployFiles checks that the configurations shipped in deploy/ are what
// `cheeseshop deploy nginx|apache` prints for the defaults. After a deliberate
// change run `go generate ./cmd/cheeseshop` (or this test with
// -update-deploy) and review the diff.
func TestDeployFiles(t *testing.T) {
	for _, kind := range []string{"nginx", "apache"} {
		t.Run(kind, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			noenv := func(string) string { return "" }
			if err := run(context.Background(), []string{"deploy", kind}, noenv, strings.NewReader(""), &stdout, &stderr); err != nil {
				t.Fatalf("cheeseshop deploy %s: %v\n%s", kind, err, stderr.String())
			}
			path := filepath.Join("..", "..", "deploy", kind, "cheeseshop.conf")
			if *updateDeploy {
				writeFile(t, path, stdout.Bytes())
			}
			if stdout.String() != readFile(t, path) {
				t.Errorf("%s differs from `cheeseshop deploy %s`; run `go generate ./cmd/cheeseshop` and review the diff.\ngot:\n%s", path, kind, stdout.String())
			}
		})
	}
}

// TestDeployFlags checks the flags, their environment fallbacks and that bad
// input is an error with nothing printed.
func TestDeployFlags(t *testing.T) {
	env := map[string]string{
		"CHEESESHOP_WEB_LISTEN":    "8081",
		"CHEESESHOP_UPSTREAM":      "127.0.0.1:9000",
		"CHEESESHOP_DATA_DIR":      "/srv/env-data",
		"CHEESESHOP_SERVER_NAME":   "env.example.com",
		"CHEESESHOP_MAX_FILE_SIZE": "209715200",
	}
	getenv := func(k string) string { return env[k] }
	deployOut := func(t *testing.T, getenv func(string) string, args ...string) (string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, getenv, strings.NewReader(""), &stdout, &stderr)
		return stdout.String(), err
	}

	out, err := deployOut(t, getenv, "deploy", "nginx")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"listen 8081;", "server 127.0.0.1:9000;", "root /srv/env-data;", "server_name env.example.com;", "client_max_body_size 220m;"} {
		if !strings.Contains(out, w) {
			t.Errorf("deploy nginx with the environment: lacks %q", w)
		}
	}
	// Flags win over the environment.
	out, err = deployOut(t, getenv, "deploy", "apache", "--listen", "127.0.0.1:8082", "--upstream", "127.0.0.1:9001",
		"--data-dir", "/srv/flag-data", "--server-name", "flag.example.com", "--max-file-size", "1048576")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"<VirtualHost 127.0.0.1:8082>", "ProxyPass / http://127.0.0.1:9001/ ", "<Directory /srv/flag-data/simple>", "ServerName flag.example.com", "LimitRequestBody 22020096"} {
		if !strings.Contains(out, w) {
			t.Errorf("deploy apache with flags: lacks %q", w)
		}
	}
	// A relative data directory is made absolute, as serve would resolve it.
	out, err = deployOut(t, getenv, "deploy", "nginx", "--data-dir", "data")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if !strings.Contains(out, "root "+filepath.Join(wd, "data")+";") {
		t.Errorf("deploy nginx --data-dir data: root is not %s", filepath.Join(wd, "data"))
	}
	for _, args := range [][]string{
		{"deploy", "nginx", "--listen", "nowhere"},
		{"deploy", "apache", "--upstream", "8080"},
		{"deploy", "nginx", "--server-name", "a;b"},
		{"deploy", "apache", "--max-file-size", "0"},
		{"deploy", "nginx", "extra"},
	} {
		out, err := deployOut(t, getenv, args...)
		if err == nil || out != "" {
			t.Errorf("%q: err %v, printed %d bytes; want an error and nothing printed", args, err, len(out))
		}
	}
}

// TestDeployWebHeaders: nginx and Apache send the pages for people with
// the app's security headers.
func TestDeployWebHeaders(t *testing.T) {
	want := map[string]string{
		"Content-Security-Policy": deploy.WebCSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         deploy.WebReferrer,
		"X-Frame-Options":         deploy.WebFrame,
	}
	if len(static.WebSecurityHeaders) != len(want) {
		t.Errorf("the app sends %d security headers, deploy %d", len(static.WebSecurityHeaders), len(want))
	}
	for _, kv := range static.WebSecurityHeaders {
		if want[kv[0]] != kv[1] {
			t.Errorf("%s: the app sends %q, deploy %q", kv[0], kv[1], want[kv[0]])
		}
	}
}
