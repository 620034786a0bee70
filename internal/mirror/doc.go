// Package mirror owns the background worker that copies package files to a
// CDN's object store and, once a copy is verified, records its URL so the
// /simple pages link to it.
//
// The worker claims pending files from the database (index.Store.ClaimMirror:
// FOR UPDATE SKIP LOCKED plus a lease, so several workers on one database
// never push one file twice), pushes each file and its PEP 658 .metadata
// sidecar to an ObjectStore, reads both back through the public URL and
// compares size and sha256 with the index, and only then records the CDN URL
// and asks the Pages hook to rebuild the project's pages. A copy that does
// not verify is never linked: the pages keep the local /packages/ URL, the
// attempt is retried with exponential back-off and jitter, and after the
// configured number of attempts the file is marked failed until an operator
// retries it. New uploads wake the worker through LISTEN/NOTIFY; a ticker
// covers lost notifications.
//
// Targets: S3-compatible stores (s3.go, aws-sdk-go-v2), HTTP PUT servers such
// as WebDAV or Bunny Storage (httpput.go) and a local directory that something
// else publishes (file.go). Each passes the conformance suite in mirrortest.
//
// The package must not upload, render pages, or read configuration from the
// process: cmd passes a Config, the target URL and TargetOptions, which
// carry the http(s) target's header and, for s3 targets, the aws.Config cmd
// loads from the AWS SDK's standard sources (environment, shared files,
// instance roles). It imports index and datadir (where the local files are)
// only; the page rebuild is a hook that cmd connects to staticgen.
package mirror
