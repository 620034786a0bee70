package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
)

// runText is runIn with the error as the command line prints it.
func runText(env map[string]string, stdin string, args ...string) (string, string) {
	out, _, err := runIn(env, stdin, args...)
	if err != nil {
		return out, errorText(err)
	}
	return out, ""
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cheeseshop.toml")
	writeFile(t, path, []byte(text))
	return path
}

// TestConfigPrecedence: flag, then environment, then file ([command]
// table over the top level), then default, for a command that needs no
// database (deploy prints what it was given).
func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, `
server-name = "top.example"
[deploy]
listen = "8181"
upstream = "127.0.0.1:9999"
[serve]
listen = "127.0.0.1:7000"
`)
	onlyTop := writeConfig(t, `server-name = "top.example"`)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"default", nil, nil, []string{"listen 80;", "server_name localhost;"}},
		{"file", map[string]string{"CHEESESHOP_CONFIG": file}, nil,
			[]string{"listen 8181;", "server_name top.example;", "server 127.0.0.1:9999;"}},
		{"--config", nil, []string{"--config", file}, []string{"listen 8181;", "server_name top.example;"}},
		{"top level alone", map[string]string{"CHEESESHOP_CONFIG": onlyTop}, nil, []string{"listen 80;", "server_name top.example;"}},
		{"environment over file", map[string]string{"CHEESESHOP_CONFIG": file, "CHEESESHOP_WEB_LISTEN": "8282", "CHEESESHOP_SERVER_NAME": "env.example"}, nil,
			[]string{"listen 8282;", "server_name env.example;", "server 127.0.0.1:9999;"}},
		{"flag over environment", map[string]string{"CHEESESHOP_CONFIG": file, "CHEESESHOP_WEB_LISTEN": "8282"}, []string{"--listen", "8383"},
			[]string{"listen 8383;", "server_name top.example;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, msg := runText(tc.env, "", append([]string{"deploy", "nginx"}, tc.args...)...)
			if msg != "" {
				t.Fatalf("deploy nginx: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestConfigRefusals: unknown keys and tables name themselves, a bad value
// names the key and the file, and a named file that is missing is an error;
// all before any database is touched.
func TestConfigRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		args       []string
		want       string
	}{
		{"unknown key", "datadir = \"/srv\"\n", []string{"deploy", "nginx"}, `unknown key "datadir"`},
		{"unknown key in table", "[serve]\nlisten = \":1\"\nbogus-knob = 3\n", []string{"deploy", "nginx"}, `unknown key "bogus-knob" in [serve]`},
		{"key of another group", "[deploy]\nmax-file-size = 5\nroot-refresh = \"1s\"\n", []string{"deploy", "nginx"}, `unknown key "root-refresh" in [deploy]`},
		{"unknown table", "[server]\nlisten = \":1\"\n", []string{"deploy", "nginx"}, `unknown table [server]`},
		{"bad value", "[serve]\nmax-file-size = -1\n", []string{"serve"}, `max-file-size in `},
		{"bad type", "[serve]\nroot-refresh = 12\n", []string{"serve"}, `root-refresh = "12"`},
		{"not TOML", "listen = \n", []string{"deploy", "nginx"}, `configuration file`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.text)
			_, msg := runText(map[string]string{"CHEESESHOP_CONFIG": path, "CHEESESHOP_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}, "", tc.args...)
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q, want it to contain %q", msg, tc.want)
			}
		})
	}
	_, msg := runText(nil, "", "deploy", "nginx", "--config", filepath.Join(t.TempDir(), "missing.toml"))
	if !strings.Contains(msg, "missing.toml") {
		t.Fatalf("missing --config file: error %q", msg)
	}
}

// TestConfigKnowsEveryCommand: every command's flags are file keys.
func TestConfigKnowsEveryCommand(t *testing.T) {
	keys := knownFlags()
	for _, c := range commands {
		group := strings.Fields(c.name)[0]
		if len(keys.groups[group]) == 0 {
			t.Errorf("command %q: no flags collected", c.name)
		}
	}
	for _, k := range []string{"database-url", "data-dir", "listen", "root-refresh", "mirror", "password-stdin", "reason"} {
		if !keys.all[k] {
			t.Errorf("key %q unknown", k)
		}
	}
	if keys.all["config"] {
		t.Error("config is a key of the file itself")
	}
}

// TestConfigDatabaseFromFile: a command that uses the database takes its
// URL and data directory from the file.
func TestConfigDatabaseFromFile(t *testing.T) {
	t.Parallel()
	url := indextest.NewDBURL(t)
	path := writeConfig(t, "database-url = \""+url+"\"\ndata-dir = \""+t.TempDir()+"\"\nlog-level = \"warn\"\n")
	env := map[string]string{"CHEESESHOP_CONFIG": path}
	if _, msg := runText(env, "pw\n", "user", "add", "carol", "--password-stdin"); msg != "" {
		t.Fatalf("user add: %s", msg)
	}
	if out, msg := runText(env, "", "token", "list", "carol"); msg != "" || !strings.Contains(out, "SCOPE") {
		t.Fatalf("token list: %s\n%s", msg, out)
	}
}
