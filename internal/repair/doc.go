// Package repair brings a data directory back in line with the database
// after whatever happened to it: a crash between an upload's commit and its
// page rewrite, a process killed mid-upload, a wiped or restored simple/
// tree, a disk that filled up. The database and the package files are the
// truth; everything repair writes is derived from them or moves aside what
// nothing refers to. It also checks the whole installation (Check) for
// `cheeseshop check`.
//
// What it does, and when:
//
//   - Start-up (Startup, before the server listens): every project whose
//     pages were built from an older serial than its last change
//     (projects.page_serial, recorded by index.Store.LockedProject) is
//     rewritten; when the root page is missing the whole tree is rebuilt.
//     Then the root page. Finding stale projects is one query on a partial
//     index, so start-up stays fast at 700,000 projects.
//   - In the background (Run): the same stale-page pass every minute, for
//     pages another process failed to write (it crashed, its disk was full,
//     its database connection broke after the commit); and a sweep of the
//     data directory after start and then daily, which removes upload temp
//     files and half-written page or metadata files older than the grace
//     period, moves package files no row refers to into DATA/orphans (never
//     deleting them), and rebuilds project pages that are missing.
//
// Several processes may share one database and data directory. Every page
// rewrite goes through the Pages hook, which takes the project's lock in
// PostgreSQL, so repair and uploads never write a page from an older state.
// A file is moved aside only when it is older than the grace period, under
// the project's lock (the lock an upload commits under), and only if it is
// still the same inode it was when judged, so an upload placing that very
// file cannot lose it.
//
// repair imports internal/index and internal/datadir (the layout, a page's
// serial, durable syncs, file identity). It declares the store methods, the
// page hook and the page renderer (for Check) it calls; cmd connects them to
// index.Store and staticgen.
package repair
