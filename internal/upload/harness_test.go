package upload

// The in-process harness for the upload tests (checklist_test.go,
// memory_test.go): the real pieces wired as cmd/cheeseshop/serve.go wires
// them, behind a real HTTP/1.1 server, plus builders for upload requests and
// for real wheels and sdists, and a snapshot of everything an upload may
// change (files on disk, rows, pages).

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/blake2b"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/index/indextest"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// The harness's two accounts: alice uploads (and so owns what she creates);
// bob exists but has no role on alice's projects.
const (
	alice, alicePassword = "alice", "alice-secret"
	bob, bobPassword     = "bob", "bob-secret"
)

// harness is one server on a fresh database and data directory.
type harness struct {
	t       testing.TB
	pool    *pgxpool.Pool
	store   *index.Store
	dataDir string
	srv     *httptest.Server
	maxSize int64
}

// newHarness wires index.Store, auth, staticgen and the upload handler as
// serve.go does, with maxFileSize as --max-file-size (0: the default).
func newHarness(t testing.TB, maxFileSize int64) *harness {
	t.Helper()
	return newHarnessWith(t, Config{MaxFileSize: maxFileSize})
}

// newHarnessWith is newHarness with the upload handler's configuration
// (its DataDir is the harness's own).
func newHarnessWith(t testing.TB, cfg Config) *harness {
	t.Helper()
	h, _, _ := startHarness(t, cfg, harnessOptions{})
	return h
}

// handlerStore is what the upload handler and its authenticator read: the
// real store, or a wrapper around it.
type handlerStore interface {
	Store
	auth.Users
}

// harnessOptions are how a harness may differ from newHarness's.
type harnessOptions struct {
	// wrap, when not nil, puts its result between the store and the upload
	// handler and authenticator.
	wrap func(*index.Store) handlerStore
	// deferSync defers the page writes' fsyncs to a background round, as
	// serve does (staticgen's DeferSync).
	deferSync bool
	log       *slog.Logger // nil: testLogger
}

// startHarness wires the harness with cfg and opts. It also returns the
// routes its server serves, for calling in-process, and its page generator.
func startHarness(t testing.TB, cfg Config, opts harnessOptions) (*harness, http.Handler, *staticgen.Generator) {
	t.Helper()
	log := opts.log
	if log == nil {
		log = testLogger(t)
	}
	pool, _ := indextest.NewDB(t)
	store := index.NewStore(pool)
	ctx := context.Background()
	hashes, err := passwordHashes()
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{alice, bob} {
		if _, err := store.CreateUser(ctx, name, hashes[i]); err != nil {
			t.Fatal(err)
		}
	}
	var through handlerStore = store
	if opts.wrap != nil {
		through = opts.wrap(store)
	}
	dataDir := t.TempDir()
	pages := staticgen.New(staticgen.Config{DataDir: dataDir, DeferSync: opts.deferSync}, store, log)
	cfg.DataDir = dataDir
	up, err := New(cfg, through, auth.New(through, nil), pages, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := pages.RegenerateRoot(ctx); err != nil {
		t.Fatal(err)
	}
	routes := harnessRoutes(up)
	srv := httptest.NewServer(routes)
	t.Cleanup(srv.Close)
	maxSize := cfg.MaxFileSize
	if maxSize <= 0 {
		maxSize = DefaultMaxFileSize
	}
	return &harness{t: t, pool: pool, store: store, dataDir: dataDir, srv: srv, maxSize: maxSize}, routes, pages
}

// passwordHashes are alice's and bob's argon2id hashes, made once per test
// binary: each costs 19 MiB and tens of milliseconds, and every harness
// needs both.
var passwordHashes = sync.OnceValues(func() ([2]string, error) {
	var h [2]string
	var err error
	if h[0], err = auth.HashPassword(alicePassword); err != nil {
		return h, err
	}
	h[1], err = auth.HashPassword(bobPassword)
	return h, err
})

// harnessRoutes is the upload part of serve.go's routes, with the same
// router and middleware (the request id and panic recovery wrap the
// ResponseWriter that the reason-phrase path hijacks).
func harnessRoutes(up *Handler) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(middleware.Recoverer)
	r.Method(http.MethodPost, "/legacy/", up)
	r.Method(http.MethodGet, "/legacy/", up)
	r.Post("/legacy", RedirectNoSlash)
	return r
}

// testLogger sends the server's logs to t.Log until the test ends. A fuzz
// target's logs are dropped: it may not log through its F, and its inputs'
// logs would drown the failure.
func testLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.F); ok {
		return slog.New(slog.DiscardHandler)
	}
	w := &tWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// --- requests ---

// part is one multipart part. A part with a filename is a file part.
type part struct {
	name, value, filename string
	// filenameStar sends the filename RFC 2231-encoded (filename*=UTF-8''…),
	// the one way to get control characters past a MIME header parser.
	filenameStar bool
}

// disposition is the part's Content-Disposition value.
func (p part) disposition() string {
	cd := fmt.Sprintf(`form-data; name="%s"`, p.name)
	switch {
	case p.filenameStar:
		cd += "; filename*=UTF-8''" + rfc2231Escape(p.filename)
	case p.filename != "":
		cd += fmt.Sprintf(`; filename="%s"`, p.filename)
	}
	return cd
}

// rfc2231Escape percent-encodes every byte of s that is not an attr-char
// of RFC 2231 (url.PathEscape keeps ':' and '@', which a MIME parameter
// parser then refuses).
func rfc2231Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// form is an upload form in the order its parts are sent.
type form []part

// with returns a copy of f without the parts named name, and with one part
// per value appended in their place: with("x") deletes x.
func (f form) with(name string, values ...string) form {
	out := make(form, 0, len(f)+len(values))
	for _, p := range f {
		if p.name != name {
			out = append(out, p)
		}
	}
	for _, v := range values {
		out = append(out, part{name: name, value: v})
	}
	return out
}

// withFile replaces the content part, and the digests the form sends with
// the new file's.
func (f form) withFile(filename string, data []byte) form {
	out := f.with("content").withDigests(digestsOf(data))
	return append(out, part{name: "content", filename: filename, value: string(data)})
}

// withDigests returns a copy of f with the values of its digest parts set
// to d's.
func (f form) withDigests(d digests) form {
	out := slices.Clone(f)
	for i, p := range out {
		switch p.name {
		case "md5_digest":
			out[i].value = d.md5
		case "sha256_digest":
			out[i].value = d.sha256
		case "blake2_256_digest":
			out[i].value = d.blake2
		}
	}
	return out
}

// withFileStar is withFile with the filename sent RFC 2231-encoded.
func (f form) withFileStar(filename string, data []byte) form {
	out := f.withFile(filename, data)
	out[len(out)-1].filenameStar = true
	return out
}

// get returns the first value of the named part.
func (f form) get(name string) string {
	for _, p := range f {
		if p.name == name {
			return p.value
		}
	}
	return ""
}

// digests are a file's digests as lower-case hex.
type digests struct{ md5, sha256, blake2, blake2_512 string }

func digestsOf(b []byte) digests {
	m := md5.Sum(b)
	s := sha256.Sum256(b)
	b2 := blake2b.Sum256(b)
	b5 := blake2b.Sum512(b)
	return digests{hex.EncodeToString(m[:]), hex.EncodeToString(s[:]), hex.EncodeToString(b2[:]), hex.EncodeToString(b5[:])}
}

// twineForm is what twine 4.0.2 sends for a file: metadata, file type and
// python version, the three digests, and the file.
func twineForm(name, version, filetype, pyversion, filename string, data []byte) form {
	d := digestsOf(data)
	return form{
		{name: ":action", value: "file_upload"},
		{name: "protocol_version", value: "1"},
		{name: "metadata_version", value: "2.1"},
		{name: "name", value: name},
		{name: "version", value: version},
		{name: "summary", value: "A test project"},
		{name: "description", value: ""},
		{name: "keywords", value: ""},
		{name: "requires_python", value: ""},
		{name: "filetype", value: filetype},
		{name: "pyversion", value: pyversion},
		{name: "comment", value: ""},
		{name: "md5_digest", value: d.md5},
		{name: "sha256_digest", value: d.sha256},
		{name: "blake2_256_digest", value: d.blake2},
		{name: "content", filename: filename, value: string(data)},
	}
}

// encodeTwine encodes f as twine does: a random boundary, CRLF line ends, and
// Content-Type: application/octet-stream on file parts only.
func encodeTwine(f form) (contentType string, body []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range f {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", p.disposition())
		if p.filename != "" {
			h.Set("Content-Type", "application/octet-stream")
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			panic(err)
		}
		io.WriteString(w, p.value) //nolint:errcheck // a bytes.Buffer
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// distutilsBoundary is the fixed boundary of CPython's distutils upload.
const distutilsBoundary = "--------------GHSKFJDLGDS7543FJKLFHRE75642756743254"

// encodeDistutils encodes f byte for byte as CPython 3.11's distutils upload
// command does (PROTOCOL.md 1.2): the body starts with CRLF before the first
// boundary, no part has a Content-Type (not even the file), values follow
// the blank line directly.
func encodeDistutils(f form) (contentType string, body []byte) {
	var buf bytes.Buffer
	sep := "\r\n--" + distutilsBoundary
	for _, p := range f {
		buf.WriteString(sep)
		buf.WriteString("\r\nContent-Disposition: " + p.disposition())
		buf.WriteString("\r\n\r\n")
		buf.WriteString(p.value)
	}
	buf.WriteString(sep + "--\r\n")
	return "multipart/form-data; boundary=" + distutilsBoundary, buf.Bytes()
}

// request is one POST to the server.
type uploadRequest struct {
	path      string // default /legacy/
	form      form
	distutils bool   // encode as distutils does, else as twine does
	user      string // default alice with her password
	password  string
	anonymous bool // no Authorization header
}

// response is what came back, read off the wire.
type uploadResponse struct {
	status int
	reason string // the status line's reason phrase
	header http.Header
	body   string
}

// post sends r over its own TCP connection and reads the response with
// http.ReadResponse, which keeps the reason phrase (resp.Status) that
// http.Client users never look at.
func (h *harness) post(r uploadRequest) uploadResponse {
	h.t.Helper()
	var ctype string
	var body []byte
	if r.distutils {
		ctype, body = encodeDistutils(r.form)
	} else {
		ctype, body = encodeTwine(r.form)
	}
	path := cmpOr(r.path, "/legacy/")
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if r.distutils {
		req.Header.Set("User-Agent", "Python-urllib/3.11")
	} else {
		req.Header.Set("User-Agent", "twine/4.0.2")
	}
	if !r.anonymous {
		if r.user == "" {
			req.SetBasicAuth(alice, alicePassword)
		} else {
			req.SetBasicAuth(r.user, r.password)
		}
	}
	conn, err := net.Dial("tcp", h.srv.Listener.Addr().String())
	if err != nil {
		h.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck
	// Write while reading: the server may answer before it has read all.
	wrote := make(chan error, 1)
	go func() { wrote <- req.Write(conn) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		h.t.Fatalf("POST %s: read response: %v", path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		h.t.Fatalf("POST %s: read body: %v", path, err)
	}
	conn.Close()
	<-wrote // an early answer may make the write fail; that is fine
	return uploadResponse{
		status: resp.StatusCode,
		reason: strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)+" "),
		header: resp.Header,
		body:   string(b),
	}
}

// mustUpload posts r and fails the test unless the answer is 200.
func (h *harness) mustUpload(r uploadRequest) {
	h.t.Helper()
	if resp := h.post(r); resp.status != http.StatusOK {
		h.t.Fatalf("upload of %s: %d %q, body %q", r.form.get("name"), resp.status, resp.reason, resp.body)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// --- distribution files ---

// wheelSpec describes a wheel; the zero values give a minimal valid one.
type wheelSpec struct {
	dist, version string // the .dist-info directory is <dist>-<version>.dist-info
	metadata      string // METADATA; default wheelMetadata(dist, version)
	omit          string // a .dist-info member to leave out: "METADATA", "WHEEL" or "RECORD"
	module        string // the module's source; vary it to vary the bytes
}

func wheelMetadata(name, version string) string {
	return "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\nSummary: A test project\n\nLong description.\n"
}

// fixedTime makes archives byte-for-byte reproducible.
var fixedTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func (s wheelSpec) build(t testing.TB) []byte {
	t.Helper()
	di := s.dist + "-" + s.version + ".dist-info/"
	md := cmpOr(s.metadata, wheelMetadata(s.dist, s.version))
	members := [][2]string{
		{"pkg.py", cmpOr(s.module, "x = 1\n")},
		{di + "METADATA", md},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{di + "RECORD", "pkg.py,,\n" + di + "METADATA,,\n" + di + "WHEEL,,\n" + di + "RECORD,,\n"},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		if s.omit != "" && m[0] == di+s.omit {
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m[0], Method: zip.Deflate, Modified: fixedTime})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, m[1]) //nolint:errcheck // a bytes.Buffer
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sdistSpec describes an sdist; the zero values give a minimal valid .tar.gz.
type sdistSpec struct {
	top         string // the top-level directory, <name>-<version>
	name        string // PKG-INFO's Name; default the part of top before its last '-'
	zip         bool   // a .zip sdist instead of .tar.gz
	omitPKGInfo bool
	module      string
}

func (s sdistSpec) build(t testing.TB) []byte {
	t.Helper()
	i := strings.LastIndexByte(s.top, '-')
	name, version := cmpOr(s.name, s.top[:i]), s.top[i+1:]
	members := [][2]string{{s.top + "/setup.py", cmpOr(s.module, "from setuptools import setup\nsetup()\n")}}
	if !s.omitPKGInfo {
		members = append(members, [2]string{s.top + "/PKG-INFO", "Metadata-Version: 1.0\nName: " + name + "\nVersion: " + version + "\n"})
	}
	var buf bytes.Buffer
	if s.zip {
		zw := zip.NewWriter(&buf)
		for _, m := range members {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: m[0], Method: zip.Deflate, Modified: fixedTime})
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, m[1]) //nolint:errcheck
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	gz := gzip.NewWriter(&buf)
	gz.ModTime = fixedTime
	tw := tar.NewWriter(gz)
	for _, m := range members {
		hdr := &tar.Header{Name: m[0], Mode: 0o644, Size: int64(len(m[1])), ModTime: fixedTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, m[1]) //nolint:errcheck
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// --- what an upload may change ---

// snapshot is everything an upload may change: every file and directory
// under the data directory (packages/, tmp/ and the pages in simple/, by
// content) and every row of the tables an upload writes.
type snapshot struct {
	files map[string]string // path relative to the data directory → sha256 of the bytes, "dir" for a directory
	rows  map[string]string // table → row count and a digest of every row
}

// snapshotTables are the tables an upload may write to.
var snapshotTables = []string{"projects", "releases", "files", "journal", "roles", "users", "deleted_filenames"}

func (h *harness) snapshot() snapshot {
	h.t.Helper()
	s := snapshot{files: map[string]string{}, rows: map[string]string{}}
	err := filepath.WalkDir(h.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(h.dataDir, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			s.files[rel] = "dir"
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		s.files[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	// Each table's rows as text, so an update (a renamed project, a bumped
	// serial) shows as well as an insert; one round trip for all tables.
	var q []string
	for _, table := range snapshotTables {
		q = append(q, fmt.Sprintf(`SELECT '%[1]s', count(*) || ' rows, md5 ' || coalesce(md5(string_agg(t::text, E'\n' ORDER BY t::text)), '') FROM %[1]s t`, table))
	}
	rows, err := h.pool.Query(context.Background(), strings.Join(q, " UNION ALL "))
	if err != nil {
		h.t.Fatalf("snapshot: %v", err)
	}
	for rows.Next() {
		var table, digest string
		if err := rows.Scan(&table, &digest); err != nil {
			h.t.Fatalf("snapshot: %v", err)
		}
		s.rows[table] = digest
	}
	if err := rows.Err(); err != nil {
		h.t.Fatalf("snapshot: %v", err)
	}
	return s
}

// diff describes how s differs from before, "" when not at all.
func (s snapshot) diff(before snapshot) string {
	var out []string
	for _, p := range sortedKeys(s.files) {
		switch old, ok := before.files[p]; {
		case !ok:
			out = append(out, "new "+p)
		case old != s.files[p]:
			out = append(out, "changed "+p)
		}
	}
	for _, p := range sortedKeys(before.files) {
		if _, ok := s.files[p]; !ok {
			out = append(out, "removed "+p)
		}
	}
	for _, table := range snapshotTables {
		if s.rows[table] != before.rows[table] {
			out = append(out, fmt.Sprintf("table %s: %s, before %s", table, s.rows[table], before.rows[table]))
		}
	}
	return strings.Join(out, "\n")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// tmpFiles lists what is left in DATA/tmp.
func (h *harness) tmpFiles() []string {
	h.t.Helper()
	entries, err := os.ReadDir(filepath.Join(h.dataDir, "tmp"))
	if err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// page returns a project's HTML and JSON pages.
func (h *harness) page(norm string) (html, json string) {
	h.t.Helper()
	dd := datadir.New(h.dataDir)
	hb, err := os.ReadFile(dd.ProjectPage(index.Normalized(norm), datadir.HTML))
	if err != nil {
		h.t.Fatalf("page of %s: %v", norm, err)
	}
	jb, err := os.ReadFile(dd.ProjectPage(index.Normalized(norm), datadir.JSON))
	if err != nil {
		h.t.Fatalf("JSON page of %s: %v", norm, err)
	}
	return string(hb), string(jb)
}

// query returns the one value of a one-row, one-column query.
func (h *harness) query(q string, args ...any) string {
	h.t.Helper()
	var s string
	if err := h.pool.QueryRow(context.Background(), q, args...).Scan(&s); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return s
}

func (h *harness) exec(q string, args ...any) {
	h.t.Helper()
	if _, err := h.pool.Exec(context.Background(), q, args...); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
}
