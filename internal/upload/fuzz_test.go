package upload

// Fuzz tests of the request parser and of the whole handler on a fake
// store: no input panics, every bad input is a 4xx (never a 5xx, which
// would blame the server for the client's bytes), and nothing is left in
// DATA/tmp. Their seed corpora run with plain `go test`; explore with
//
//	go test ./internal/upload -run '^$' -fuzz FuzzParseForm -fuzztime 1m
//	go test ./internal/upload -run '^$' -fuzz FuzzUploadHandler -fuzztime 1m

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// fuzzLimit keeps the fuzzed uploads small.
const fuzzLimit = 64 << 10

// fuzzSeeds are request bodies as real clients send them, and broken ones.
func fuzzSeeds(f *testing.F) {
	wheel := wheelSpec{dist: "fuzz_demo", version: "1.0"}.build(f)
	sdist := sdistSpec{top: "fuzz-demo-1.0"}.build(f)
	for _, form := range []form{
		twineForm("fuzz-demo", "1.0", "bdist_wheel", "py3", "fuzz_demo-1.0-py3-none-any.whl", wheel),
		twineForm("fuzz-demo", "1.0", "sdist", "source", "fuzz-demo-1.0.tar.gz", sdist),
		twineForm("fuzz-demo", "1.0", "sdist", "source", "fuzz-demo-1.0.tar.gz", sdist).with("sha256_digest", strings.Repeat("0", 64)),
		twineForm("fuzz-demo", "1.0", "bdist_wheel", "py3", "../fuzz_demo-1.0-py3-none-any.whl", wheel),
		twineForm("fuzz-demo", "1.0", "bdist_wheel", "py3", "fuzz_demo-1.0-py3-none-any.whl", wheel[:len(wheel)/2]),
		twineForm("Fuzz.Demo", "01.0", "bdist_wheel", "py3", "Fuzz_Demo-1.0-py3-none-any.whl", wheel),
		twineForm("fuzz-demo", "1.0", "bdist_wheel", "py3", "fuzz_demo-1.0-py3-none-any.whl", wheel).with(":action", "submit"),
		twineForm("fuzz-demo", "1.0", "bdist_wheel", "py3", "fuzz_demo-1.0-py3-none-any.whl", wheel).with(":action", "verify"),
		twineForm("fuzz-demo", "not a version", "bdist_wheel", "py3", "x.whl", []byte("PK")),
		twineForm("fuzz-demo", "1.0", "bdist_wheel", "py3", "fuzz_demo-1.0-py3-none-any.whl", wheel).with("content"),
	} {
		ctype, body := encodeTwine(form)
		f.Add(ctype, body)
		ctype, body = encodeDistutils(form)
		f.Add(ctype, body)
		f.Add(ctype, body[:len(body)/3])
	}
	f.Add("application/x-www-form-urlencoded", []byte(":action=verify&name=fuzz-demo&version=1.0&metadata_version=1.0"))
	f.Add("multipart/form-data", []byte("--x\r\n\r\n"))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"content\"; filename=\"a.whl\"\r\n\r\nPK\x03\x04\r\n--x--\r\n"))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name*=utf-8''%ff\r\n\r\nv\r\n--x--\r\n"))
	f.Add("text/plain", []byte{})
	f.Add("", []byte(nil))
}

func FuzzParseForm(f *testing.F) {
	fuzzSeeds(f)
	tmp := f.TempDir()
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/legacy/", bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		req, err := parseForm(r, tmp, fuzzLimit)
		if err != nil {
			if !errors.Is(err, index.ErrInvalid) && !errors.Is(err, index.ErrTooLarge) {
				t.Fatalf("parseForm error is not the client's: %v", err)
			}
		} else {
			if c := req.content; c != nil {
				fi, err := os.Stat(c.path)
				if err != nil || fi.Size() != c.size || !c.tooLarge && c.size > fuzzLimit {
					t.Fatalf("content %+v, temp file %v %v", c, fi, err)
				}
			}
			req.cleanup()
		}
		if e, _ := os.ReadDir(tmp); len(e) > 0 {
			t.Fatalf("%d temp files left", len(e))
		}
	})
}

func FuzzUploadHandler(f *testing.F) {
	fuzzSeeds(f)
	dataDir := f.TempDir()
	h, err := New(Config{DataDir: dataDir, MaxFileSize: fuzzLimit}, fuzzStore{}, fuzzAuth{}, fuzzPages{}, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/legacy/", bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK && (rec.Code < 400 || rec.Code > 499) {
			t.Fatalf("status %d for a client's bytes: %q", rec.Code, rec.Body.String())
		}
		if e, _ := os.ReadDir(filepath.Join(dataDir, "tmp")); len(e) > 0 {
			t.Fatalf("%d temp files left", len(e))
		}
	})
}

// fuzzStore is a database that accepts everything: any refusal then comes
// from the handler's own checks.
type fuzzStore struct{}

func (fuzzStore) Project(_ context.Context, n index.Normalized) (index.Project, error) {
	if n == "existing" {
		return index.Project{ID: 1, Name: "existing", Normalized: n, LastSerial: 1}, nil
	}
	return index.Project{}, index.ErrNotFound
}
func (s fuzzStore) ProjectRole(ctx context.Context, n index.Normalized, _ int64) (index.Project, string, error) {
	p, err := s.Project(ctx, n)
	return p, "owner", err
}
func (fuzzStore) ExistingFile(context.Context, string, string) (index.FileRef, bool, bool, error) {
	return index.FileRef{}, false, false, nil
}
func (fuzzStore) AddFile(_ context.Context, nf index.NewFile) (index.AddResult, error) {
	return index.AddResult{Project: index.Project{ID: 1, Name: nf.Project, Normalized: index.Normalize(nf.Project)}, NewProject: true, Serial: 2}, nil
}
func (fuzzStore) RegisterRelease(_ context.Context, nr index.NewRelease) (index.AddResult, error) {
	return index.AddResult{Serial: 2}, nil
}

type fuzzAuth struct{}

func (fuzzAuth) Authenticate(context.Context, *http.Request) (auth.Identity, error) {
	return auth.Identity{UserID: 1, UserName: "alice"}, nil
}

type fuzzPages struct{}

func (fuzzPages) RegenerateProject(context.Context, index.Normalized) error { return nil }
func (fuzzPages) RegenerateRoot(context.Context) error                      { return nil }
