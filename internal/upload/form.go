package upload

import (
	"bufio"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/fanout"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// maxFieldBytes caps the non-file fields of one request together: long
// descriptions are common, but a form must not fill memory.
const maxFieldBytes = 16 << 20

// bodyBufs are the read buffers under the multipart reader (see parseForm).
var bodyBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 256<<10) }}

// request is a parsed upload form: fields in memory, the file on disk.
type request struct {
	fields  map[string][]string
	action  string
	content *content  // nil when the request had no content part
	start   time.Time // when the handler began, for the upload's log line
	// distutils is set when the body came from distutils' upload or
	// register (or setuptools' copy of them): their fixed boundary.
	distutils bool
	// attestations is the size of a PEP 740 "attestations" field the
	// client sent (uv publish sends one when *.publish.attestation files
	// sit beside the dists); -1 when there was none. The field is read and
	// dropped: nothing verifies attestations yet, so nothing is stored and
	// no provenance is advertised (docs/uploads.md).
	attestations int64
	limit        streamLimit // the file limit the content was streamed under
}

// distutilsFormBoundary is the multipart boundary distutils' upload and
// register commands always use (PROTOCOL.md 1.2); nothing else sends it.
const distutilsFormBoundary = "--------------GHSKFJDLGDS7543FJKLFHRE75642756743254"

// content is the uploaded file as streamed to a temp file.
type content struct {
	filename string // as sent in the part's Content-Disposition, never reduced to a basename
	path     string // temp file
	size     int64
	md5      string
	sha256   string
	blake2   string // BLAKE2b-256
	tooLarge bool
}

// parseForm streams r's multipart body: the content part goes to a temp file in
// tmpDir while md5, sha256 and BLAKE2b-256 are computed (memory stays flat
// whatever the size; BLAKE2b-512 only when asked, see blake2b512); it stops writing after limit bytes. The
// caller removes req.content.path.
func parseForm(r *http.Request, tmpDir string, limit int64) (*request, error) {
	return parseFormWith(r, tmpDir, func(map[string][]string) (int64, error) { return limit, nil })
}

// parseFormWith is parseForm with the content's limit decided when its part
// begins, from the fields read before it (the project's own limit).
func parseFormWith(r *http.Request, tmpDir string, contentLimit func(fields map[string][]string) (int64, error)) (*request, error) {
	req := &request{fields: map[string][]string{}, attestations: -1}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		// A urlencoded or query-only request can still carry an action
		// (distutils' --list-classifiers, browsers); it just has no file.
		// net/url caps a form at 10,000 values, and net/http the body at
		// 10 MB; the checks below apply a multipart form's limits.
		if err := r.ParseForm(); err != nil {
			return nil, index.Errorf(index.ErrInvalid, "Invalid form data: %v", err)
		}
		n := 0
		for k, vs := range r.Form {
			if n += len(vs); n > maxParts {
				return nil, errTooManyParts
			}
			if err := checkFieldName(k); err != nil {
				return nil, err
			}
			for _, v := range vs {
				if err := index.CheckText("value of form field "+index.Repr(k), v); err != nil {
					return nil, err
				}
			}
			req.fields[k] = vs
		}
		req.action = first(req.fields[":action"])
		return req, nil
	}
	req.distutils = params["boundary"] == distutilsFormBoundary
	// multipart reads its input 4 KiB at a time; a larger buffer under it
	// turns a large file's many small reads of the connection into few.
	br := bodyBufs.Get().(*bufio.Reader)
	br.Reset(r.Body)
	defer func() { br.Reset(nil); bodyBufs.Put(br) }()
	mr := multipart.NewReader(br, params["boundary"])
	var fieldBytes int64
	for parts := 1; ; parts++ {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			req.cleanup()
			return nil, index.Errorf(index.ErrInvalid, "Invalid multipart form data: %v", cleanErr(err))
		}
		if parts > maxParts {
			part.Close()
			req.cleanup()
			return nil, errTooManyParts
		}
		name := part.FormName()
		if name == "" {
			part.Close()
			continue
		}
		if err := checkFieldName(name); err != nil {
			part.Close()
			req.cleanup()
			return nil, err
		}
		// Names count towards the fields' bytes: a form of many distinct
		// names and no values must not fill memory either.
		fieldBytes += int64(len(name))
		switch {
		case name == "content":
			if req.content != nil {
				part.Close()
				req.cleanup()
				return nil, index.Errorf(index.ErrInvalid, "Upload payload has more than one file.")
			}
			limit, err := contentLimit(req.fields)
			if err != nil {
				part.Close()
				req.cleanup()
				return nil, err
			}
			c, err := saveContent(part, tmpDir, limit)
			part.Close()
			if err != nil {
				req.cleanup()
				return nil, err
			}
			req.content = c
			continue
		case name == "attestations":
			// PEP 740: read and dropped, never kept in memory, so its size
			// does not count against the fields' limit.
			n, err := io.Copy(io.Discard, part)
			part.Close()
			if err != nil {
				req.cleanup()
				return nil, index.Errorf(index.ErrInvalid, "Invalid multipart form data: %v", cleanErr(err))
			}
			req.attestations = max(req.attestations, 0) + n
			continue
		case name == "gpg_signature":
			// A detached GPG signature: PyPI ignores them since 2023.
			io.Copy(io.Discard, part) //nolint:errcheck // dropped on purpose
			part.Close()
			continue
		case rawFileName(part) != "":
			part.Close()
			req.cleanup()
			return nil, index.Errorf(index.ErrInvalid, "%s: Should not be a tuple.", name)
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes-fieldBytes+1))
		part.Close()
		if err != nil {
			req.cleanup()
			return nil, index.Errorf(index.ErrInvalid, "Invalid multipart form data: %v", cleanErr(err))
		}
		fieldBytes += int64(len(b))
		if fieldBytes > maxFieldBytes {
			req.cleanup()
			return nil, index.Errorf(index.ErrTooLarge, "Form fields too large: more than %d MB.", maxFieldBytes>>20)
		}
		v := strings.ReplaceAll(string(b), "\x00", `\x00`)
		if err := index.CheckText("value of form field "+index.Repr(name), v); err != nil {
			req.cleanup()
			return nil, err
		}
		req.fields[name] = append(req.fields[name], v)
	}
	if a := first(req.fields[":action"]); a != "" {
		req.action = a
	} else {
		req.action = r.URL.Query().Get(":action")
	}
	return req, nil
}

// cleanErr keeps an http.MaxBytesError recognisable and drops the rest of the
// parser's detail, which is not always meaningful to a client.
func cleanErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("request body larger than %d bytes", mbe.Limit)
	}
	return err
}

func saveContent(part *multipart.Part, tmpDir string, limit int64) (*content, error) {
	c := &content{filename: rawFileName(part)}
	if c.filename == "" {
		// RFC 7578 allows an absent filename; PyPI rejects it as no file.
		io.Copy(io.Discard, part) //nolint:errcheck
		return nil, index.Errorf(index.ErrInvalid, "Upload payload does not have a file.")
	}
	f, err := os.CreateTemp(tmpDir, "upload-*.part")
	if err != nil {
		return nil, storageErr("create temp file", err)
	}
	c.path = f.Name()
	m5, s256 := md5.New(), sha256.New()
	b256, _ := blake2b.New256(nil)
	tw := &tempWriter{w: datadir.NewWriteBehind(f)}
	if wrap := wrapTempFile.Load(); wrap != nil {
		tw.w = (*wrap)(c.filename, f)
	}
	// The temp file and each digest on its own goroutine: the upload costs
	// the slowest of them, not their sum.
	n, err := fanout.Copy(io.LimitReader(part, limit+1), tw, m5, s256, b256)
	if err == nil && n > limit {
		c.tooLarge = true
		// Read (and drop) the rest so the client gets to read our answer
		// instead of a reset connection; the body is capped by MaxBytesReader.
		_, err = io.Copy(io.Discard, part)
	}
	if err != nil {
		f.Close()
		os.Remove(c.path)
		if tw.err != nil {
			return nil, storageErr("write temp file", tw.err)
		}
		return nil, index.Errorf(index.ErrInvalid, "Invalid multipart form data: %v", cleanErr(err))
	}
	if err := f.Close(); err != nil {
		os.Remove(c.path)
		return nil, storageErr("write temp file", err)
	}
	c.size = n
	c.md5 = hexSum(m5)
	c.sha256 = hexSum(s256)
	c.blake2 = hexSum(b256)
	return c, nil
}

// blake2b512 is the BLAKE2b-512 digest of the upload, which only
// distutils' upload sends (mislabelled blake2_256_digest). It is computed
// on demand, from the temp file, rather than for every upload.
func (c *content) blake2b512() (string, error) {
	f, err := datadir.Open(c.path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h, _ := blake2b.New512(nil)
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hexSum(h), nil
}

// rawFileName is the part's filename parameter as sent. Part.FileName
// reduces it to its last path element (RFC 7578, 4.2), which would hide the
// '/' that checklist item 10 refuses and store "../x.whl" as "x.whl". Like
// Part.FileName, a malformed Content-Disposition has no filename.
func rawFileName(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func (req *request) cleanup() {
	if req != nil && req.content != nil && req.content.path != "" {
		os.Remove(req.content.path)
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
