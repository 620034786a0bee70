package index

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Page reads decode file rows straight from the driver's raw values: a page
// rewrite of a project with thousands of files otherwise spends most of its
// time in per-column scan plans and in thousands of small string
// allocations, and the garbage collection they cause. Here the strings of
// all rows are copied into a few large chunks (strArena) and each File's
// strings point into them, so a load allocates a handful of times however
// many files there are.

// strArena hands out strings copied into large chunks. A chunk is never
// written again once a string points into it, so the strings stay
// immutable; they keep their chunk alive like any interior pointer.
type strArena struct {
	chunk []byte
}

const arenaChunk = 64 << 10

func (a *strArena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > cap(a.chunk)-len(a.chunk) {
		a.chunk = make([]byte, 0, max(arenaChunk, len(b)))
	}
	start := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return unsafe.String(&a.chunk[start], len(b))
}

// rawFallbacks counts page reads that had to scan the usual way (tests
// check that the raw path is the one taken).
var rawFallbacks atomic.Int64

// pageFileTypes are the types of pageFileCols, in order.
var pageFileTypes = [...]uint32{pgtype.Int8OID, pgtype.Int8OID, pgtype.Int8OID, pgtype.TextOID, pgtype.Int8OID,
	pgtype.TextOID, pgtype.TimestamptzOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID}

// pgEpoch is PostgreSQL's timestamp zero, 2000-01-01 00:00:00 UTC; binary
// timestamptz values count microseconds from it.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// rawPageFiles decodes rows of pageFileCols when their types and formats
// are the expected ones: the integers and the timestamp in binary format
// (pgx asks for it), the texts in either (their bytes are the same). ok is
// false otherwise, and the caller scans the usual way.
func rawPageFiles(files []File, rows pgx.Rows) (_ []File, ok bool, err error) {
	fds := rows.FieldDescriptions()
	if len(fds) != len(pageFileTypes) {
		return nil, false, nil
	}
	for i, fd := range fds {
		want := pageFileTypes[i]
		if fd.DataTypeOID != want || want != pgtype.TextOID && fd.Format != pgx.BinaryFormatCode {
			rawFallbacks.Add(1)
			return nil, false, nil
		}
	}
	var a strArena
	for rows.Next() {
		v := rows.RawValues()
		var f File
		var ints [4]int64
		for i, col := range [4]int{0, 1, 2, 4} {
			if len(v[col]) != 8 {
				return nil, true, fmt.Errorf("scan file: column %s is %d bytes", fds[col].Name, len(v[col]))
			}
			ints[i] = int64(binary.BigEndian.Uint64(v[col]))
		}
		f.ID, f.ReleaseID, f.ProjectID, f.Size = ints[0], ints[1], ints[2], ints[3]
		if len(v[6]) != 8 {
			return nil, true, fmt.Errorf("scan file: upload_time is %d bytes", len(v[6]))
		}
		us := int64(binary.BigEndian.Uint64(v[6]))
		f.UploadTime = pgEpoch.Add(time.Duration(us) * time.Microsecond).Local()
		f.Filename = a.str(v[3])
		f.SHA256 = a.str(v[5])
		f.RequiresPython = a.str(v[7])
		f.Path = a.str(v[8])
		f.MetadataSHA256 = a.str(v[9])
		f.CDNURL = a.str(v[10])
		files = append(files, f)
	}
	return files, true, translate(rows.Err())
}
