package datadir

import (
	"path/filepath"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

func TestPaths(t *testing.T) {
	t.Parallel()
	const blake = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	rel := PackagePath(blake, "demo-1.0.tar.gz")
	d := New("/data")
	tests := []struct {
		name, got, want string
	}{
		{"PackagePath", rel, "01/23/456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/demo-1.0.tar.gz"},
		{"Root", d.Root(), "/data"},
		{"Packages", d.Packages(), "/data/packages"},
		{"Package", d.Package(rel), "/data/packages/" + rel},
		{"sidecar", d.Package(rel) + MetadataSuffix, "/data/packages/" + rel + ".metadata"},
		{"PackageRel", PackageRel(rel), "packages/" + rel},
		{"Tmp", d.Tmp(), "/data/tmp"},
		{"Orphans", d.Orphans(), "/data/orphans"},
		{"Orphan", d.Orphan(rel), "/data/orphans/" + rel},
		{"Simple", d.Simple(), "/data/simple"},
		{"ProjectPages", d.ProjectPages("foo-bar"), "/data/simple/foo-bar"},
		{"root HTML", d.RootPage(HTML), "/data/simple/index.html"},
		{"root JSON", d.RootPage(JSON), "/data/simple/index.v1_json"},
		{"project HTML", d.ProjectPage("foo-bar", HTML), "/data/simple/foo-bar/index.html"},
		{"project JSON", d.ProjectPage(index.Normalized("foo-bar"), JSON), "/data/simple/foo-bar/index.v1_json"},
		{"PageFile", PageFile("/x/y", JSON), "/x/y/index.v1_json"},
		{"SimpleRel", SimpleRel("foo", HTMLName), "simple/foo/index.html"},
		{"relative root", New("").Simple(), "simple"},
		{"dot root", New(".").ProjectPage("a", HTML), "simple/a/index.html"},
	}
	for _, tt := range tests {
		if got := filepath.ToSlash(tt.got); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPageOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		page Page
		ok   bool
	}{
		{"index.html", HTML, true},
		{"index.v1_json", JSON, true},
		{"index.json", 0, false},
		{".index.html123", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		p, ok := PageOf(tt.name)
		if p != tt.page || ok != tt.ok {
			t.Errorf("PageOf(%q) = %v, %v; want %v, %v", tt.name, p, ok, tt.page, tt.ok)
		}
		if ok && p.Name() != tt.name {
			t.Errorf("Page(%v).Name() = %q, want %q", p, p.Name(), tt.name)
		}
	}
	if Pages != [2]Page{JSON, HTML} {
		t.Errorf("Pages = %v", Pages)
	}
}
