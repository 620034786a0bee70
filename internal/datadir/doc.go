// Package datadir owns cheeseshop's data directory: the layout of the tree
// on disk, the names of the page files, the serial a page records, the one
// atomic (and, when asked, durable) way to replace a file, and file
// identity. No other package joins the names below; they ask a Dir.
//
// The tree, with the package that writes each part:
//
//	DATA/
//	  cheeseshop-index                   cmd (serve, migrate): the marker of the index whose directory this is (marker.go)
//	  packages/                          upload (and seed): distribution files, never rewritten
//	    <h0:2>/<h2:4>/<h4:>/<filename>   content-addressed by the blake2b-256 hex digest (PackagePath)
//	    <h0:2>/<h2:4>/<h4:>/<filename>.metadata   its PEP 658 sidecar (MetadataSuffix)
//	  simple/                            staticgen: derived from the database, rebuilt by repair
//	    index.html                       root, PEP 503 HTML
//	    index.v1_json                    root, PEP 691 JSON
//	    <normalized>/index.html          project, PEP 503/592/629/658/714 HTML
//	    <normalized>/index.v1_json       project, PEP 691/700 JSON
//	  web/                               staticgen: the pages for people, laid out as their URLs
//	    index.html                       home page (root rewrite)
//	    404.html                         page for an unknown project or version (root rewrite)
//	    static/style.css                 the one stylesheet (root rewrite)
//	    project/<normalized>/index.html  project page (project rewrite, with the /simple pages)
//	    project/<normalized>/<version>/index.html   release page (project rewrite)
//	  tmp/                               upload: uploads being received, removed when old by repair
//	  orphans/                           repair: package files no row refers to, moved aside, never deleted
//	    <same relative path as under packages/>[.<n>]
//	  cache/                             upstream: the cache of the upstream index (--upstream), derived, purgeable
//	    simple/<normalized>/index.html   a cached project's page, rewritten to link this server (CacheProjectPage)
//	    simple/<normalized>/index.v1_json   its PEP 691 twin; the mtime is when the upstream last confirmed it
//	    packages/<s0:2>/<s2:4>/<s4:>/<filename>   a cached upstream file, addressed by its upstream sha256
//	    packages/<…>/<filename>.metadata          its PEP 658 sidecar
//	    packages/<…>/.<filename><digits>          a download in progress (PendingFile)
//	    tmp/<hex>.lock                   lock files: one process downloads each file (CacheLock); removed when released
//
// The cache is a tree of its own, not a marker inside simple/ and
// packages/: check, regenerate and the sweep look at simple/ and packages/
// only, so they never report a cached page as a page without a project nor
// a cached file as an orphan, and purging the cache is removing cache/.
// Cached files are linked as /packages/<s0:2>/<s2:4>/<s4:>/<filename>, the
// same URL shape as local files (a sha256 where a local file has its
// blake2b-256; the two never meet): a web server looks under packages/,
// then under cache/packages/, then asks the app. The root page lists local
// projects only.
//
// Names starting with a dot anywhere in the tree are temporary files of a
// replacement in progress (".<name><digits>", see Replace) or a page
// directory being removed (".<name>.removed-*"); the web servers never
// serve them and repair removes them once they are old.
//
// Trees that come next (human pages under project/) get a
// constant beside PackagesDir and friends, a method on Dir, and a line above;
// their contents' rules (names, serials, atomic replacement) live here too.
//
// A page records the serial of the database state it was built from, so
// readers can tell a stale page without the database: serial.go states the
// rules, and it is the one writer (AppendHTMLSerial, AppendJSONMeta) and
// the one reader (SerialDigits and ReadSerialDigits on the HTTP hot path,
// ParseSerial and ReadSerial for whole pages).
//
// Files readers may see change are replaced in one step: a temporary file
// beside the destination, exact permissions, optionally fsynced, renamed
// over it (PendingFile, Replace). Durability is explicit: WriteFile also
// fsyncs the directory; callers that defer or batch syncs use SyncFile,
// SyncDir and SyncPages later.
//
// datadir imports only internal/index (for index.Normalized) and the
// standard library; it knows nothing of HTTP, the database or rendering.
package datadir
