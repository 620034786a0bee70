package upload

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Decompression-bomb limits, Warehouse's COMPRESSION_RATIO_MIN_SIZE and
// COMPRESSION_RATIO_THRESHOLD (PROTOCOL.md 1.7): an archive is refused when
// it expands to more than 64 MiB and more than 50 times its own size.
const (
	compressionRatioMinSize = 64 << 20
	maxCompressionRatio     = 50
)

// maxCoreMetadataSize caps how much of a wheel's METADATA is read into
// memory. Real ones are a few KiB; the long description is the bulk.
const maxCoreMetadataSize = 10 << 20

// tarBlockSize is the size of a tar header block.
const tarBlockSize = 512

// Limits on an archive's members, so that the memory an upload takes does
// not depend on its shape. PATH_MAX is 4096 on Linux: an sdist or wheel
// with a longer member name cannot be unpacked there anyway.
const (
	maxMemberNameBytes = 4096
	// maxMemberHeaderBytes caps what archive/tar reads for one member's
	// header (the previous member's padding, header blocks, PAX records,
	// GNU long names); a 4096-byte name and the usual PAX records fit many
	// times over.
	maxMemberHeaderBytes = 64 << 10
	// maxZipEntries and maxZipDirectoryBytes cap a zip's central directory,
	// which archive/zip reads into memory whole (some 200 bytes per entry
	// besides its name): a large real wheel has a few tens of thousands of
	// members and a directory of a few MiB.
	maxZipEntries        = 100_000
	maxZipDirectoryBytes = 16 << 20
)

// errLongMemberName refuses a member name longer than maxMemberNameBytes,
// showing only its start.
func errLongMemberName(name string) error {
	return index.Errorf(index.ErrInvalid, "Invalid distribution file. Member name %s... is longer than %d bytes",
		index.Repr(strings.ToValidUTF8(name[:min(len(name), 60)], "")), maxMemberNameBytes)
}

func invalidDist(format string, args ...any) error {
	return index.Errorf(index.ErrInvalid, "Invalid distribution file. %s", fmt.Sprintf(format, args...))
}

var (
	errNotZip       = invalidDist("File is not a zipfile")
	errNotTar       = invalidDist("File is not a tarfile")
	errPolyglot     = invalidDist("File is both a zip and a tar file")
	errCompression  = invalidDist("File does not use a supported compression type")
	errRatio        = invalidDist("File exceeds compression ratio of %d", maxCompressionRatio)
	errTopLevelDirs = invalidDist("Incorrect number of top-level directories in sdist")
)

// inspectWheel checks the wheel at path and returns the bytes of
// <name>-<version>.dist-info/METADATA, with name and version the raw
// filename parts (wf.Name, wf.Version), which the .dist-info directory must
// use verbatim (PROTOCOL.md 2, items 18 and 21). Only the central directory
// and METADATA are read; nothing else is decompressed.
func inspectWheel(path, filename string, wf index.WheelFilename) (metadata []byte, err error) {
	name, version := wf.Name, wf.Version
	if name == "" || version == "" {
		parts := strings.SplitN(filename, "-", 3)
		if len(parts) < 3 {
			return nil, invalidDist("Unable to parse name and version from wheel filename")
		}
		name, version = parts[0], parts[1]
	}
	f, size, err := openUpload(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := openZip(f, size)
	if err != nil {
		return nil, err
	}
	members := make(map[string]*zip.File, len(zr.File))
	for _, zf := range zr.File {
		members[zf.Name] = zf
	}
	distInfo := name + "-" + version + ".dist-info"
	if members[distInfo+"/WHEEL"] == nil {
		return nil, invalidDist("WHEEL not found at %s/WHEEL", distInfo)
	}
	// Warehouse checks RECORD before METADATA.
	if members[distInfo+"/RECORD"] == nil {
		return nil, index.Errorf(index.ErrInvalid, "Wheel '%s' does not contain the required RECORD file: %s/RECORD", filename, distInfo)
	}
	zf := members[distInfo+"/METADATA"]
	if zf == nil {
		return nil, index.Errorf(index.ErrInvalid, "Wheel '%s' does not contain the required METADATA file: %s/METADATA", filename, distInfo)
	}
	return readZipMember(zf, maxCoreMetadataSize)
}

// inspectSdist checks a .tar.gz or .zip sdist: a sound archive with a single
// top-level directory that contains PKG-INFO (PROTOCOL.md 2, item 18).
func inspectSdist(path, filename string) error {
	lower := strings.ToLower(filename)
	if !strings.HasSuffix(lower, ".tar.gz") && !strings.HasSuffix(lower, ".zip") {
		return index.Errorf(index.ErrInvalid, "Invalid file extension: Use .tar.gz, .whl or .zip extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information")
	}
	f, size, err := openUpload(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var tops topLevel
	if strings.HasSuffix(lower, ".zip") {
		zr, err := openZip(f, size)
		if err != nil {
			return err
		}
		for _, zf := range zr.File {
			tops.add(zf.Name, strings.HasSuffix(zf.Name, "/"), !zf.Mode().IsDir())
		}
	} else if err := walkTarGz(f, size, &tops); err != nil {
		return err
	}
	top, ok := tops.single()
	if !ok {
		return errTopLevelDirs
	}
	if !tops.pkgInfo {
		return invalidDist("PKG-INFO not found at %s/PKG-INFO", top)
	}
	return nil
}

// openUpload opens the streamed upload. A failure here is ours, not the
// client's, so it is not an ErrInvalid.
func openUpload(path string) (*os.File, int64, error) {
	f, err := datadir.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("upload: open archive: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("upload: stat archive: %w", err)
	}
	return f, fi.Size(), nil
}

// openZip reads the central directory and applies the checks every zip
// upload gets, in Warehouse's order: a zip at all, not also a tar, a sane
// compression ratio, only STORED or DEFLATED members; then ours: member names
// that are relative paths inside the archive and appear once.
func openZip(f *os.File, size int64) (*zip.Reader, error) {
	zr, err := newZipReader(f, size)
	var limit zipLimitError
	switch {
	case errors.As(err, &limit):
		return nil, limit.error
	// ErrInsecurePath (GODEBUG zipinsecurepath=0) still returns a usable
	// reader; the names are judged below.
	case err != nil && !errors.Is(err, zip.ErrInsecurePath):
		return nil, errNotZip
	}
	if looksLikeTar(f, size) {
		return nil, errPolyglot
	}
	// The sizes are the central directory's claim. A member that expands
	// beyond its claim fails when read (archive/zip enforces the declared
	// size), and we read only METADATA, capped.
	var total uint64
	for _, zf := range zr.File {
		// Saturate: a hostile directory can claim sizes that overflow.
		if total += zf.UncompressedSize64; total < zf.UncompressedSize64 {
			total = math.MaxUint64
			break
		}
	}
	if exceedsRatio(total, size) {
		return nil, errRatio
	}
	for _, zf := range zr.File {
		if zf.Method != zip.Store && zf.Method != zip.Deflate {
			return nil, errCompression
		}
	}
	seen := make(map[string]bool, len(zr.File))
	for _, zf := range zr.File {
		if len(zf.Name) > maxMemberNameBytes {
			return nil, errLongMemberName(zf.Name)
		}
		if unsafeMemberName(zf.Name) {
			return nil, invalidDist("Member name %s is not a relative path inside the archive", index.Repr(zf.Name))
		}
		if seen[zf.Name] {
			// Readers disagree on which copy wins, so METADATA could differ
			// between what we serve and what pip installs.
			return nil, invalidDist("Member name %s occurs more than once", index.Repr(zf.Name))
		}
		seen[zf.Name] = true
	}
	return zr, nil
}

func exceedsRatio(uncompressed uint64, size int64) bool {
	return uncompressed > compressionRatioMinSize && uncompressed > maxCompressionRatio*uint64(max(size, 0))
}

// readZipMember reads one member, at most limit bytes of it.
func readZipMember(zf *zip.File, limit int64) ([]byte, error) {
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, invalidDist("%s is larger than %d MiB", zf.Name, limit>>20)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, invalidDist("%s cannot be read: %v", zf.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	switch {
	case err != nil:
		// archive/zip reports a member longer than declared, or with a bad
		// checksum, as an error here.
		return nil, invalidDist("%s cannot be read: %v", zf.Name, err)
	case int64(len(b)) > limit:
		return nil, invalidDist("%s is larger than %d MiB", zf.Name, limit>>20)
	}
	return b, nil
}

// walkTarGz reads a gzip-compressed tar to its end, recording member names,
// and stops as soon as the decompressed bytes exceed the bomb limit: a tar's
// headers cannot be trusted about sizes, so the bytes are counted.
func walkTarGz(f *os.File, size int64, tops *topLevel) error {
	var zl zipLimitError
	switch _, err := newZipReader(f, size); {
	case err == nil:
		return errPolyglot
	case errors.As(err, &zl):
		return zl.error
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("upload: seek archive: %w", err)
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		return errNotTar
	}
	defer gz.Close()
	limit := max(uint64(compressionRatioMinSize), maxCompressionRatio*uint64(max(size, 0)))
	cr := &countingReader{r: gz, limit: limit, headerLimit: math.MaxUint64}
	tr := tar.NewReader(cr)
	members := 0
	for {
		// What Next reads is headers only (the previous member's data was
		// read below): the padding, the header block and any PAX or GNU
		// long-name records, which archive/tar would read up to 1 MiB each.
		cr.headerLimit = cr.n + maxMemberHeaderBytes
		hdr, err := tr.Next()
		cr.headerLimit = math.MaxUint64
		if err == io.EOF {
			break
		}
		if err != nil {
			switch {
			case cr.over:
				return errRatio
			case cr.headerOver:
				return index.Errorf(index.ErrInvalid, "Invalid distribution file. The header of member %d is larger than %d KiB", members+1, maxMemberHeaderBytes>>10)
			}
			return errNotTar
		}
		members++
		if len(hdr.Name) > maxMemberNameBytes {
			return errLongMemberName(hdr.Name)
		}
		if hdr.Typeflag == tar.TypeGNUSparse || hasSparsePAX(hdr.PAXRecords) {
			return invalidDist("Member %s is a sparse file", index.Repr(hdr.Name))
		}
		if unsafeMemberName(hdr.Name) {
			return invalidDist("Member name %s is not a relative path inside the archive", index.Repr(hdr.Name))
		}
		// archive/tar reports the old '\x00' type flag as TypeReg.
		tops.add(hdr.Name, hdr.Typeflag == tar.TypeDir, hdr.Typeflag == tar.TypeReg)
		if _, err := io.Copy(io.Discard, tr); err != nil {
			if cr.over {
				return errRatio
			}
			return errNotTar
		}
	}
	// Drain the stream so a corrupt gzip trailer (CRC, length) is noticed.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		if cr.over {
			return errRatio
		}
		return errNotTar
	}
	if members == 0 {
		return errNotTar // Python's tarfile calls an empty archive unreadable
	}
	return nil
}

func hasSparsePAX(records map[string]string) bool {
	for k := range records {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// countingReader fails once more than limit bytes have come through, or
// more than headerLimit (an offset, moved on for each member's header).
type countingReader struct {
	r           io.Reader
	n           uint64
	limit       uint64
	over        bool
	headerLimit uint64
	headerOver  bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	// Never read past the header limit, so that archive/tar's buffer for a
	// special record grows no further than the limit.
	if room := c.headerLimit - min(c.n, c.headerLimit); uint64(len(p)) > room {
		if room == 0 {
			c.headerOver = true
			return 0, errors.New("member header size limit exceeded")
		}
		p = p[:room]
	}
	n, err := c.r.Read(p)
	c.n += uint64(n)
	if c.n > c.limit {
		c.over = true
		return n, errors.New("decompressed size limit exceeded")
	}
	return n, err
}

// topLevel follows what an sdist holds at its top level as the members go
// by, keeping only what the check needs: the first top-level name, whether
// it is a directory and holds PKG-INFO, and whether any other top-level name
// appeared. Memory stays the same whatever the number of members.
type topLevel struct {
	top     string // the first top-level name seen, "" before any
	isDir   bool   // top is known to be a directory
	pkgInfo bool   // top/PKG-INFO is a regular file
	more    bool   // a second top-level name appeared
}

func (t *topLevel) add(name string, isDir, isFile bool) {
	name = strings.TrimPrefix(name, "./")
	name = strings.TrimSuffix(name, "/")
	if name == "" || name == "." || t.more {
		return
	}
	first, rest, nested := strings.Cut(name, "/")
	switch {
	case t.top == "":
		t.top = strings.Clone(first) // not a slice of the member's whole name
	case first != t.top:
		t.more = true
		return
	}
	if nested || isDir {
		t.isDir = true
	}
	if isFile && !isDir && rest == "PKG-INFO" {
		t.pkgInfo = true
	}
}

// single returns the one top-level directory, if that is all there is.
func (t *topLevel) single() (string, bool) {
	if t.top == "" || t.more {
		return "", false
	}
	return t.top, t.isDir
}

// unsafeMemberName reports names that would land outside the extraction
// directory: absolute paths, drive letters, ".." components (with either
// slash, since Windows tools extract with both).
func unsafeMemberName(name string) bool {
	if name == "" || strings.ContainsRune(name, 0) {
		return true
	}
	n := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(n, "/") || (len(n) >= 2 && n[1] == ':') {
		return true
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

// looksLikeTar is Python's tarfile.is_tarfile as Warehouse uses it on zips to
// catch zip/tar polyglots: a valid tar header at the start, plain or inside
// gzip or bzip2 (xz is not in Go's standard library and is not checked).
func looksLikeTar(r io.ReaderAt, size int64) bool {
	var head [tarBlockSize]byte
	n, _ := r.ReadAt(head[:], 0)
	if n == tarBlockSize && validTarHeader(head[:]) {
		return true
	}
	var dec io.Reader
	switch {
	case n >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		gz, err := gzip.NewReader(io.NewSectionReader(r, 0, size))
		if err != nil {
			return false
		}
		dec = gz
	case n >= 3 && bytes.Equal(head[:3], []byte("BZh")):
		dec = bzip2.NewReader(io.NewSectionReader(r, 0, size))
	default:
		return false
	}
	var block [tarBlockSize]byte
	if _, err := io.ReadFull(dec, block[:]); err != nil {
		return false
	}
	return validTarHeader(block[:])
}

// validTarHeader is tarfile's check of a header block: not all zeros, and a
// checksum field matching the block's signed or unsigned byte sum.
func validTarHeader(b []byte) bool {
	if len(b) < tarBlockSize || bytes.Count(b, []byte{0}) == len(b) {
		return false
	}
	field := b[148:156]
	if i := bytes.IndexByte(field, 0); i >= 0 {
		field = field[:i]
	}
	s := strings.TrimSpace(string(field))
	if s == "" {
		s = "0"
	}
	want, err := strconv.ParseInt(s, 8, 64)
	if err != nil {
		return false
	}
	var unsigned, signed int64
	for i, c := range b[:tarBlockSize] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}

// checkCoreMetadata parses METADATA/PKG-INFO (RFC 822 style headers) and
// checks that its Name (normalized) and Version (PEP 440 equality) agree with
// the form. Warehouse does not compare them; we do because we serve METADATA
// as the PEP 658 file and pip 26.2 refuses a wheel whose .metadata names
// another project or version than the index said (PROTOCOL.md 2, item 21).
func checkCoreMetadata(metadata []byte, name string, version index.Version) error {
	h := parseHeaders(metadata)
	fileName, ok := h["name"]
	if !ok || fileName == "" {
		return index.Errorf(index.ErrInvalid, "The metadata in the distribution file has no Name field.")
	}
	if index.Normalize(fileName) != index.Normalize(name) {
		return index.Errorf(index.ErrInvalid, "Name in the distribution file's metadata (%s) does not match the uploaded name (%s).",
			index.Repr(fileName), index.Repr(name))
	}
	fileVersion, ok := h["version"]
	if !ok || fileVersion == "" {
		return index.Errorf(index.ErrInvalid, "The metadata in the distribution file has no Version field.")
	}
	v, err := index.ParseVersion(fileVersion)
	if err != nil {
		return index.Errorf(index.ErrInvalid, "Version in the distribution file's metadata (%s) is not a valid version.", index.Repr(fileVersion))
	}
	if !v.Equal(version) {
		return index.Errorf(index.ErrInvalid, "Version in the distribution file's metadata (%s) does not match the uploaded version (%s).",
			index.Repr(fileVersion), index.Repr(version.String()))
	}
	return nil
}

// parseHeaders reads the header block of a core-metadata file as Python's
// email parser (compat32) does, leniently: it ends at the first empty line
// or at the first line that is neither a header nor a continuation.
// Header names are lower-cased; the first occurrence of a name wins; values
// are trimmed, with folded lines joined by a space.
func parseHeaders(b []byte) map[string]string {
	h := map[string]string{}
	last := ""
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last != "" {
				h[last] = strings.TrimSpace(h[last] + " " + strings.TrimSpace(string(line)))
			}
			continue
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(k) == 0 || bytes.ContainsAny(k, " \t") {
			break
		}
		key := strings.ToLower(string(k))
		if _, dup := h[key]; dup {
			last = ""
			continue
		}
		h[key] = strings.TrimSpace(string(v))
		last = key
	}
	return h
}
