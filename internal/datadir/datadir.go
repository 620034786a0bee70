package datadir

import (
	"path/filepath"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// The trees of a data directory, relative to its root. A tree that comes
// next (the human pages under project/, an upstream cache) gets its
// constant here and its methods on Dir, and its row in doc.go; nothing
// outside this package joins these names.
const (
	PackagesDir = "packages"         // content-addressed distribution files and their .metadata sidecars
	SimpleDir   = "simple"           // the simple repository pages, derived from the database
	TmpDir      = "tmp"              // uploads being received
	OrphansDir  = "orphans"          // package files no row refers to, moved aside by repair
	CacheDir    = "cache"            // the upstream cache (--upstream): its own simple/, packages/ and tmp/
	MarkerFile  = "cheeseshop-index" // which index's data directory this is (marker.go)
)

// MetadataSuffix turns a package file's path into its PEP 658 sidecar's.
const MetadataSuffix = ".metadata"

// Dir is one data directory. The zero value and Dir("") are the current
// directory, as filepath.Join makes them.
type Dir struct{ root string }

// New returns the data directory at root.
func New(root string) Dir { return Dir{root: root} }

// Root is the directory itself.
func (d Dir) Root() string { return d.root }

// Packages is DATA/packages.
func (d Dir) Packages() string { return filepath.Join(d.root, PackagesDir) }

// Package is the file at rel inside DATA/packages; rel is slash-separated,
// as PackagePath returns it and index.File.Path records it.
func (d Dir) Package(rel string) string {
	return filepath.Join(d.root, PackagesDir, filepath.FromSlash(rel))
}

// PackageRel is rel as a path relative to the data directory
// ("packages/ab/cd/…"), the way problems and logs name a package file.
func PackageRel(rel string) string { return filepath.Join(PackagesDir, filepath.FromSlash(rel)) }

// Tmp is DATA/tmp, where uploads are received before they are placed.
func (d Dir) Tmp() string { return filepath.Join(d.root, TmpDir) }

// Orphans is DATA/orphans.
func (d Dir) Orphans() string { return filepath.Join(d.root, OrphansDir) }

// Orphan is the place in DATA/orphans of the package file at rel.
func (d Dir) Orphan(rel string) string {
	return filepath.Join(d.root, OrphansDir, filepath.FromSlash(rel))
}

// Simple is DATA/simple, which holds the root pages and one directory per
// project.
func (d Dir) Simple() string { return filepath.Join(d.root, SimpleDir) }

// ProjectPages is the directory of a project's pages, DATA/simple/<name>.
func (d Dir) ProjectPages(name index.Normalized) string {
	return filepath.Join(d.root, SimpleDir, string(name))
}

// SimpleRel is a path below DATA/simple as relative to the data directory
// ("simple/<elem>/…"), the way problems and logs name a page.
func SimpleRel(elem ...string) string {
	return filepath.Join(append([]string{SimpleDir}, elem...)...)
}

// PackagePath returns the content-addressed location of a file relative to
// DATA/packages, slash-separated: PyPI's layout, the blake2b-256 hex digest
// split 2/2/60, with the validated filename as the only client-supplied
// component ("ab/cd/ef…/demo-1.0.tar.gz").
func PackagePath(blake2hex, filename string) string {
	return blake2hex[0:2] + "/" + blake2hex[2:4] + "/" + blake2hex[4:] + "/" + filename
}

// Cache is DATA/cache, the upstream cache: pages and files of the upstream
// index, kept apart from the local trees so that check, regenerate and the
// sweep never mistake one for the other (doc.go).
func (d Dir) Cache() string { return filepath.Join(d.root, CacheDir) }

// CacheSimple is DATA/cache/simple, one directory per cached project.
func (d Dir) CacheSimple() string { return filepath.Join(d.root, CacheDir, SimpleDir) }

// CacheProjectPages is the directory of a cached project's pages,
// DATA/cache/simple/<name>.
func (d Dir) CacheProjectPages(name index.Normalized) string {
	return filepath.Join(d.root, CacheDir, SimpleDir, string(name))
}

// CacheProjectPage is the cached project page p,
// DATA/cache/simple/<name>/<p's name>.
func (d Dir) CacheProjectPage(name index.Normalized, p Page) string {
	return filepath.Join(d.root, CacheDir, SimpleDir, string(name), p.Name())
}

// CachePackages is DATA/cache/packages.
func (d Dir) CachePackages() string { return filepath.Join(d.root, CacheDir, PackagesDir) }

// CachePackage is the cached upstream file at rel inside
// DATA/cache/packages; rel is slash-separated, as PackagePath returns it
// (for a cached file, from the upstream's sha256) and as it appears in the
// URL below /packages/.
func (d Dir) CachePackage(rel string) string {
	return filepath.Join(d.root, CacheDir, PackagesDir, filepath.FromSlash(rel))
}

// CacheTmp is DATA/cache/tmp, which holds the lock files that make one
// process fetch each upstream file. (A download in progress is a
// temporary dot-file beside its place in DATA/cache/packages.)
func (d Dir) CacheTmp() string { return filepath.Join(d.root, CacheDir, TmpDir) }

// CacheLock is the lock file for key (lower-case hex) in DATA/cache/tmp.
func (d Dir) CacheLock(key string) string {
	return filepath.Join(d.root, CacheDir, TmpDir, key+".lock")
}
