package deploy

import (
	"bytes"
	"strings"
	"testing"
)

func renderBoth(t *testing.T, cfg Config) (nginx, apache string) {
	t.Helper()
	var n, a bytes.Buffer
	if err := Nginx(&n, cfg); err != nil {
		t.Fatalf("Nginx(%+v): %v", cfg, err)
	}
	if err := Apache(&a, cfg); err != nil {
		t.Fatalf("Apache(%+v): %v", cfg, err)
	}
	return n.String(), a.String()
}

func mustContain(t *testing.T, what, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func TestDeployDefaults(t *testing.T) {
	nginx, apache := renderBoth(t, Config{})
	mustContain(t, "nginx", nginx,
		"listen 80;",
		"server_name localhost;",
		"root /var/lib/cheeseshop;",
		"server 127.0.0.1:8080;",
		"proxy_pass http://cheeseshop;",
		"proxy_pass http://cheeseshop$request_uri;",
		// 100 MiB file + 20 MiB: above the app's own cap of file + 17 MiB.
		"client_max_body_size 120m;",
		"proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
		"proxy_set_header X-Forwarded-Proto $scheme;",
		"proxy_set_header X-Forwarded-Host $http_host;",
		`add_header Cache-Control "max-age=0, must-revalidate, public";`,
		`add_header Cache-Control "max-age=31536000, immutable, public";`,
		"add_header Vary Accept;",
		"application/vnd.pypi.simple.v1+json v1_json;",
		"rewrite ^ $uri$cheeseshop_page break;",
		"error_page 404 = @cheeseshop_page;", "try_files $uri /cache$uri @cheeseshop_file;", "root /var/lib/cheeseshop/cache;",
		// Uploads stream to the app; files go out by sendfile.
		"proxy_request_buffering off;",
		"sendfile on;",
	)
	mustContain(t, "apache", apache,
		"<VirtualHost *:80>",
		"ServerName localhost",
		"<Directory /var/lib/cheeseshop/simple>",
		"LimitRequestBody 125829120",
		"ProxyPass / http://127.0.0.1:8080/ connectiontimeout=5 timeout=300 retry=0",
		"RequestHeader set X-Forwarded-Proto",
		"ForceType application/vnd.pypi.simple.v1+json",
		`Header set Cache-Control "max-age=0, must-revalidate, public"`,
		`Header set Cache-Control "max-age=31536000, immutable, public"`,
		"Header set Vary Accept",
		"mod_rewrite, mod_headers, mod_proxy, mod_proxy_http,\n# mod_proxy_balancer, mod_slotmem_shm, mod_lbmethod_byrequests, mod_mime,",
		// Cached upstream pages: the app, else this server as hot standby.
		`BalancerMember "http://127.0.0.1:8080" connectiontimeout=5 timeout=300 retry=1`,
		`BalancerMember "http://127.0.0.1:80/.cheeseshop-cached" status=+H retry=0`,
		"<Directory /var/lib/cheeseshop/cache/simple>",
	)
	// Zero values and the explicit defaults are the same configuration.
	n2, a2 := renderBoth(t, Config{Listen: DefaultListen, Upstream: DefaultUpstream,
		DataDir: DefaultDataDir, ServerName: DefaultServerName, MaxFileSize: DefaultMaxFileSize})
	if n2 != nginx || a2 != apache {
		t.Error("explicit defaults render differently from the zero Config")
	}
}

func TestDeployAddresses(t *testing.T) {
	for _, tc := range []struct {
		listen, upstream       string
		nginxListen, vhost, up string
	}{
		{"8081", "127.0.0.1:9000", "listen 8081;", "<VirtualHost *:8081>", "127.0.0.1:9000"},
		{"*:80", "localhost:8080", "listen 80;", "<VirtualHost *:80>", "localhost:8080"},
		{"127.0.0.1:8081", "[::1]:8080", "listen 127.0.0.1:8081;", "<VirtualHost 127.0.0.1:8081>", "[::1]:8080"},
		{"[::1]:80", "app.internal:8080", "listen [::1]:80;", "<VirtualHost [::1]:80>", "app.internal:8080"},
	} {
		nginx, apache := renderBoth(t, Config{Listen: tc.listen, Upstream: tc.upstream})
		mustContain(t, "nginx for "+tc.listen, nginx, tc.nginxListen, "server "+tc.up+";")
		mustContain(t, "apache for "+tc.listen, apache, tc.vhost, "ProxyPass / http://"+tc.up+"/ ")
	}
	// A data directory is cleaned: no trailing slash doubling up in paths.
	nginx, apache := renderBoth(t, Config{DataDir: "/srv/cheese/data/", MaxFileSize: 1 << 30})
	mustContain(t, "nginx", nginx, "root /srv/cheese/data;", "client_max_body_size 1044m;")
	mustContain(t, "apache", apache, "<Directory /srv/cheese/data/packages>", "LimitRequestBody 1094713344")
	// An odd size is written in bytes.
	nginx, _ = renderBoth(t, Config{MaxFileSize: 1000})
	mustContain(t, "nginx", nginx, "client_max_body_size 20972520;")
}

func TestDeployInvalid(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{Listen: "0"}, []string{"listen address"}},
		{Config{Listen: "65536"}, []string{"listen address"}},
		{Config{Listen: "localhost"}, []string{"listen address"}},
		{Config{Listen: "80; include /etc/passwd"}, []string{"listen address"}},
		{Config{Upstream: "8080"}, []string{"upstream"}},
		{Config{Upstream: "http://127.0.0.1:8080"}, []string{"upstream"}},
		{Config{Upstream: ":8080"}, []string{"upstream"}},
		{Config{Upstream: "bad host:8080"}, []string{"upstream"}},
		{Config{DataDir: "data"}, []string{"data directory", "absolute"}},
		{Config{DataDir: "/"}, []string{"data directory", "root"}},
		{Config{DataDir: "/srv/my data"}, []string{"data directory"}},
		{Config{DataDir: "/srv/x;}"}, []string{"data directory"}},
		{Config{DataDir: "/srv/$x"}, []string{"data directory"}},
		{Config{ServerName: "a b"}, []string{"server name"}},
		{Config{ServerName: "x;"}, []string{"server name"}},
		{Config{MaxFileSize: -1}, []string{"max file size"}},
		// Every problem at once.
		{Config{Listen: "x", Upstream: "y", DataDir: "z", ServerName: "{"}, []string{"listen address", "upstream", "data directory", "server name"}},
	} {
		for name, f := range map[string]func(*bytes.Buffer, Config) error{
			"nginx":  func(b *bytes.Buffer, c Config) error { return Nginx(b, c) },
			"apache": func(b *bytes.Buffer, c Config) error { return Apache(b, c) },
		} {
			var buf bytes.Buffer
			err := f(&buf, tc.cfg)
			if err == nil {
				t.Errorf("%s(%+v): no error", name, tc.cfg)
				continue
			}
			if buf.Len() != 0 {
				t.Errorf("%s(%+v): wrote output despite the error", name, tc.cfg)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s(%+v): error %q lacks %q", name, tc.cfg, err, w)
				}
			}
		}
	}
}
