package upload

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"math"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// archive/zip reads a zip's whole central directory into memory when it
// opens it, and reads entries until one does not parse, whatever the count
// the directory's end record claims. So the directory is walked here first,
// without keeping anything, as archive/zip will walk it (its end record
// found the same way, readDirectoryEnd in archive/zip/reader.go), and a zip
// with too many entries, too large a directory or too long a name is
// refused before archive/zip allocates for it. zip.NewReader then reads
// through budgetReader, which fails past what this walk measured (plus the
// tail it searches for the end record), so that even a disagreement between
// the two walks cannot make it read an unbounded directory.

const (
	zipDirEndSig      = 0x06054b50
	zipDirEndLen      = 22
	zipDir64LocSig    = 0x07064b50
	zipDir64LocLen    = 20
	zipDir64EndSig    = 0x06064b50
	zipDir64EndLen    = 56
	zipDirHeaderSig   = 0x02014b50
	zipDirHeaderLen   = 46
	zipEndSearchBytes = 65 * 1024
)

// zipDirectoryEnd is what checkZipDirectory needs of the end record.
type zipDirectoryEnd struct {
	records, size, offset uint64
	endOffset             int64
}

// checkZipDirectory refuses a zip whose central directory exceeds the
// limits, and returns how many bytes zip.NewReader may read to open it.
// A zip it cannot make sense of is left to zip.NewReader to refuse.
func checkZipDirectory(r io.ReaderAt, size int64) (budget int64, err error) {
	// archive/zip searches the last 1 KiB and then the last 65 KiB for the
	// end record, reads the zip64 records, and may read one directory
	// header (with its name, extra field and comment, 3×64 KiB at most) to
	// choose its base offset; its buffered reader reads up to 4 KiB past
	// the directory.
	const tail = 1024 + zipEndSearchBytes + zipDir64LocLen + zipDir64EndLen + zipDirHeaderLen + 3*64<<10 + 4096
	d, ok := readZipDirectoryEnd(r, size)
	if !ok {
		return tail, nil
	}
	if d.records > maxZipEntries {
		return 0, errTooManyZipEntries
	}
	if d.size > maxZipDirectoryBytes {
		return 0, errZipDirectoryTooLarge
	}
	base := d.endOffset - int64(d.size) - int64(d.offset)
	// archive/zip uses base, or 0 when a directory header is found at the
	// recorded offset itself; both are walked, and the larger counts.
	var dirBytes int64
	for _, start := range []int64{int64(d.offset), base + int64(d.offset)} {
		if start < 0 || start >= size {
			continue
		}
		n, err := walkZipDirectory(io.NewSectionReader(r, start, size-start))
		if err != nil {
			return 0, err
		}
		dirBytes = max(dirBytes, n)
	}
	return dirBytes + tail, nil
}

// readZipDirectoryEnd finds the end of central directory record as
// archive/zip's readDirectoryEnd does.
func readZipDirectoryEnd(r io.ReaderAt, size int64) (zipDirectoryEnd, bool) {
	var buf []byte
	var end int64
	found := false
	for _, n := range []int64{1024, zipEndSearchBytes} {
		n = min(n, size)
		buf = make([]byte, n)
		if _, err := r.ReadAt(buf, size-n); err != nil && err != io.EOF {
			return zipDirectoryEnd{}, false
		}
		if p := findZipDirectoryEnd(buf); p >= 0 {
			buf, end, found = buf[p:], size-n+int64(p), true
			break
		}
		if n == size {
			break
		}
	}
	if !found {
		return zipDirectoryEnd{}, false
	}
	le := binary.LittleEndian
	d := zipDirectoryEnd{
		records:   uint64(le.Uint16(buf[10:])),
		size:      uint64(le.Uint32(buf[12:])),
		offset:    uint64(le.Uint32(buf[16:])),
		endOffset: end,
	}
	if d.records == 0xffff || d.size == 0xffff || d.offset == 0xffffffff {
		loc := make([]byte, zipDir64LocLen)
		if end-zipDir64LocLen >= 0 {
			if _, err := r.ReadAt(loc, end-zipDir64LocLen); err != nil {
				return zipDirectoryEnd{}, false
			}
			if le.Uint32(loc) == zipDir64LocSig && le.Uint32(loc[4:]) == 0 && le.Uint32(loc[16:]) == 1 {
				p := int64(le.Uint64(loc[8:]))
				rec := make([]byte, zipDir64EndLen)
				if _, err := r.ReadAt(rec, p); err != nil || le.Uint32(rec) != zipDir64EndSig {
					return zipDirectoryEnd{}, false
				}
				d.records = le.Uint64(rec[32:])
				d.size = le.Uint64(rec[40:])
				d.offset = le.Uint64(rec[48:])
				d.endOffset = p
			}
		}
	}
	if d.size > 1<<62 || d.offset > 1<<62 {
		return zipDirectoryEnd{}, false
	}
	return d, true
}

// findZipDirectoryEnd is archive/zip's findSignatureInBlock.
func findZipDirectoryEnd(b []byte) int {
	for i := len(b) - zipDirEndLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(b[i:]) == zipDirEndSig {
			n := int(b[i+zipDirEndLen-2]) | int(b[i+zipDirEndLen-1])<<8
			if n+zipDirEndLen+i > len(b) {
				return -1
			}
			return i
		}
	}
	return -1
}

// walkZipDirectory reads directory headers from r until one does not start
// with the header signature, as archive/zip does, and returns the bytes they
// take. It keeps nothing but counts.
func walkZipDirectory(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var hdr [zipDirHeaderLen]byte
	var n, entries int64
	le := binary.LittleEndian
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil || le.Uint32(hdr[:]) != zipDirHeaderSig {
			return n, nil
		}
		if entries++; entries > maxZipEntries {
			return 0, errTooManyZipEntries
		}
		nameLen := int(le.Uint16(hdr[28:]))
		rest := nameLen + int(le.Uint16(hdr[30:])) + int(le.Uint16(hdr[32:]))
		if n += zipDirHeaderLen + int64(rest); n > maxZipDirectoryBytes {
			return 0, errZipDirectoryTooLarge
		}
		if nameLen > maxMemberNameBytes {
			start, _ := br.Peek(60)
			return 0, errLongMemberName(string(start))
		}
		if _, err := br.Discard(rest); err != nil {
			return n, nil
		}
	}
}

// newZipReader is zip.NewReader within the limits on the central
// directory; a refusal for a limit is a zipLimitError.
func newZipReader(f io.ReaderAt, size int64) (*zip.Reader, error) {
	budget, err := checkZipDirectory(f, size)
	if err != nil {
		return nil, zipLimitError{err}
	}
	br := &budgetReader{r: f, budget: budget}
	zr, err := zip.NewReader(br, size)
	if br.over {
		return nil, zipLimitError{errZipDirectoryTooLarge}
	}
	// Members are read through br later (METADATA), without a budget.
	br.budget = math.MaxInt64
	if zr != nil && len(zr.File) > maxZipEntries {
		return nil, zipLimitError{errTooManyZipEntries}
	}
	return zr, err
}

// zipLimitError is the refusal of a zip for the size of its central
// directory, which callers pass on rather than report as "not a zip".
type zipLimitError struct{ error }

func (e zipLimitError) Unwrap() error { return e.error }

var (
	errTooManyZipEntries    = index.Errorf(index.ErrInvalid, "Invalid distribution file. The zip has more than %d members", maxZipEntries)
	errZipDirectoryTooLarge = index.Errorf(index.ErrInvalid, "Invalid distribution file. The zip's central directory is larger than %d MiB", maxZipDirectoryBytes>>20)
	errBudget               = errors.New("zip directory read budget exceeded")
)

// budgetReader fails reads once more than budget bytes have been read.
type budgetReader struct {
	r      io.ReaderAt
	budget int64
	over   bool
}

func (b *budgetReader) ReadAt(p []byte, off int64) (int, error) {
	if int64(len(p)) > b.budget {
		b.over = true
		return 0, errBudget
	}
	b.budget -= int64(len(p))
	return b.r.ReadAt(p, off)
}
