package mirror_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/mirror"
	"github.com/cheeseshop/cheeseshop/internal/mirror/mirrortest"
)

// newDirTarget returns a file:// target whose directory an httptest server
// publishes, standing in for the sync or mount that would in production.
func newDirTarget(t *testing.T) (*mirror.Dir, string) {
	t.Helper()
	dir := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	d, err := mirror.NewDir(&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}, mirror.TargetOptions{PublicURL: srv.URL + "/pub/"})
	if err != nil {
		t.Fatal(err)
	}
	// The public base has a path of its own; strip it before the file server.
	srv.Config.Handler = http.StripPrefix("/pub", http.FileServer(http.Dir(dir)))
	return d, dir
}

func TestDirConformance(t *testing.T) {
	t.Parallel()
	d, _ := newDirTarget(t)
	mirrortest.Run(t, d)
}

func TestDirLeavesNoTemporaryFiles(t *testing.T) {
	t.Parallel()
	d, dir := newDirTarget(t)
	ctx := context.Background()
	if err := d.Put(ctx, "ab/cd/x-1.0.tar.gz", strings.NewReader("abc"), 3); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, "ab/cd/y-1.0.tar.gz", strings.NewReader("ab"), 3); err == nil {
		t.Fatal("short body accepted")
	}
	entries, err := os.ReadDir(filepath.Join(dir, "ab", "cd"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "x-1.0.tar.gz" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only x-1.0.tar.gz", names)
	}
}

func TestOpenTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		url, public string
		wantURL     string // PublicURL("a/b.whl"); "" means OpenTarget fails
	}{
		{"file:///srv/cdn", "https://cdn.example/files/", "https://cdn.example/files/a/b.whl"},
		{"file:///srv/cdn", "", ""}, // opens, but without a public URL
		{"file://host/srv/cdn", "https://cdn.example", ""},
		{"file:relative", "https://cdn.example", ""},
		{"https://user:pw@storage.example/zone/", "", "https://storage.example/zone/a/b.whl"},
		{"https://storage.example/zone", "https://cdn.example", "https://cdn.example/a/b.whl"},
		{"https://storage.example/zone?x=1", "", ""},
		{"s3://bucket/pre/fix/?endpoint=http://127.0.0.1:9000&region=auto", "", "http://127.0.0.1:9000/bucket/pre/fix/a/b.whl"},
		{"s3://bucket?region=eu-west-1", "", "https://bucket.s3.eu-west-1.amazonaws.com/a/b.whl"},
		{"s3://bucket/p?endpoint=https://r2.example&bogus=1", "", ""},
		{"s3://bucket/p?endpoint=ftp://x", "", ""},
		{"ftp://x/y", "", ""},
		{"https://storage.example", "ftp://cdn", ""},
	} {
		s, err := mirror.OpenTarget(ctx, tc.url, mirror.TargetOptions{PublicURL: tc.public})
		if tc.wantURL == "" {
			if err == nil && s.PublicURL("a/b.whl") != "" {
				t.Errorf("OpenTarget(%q, %q) = %q, want an error or no public URL", tc.url, tc.public, s.PublicURL("a/b.whl"))
			}
			continue
		}
		if err != nil {
			t.Errorf("OpenTarget(%q, %q): %v", tc.url, tc.public, err)
			continue
		}
		if got := s.PublicURL("a/b.whl"); got != tc.wantURL {
			t.Errorf("OpenTarget(%q, %q).PublicURL = %q, want %q", tc.url, tc.public, got, tc.wantURL)
		}
	}
	if _, err := mirror.OpenTarget(ctx, "https://x.example", mirror.TargetOptions{AuthHeader: "no colon"}); err == nil {
		t.Error("auth header without a colon accepted")
	}
}
