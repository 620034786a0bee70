package upload

// Fuzz tests of the request parser and of the whole handler on the real
// store: no input panics, every bad input is a 4xx (never a 5xx, which
// would blame the server for the client's bytes), and nothing is left in
// DATA/tmp (nor anywhere else after a refusal). Their seed corpora run with
// plain `go test`; `make fuzz` explores each for FUZZTIME, or by hand:
//
//	go test ./internal/upload -run '^$' -fuzz '^FuzzParseForm$' -fuzztime 1m
//	go test ./internal/upload -run '^$' -fuzz '^FuzzUploadHandler$' -fuzztime 1m

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// fuzzLimit keeps the fuzzed uploads small.
const fuzzLimit = 64 << 10

// fuzzSeeds are request bodies as real clients send them, and broken ones;
// handler says they are for FuzzUploadHandler.
func fuzzSeeds(f *testing.F, handler bool) {
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
	issue14Seeds(f, wheel, handler)
	f.Add("application/x-www-form-urlencoded", []byte(":action=verify&name=fuzz-demo&version=1.0&metadata_version=1.0"))
	f.Add("multipart/form-data", []byte("--x\r\n\r\n"))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"content\"; filename=\"a.whl\"\r\n\r\nPK\x03\x04\r\n--x--\r\n"))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name*=utf-8''%ff\r\n\r\nv\r\n--x--\r\n"))
	f.Add("text/plain", []byte{})
	f.Add("", []byte(nil))
}

// issue14Seeds are the reproducers of issue 14's items 3, 4, 8, 10 and 12,
// scaled down: overlong names, odd wheel tags and sdist versions, archives
// with long member names and headers, NUL and invalid UTF-8 in fields and
// filenames, and forms of too many parts or too long field names.
func issue14Seeds(f *testing.F, wheel []byte, handler bool) {
	const wheelName = "fuzz_demo-1.0-py3-none-any.whl"
	base := func() form { return twineForm("fuzz-demo", "1.0", "bdist_wheel", "py3", wheelName, wheel) }
	long := strings.Repeat("a", 300)
	forms := []form{
		// Item 3: names no page or file name can hold.
		base().with("name", long),
		base().with(":action", "submit").with("name", long),
		base().with(":action", "submit").with("name", strings.Repeat("b", 100_000)),
	}
	forms = append(forms, []form{
		// Item 8: archive shapes that took memory.
		twineForm("fuzz-demo", "1.0", "sdist", "", "fuzz-demo-1.0.tar.gz", longNameSdist(f, "fuzz-demo-1.0", 4, 128<<10)),
		twineForm("fuzz-demo", "1.0", "sdist", "", "fuzz-demo-1.0.tar.gz", longNameSdist(f, "fuzz-demo-1.0", 3, maxMemberNameBytes+1)),
		twineForm("fuzz-demo", "1.0", "sdist", "", "fuzz-demo-1.0.tar.gz", longNameSdist(f, "fuzz-demo-1.0", 50, 1000)),
		base().withFile(wheelName, manyEntryWheel(f, "fuzz_demo", "1.0", 300)),
		base().withFile(wheelName, claimedRecords(manyEntryWheel(f, "fuzz_demo", "1.0", 3), 0xffff)),
		// Item 10: NUL and invalid UTF-8.
		base().with("summary", "caf\xe9"),
		base().with("summary", "nul\x00"),
		base().with("x\xff", "v"),
		base().withFile("fuzz_demo-1.0-py3-none-any\xff.whl", wheel),
		base().withFileStar("fuzz_demo-1.0-py3-none-any\x00.whl", wheel),
		base().with(":action", "submit").with("description", "\xff\xfe"),
		// Item 12: the form's shape.
		append(base(), make(form, maxParts)...),
		base().with(strings.Repeat("f", maxFieldNameBytes+1), "v"),
	}...)
	// Item 4: wheel tags and sdist versions with characters a URL or a
	// file system treats specially.
	for _, bad := range []string{"a:b", "#", "?", "%00", "%2e%2e", "a b", "<img src=x>", `"'`, "\u0085", "\u202e", "\u2215", "\u00a0"} {
		forms = append(forms,
			base().withFile("fuzz_demo-1.0-py3-none-"+bad+".whl", wheel),
			twineForm("fuzz-demo", "1.0", "sdist", "", "fuzz-demo-1.0"+bad+".tar.gz", sdistSpec{top: "fuzz-demo-1.0" + bad}.build(f)))
	}
	for _, form := range forms {
		ctype, body := encodeTwine(form)
		f.Add(ctype, body)
	}
}

// claimedRecords returns the zip b with the record count of its end of
// central directory record set to n, whatever the directory holds.
func claimedRecords(b []byte, n uint16) []byte {
	b = bytes.Clone(b)
	i := bytes.LastIndex(b, []byte("PK\x05\x06"))
	b[i+8], b[i+9] = byte(n), byte(n>>8)
	b[i+10], b[i+11] = byte(n), byte(n>>8)
	return b
}

func FuzzParseForm(f *testing.F) {
	fuzzSeeds(f, false)
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

// fuzzAllocBound bounds what one fuzzed request may allocate in all: a
// request's fixed cost (the form, the database round trips, the page
// rewrite after an accepted upload) is well under it, and what depends on
// the body is a small multiple of the body's size. A request whose form or
// archive shape made the server keep or read more (issue 14, items 8 and
// 12) exceeds it.
func fuzzAllocBound(body []byte) uint64 { return 32<<20 + 16*uint64(len(body)) }

// FuzzUploadHandler sends bodies to the whole upload handler, on the real
// store (behind a textGuard), authenticated as alice: every answer is a 200
// or a 4xx; after any refusal nothing changed (no file in packages/, tmp/
// or the pages, no row); no value PostgreSQL cannot store as text reached
// the store; and the request allocated a bounded amount.
func FuzzUploadHandler(f *testing.F) {
	fuzzSeeds(f, true)
	h, guard, routes := newGuardedHarness(f)
	// alice's password check (argon2id, 19 MiB) is paid once here; the
	// authenticator caches it.
	warm := httptest.NewRequest(http.MethodPost, "/legacy/", strings.NewReader(""))
	warm.SetBasicAuth(alice, alicePassword)
	routes.ServeHTTP(httptest.NewRecorder(), warm)
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		h.t = t
		before := h.snapshot()
		r := httptest.NewRequest(http.MethodPost, "/legacy/", bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		r.SetBasicAuth(alice, alicePassword)
		rec := httptest.NewRecorder()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		alloc := ms.TotalAlloc
		routes.ServeHTTP(rec, r)
		runtime.ReadMemStats(&ms)
		alloc = ms.TotalAlloc - alloc
		if rec.Code != http.StatusOK && (rec.Code < 400 || rec.Code > 499) {
			t.Fatalf("status %d for a client's bytes: %q", rec.Code, rec.Body.String())
		}
		for _, bad := range guard.reached() {
			t.Errorf("reached the store: %s", bad)
		}
		if left := h.tmpFiles(); len(left) > 0 {
			t.Fatalf("left in DATA/tmp: %q", left)
		}
		if rec.Code != http.StatusOK {
			if d := h.snapshot().diff(before); d != "" {
				t.Fatalf("refused with %d %q, and changed things:\n%s", rec.Code, rec.Body.String(), d)
			}
		}
		if alloc > fuzzAllocBound(body) {
			t.Errorf("a request of %d bytes allocated %d MiB (bound %d MiB); answer %d %q",
				len(body), alloc>>20, fuzzAllocBound(body)>>20, rec.Code, rec.Body.String())
		}
	})
}
