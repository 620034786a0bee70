package staticgen

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strconv"

	"github.com/cheeseshop/cheeseshop/internal/fsutil"
)

const (
	serialPrefix   = "<!--SERIAL "
	serialSuffix   = "-->"
	jsonMetaPrefix = `{"meta":{"api-version":"` + apiVersion + `","_last-serial":`
	jsonSerialKey  = `"_last-serial":`
)

// PageSerial returns the serial a rendered page records: the n of the
// trailing "<!--SERIAL n-->" of an HTML page, or meta._last-serial of a JSON
// page. It reports false for anything else (an empty or foreign file, an
// HTML page cut off before its serial comment), so a caller comparing
// serials treats an unreadable page as stale.
//
// It reads only the end of an HTML page and the meta object at the start of
// a JSON page, so it is cheap enough for start-up repair over every project.
func PageSerial(b []byte) (int64, bool) {
	if len(b) > 0 && b[0] == '{' {
		return jsonSerial(b)
	}
	return htmlSerial(b)
}

func htmlSerial(b []byte) (int64, bool) {
	b = bytes.TrimRight(b, " \t\r\n")
	if !bytes.HasSuffix(b, []byte(serialSuffix)) {
		return 0, false
	}
	b = b[:len(b)-len(serialSuffix)]
	i := bytes.LastIndex(b, []byte(serialPrefix))
	if i < 0 {
		return 0, false
	}
	return parseSerial(b[i+len(serialPrefix):])
}

func jsonSerial(b []byte) (int64, bool) {
	// Every complete page ends with "}\n".
	if !bytes.HasSuffix(bytes.TrimRight(b, " \t\r\n"), []byte("}")) {
		return 0, false
	}
	const metaKey = `{"meta":{`
	if !bytes.HasPrefix(b, []byte(metaKey)) {
		return 0, false
	}
	// The meta object holds no nested objects, so it ends at the first '}';
	// this keeps the projects' own _last-serial keys out of the search.
	meta := b[len(metaKey):]
	if end := bytes.IndexByte(meta, '}'); end >= 0 {
		meta = meta[:end]
	} else {
		return 0, false
	}
	i := bytes.Index(meta, []byte(jsonSerialKey))
	if i < 0 {
		return 0, false
	}
	rest := meta[i+len(jsonSerialKey):]
	if end := bytes.IndexByte(rest, ','); end >= 0 {
		rest = rest[:end]
	}
	return parseSerial(rest)
}

// parseSerial accepts only a plain non-negative decimal integer.
func parseSerial(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// diskSerial returns the serial of the HTML page in dir, reading only its
// last bytes, where the serial comment is.
func diskSerial(dir string) (int64, bool) {
	f, err := fsutil.Open(filepath.Join(dir, HTMLName))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, false
	}
	const tail = 64
	off := max(fi.Size()-tail, 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return 0, false
	}
	return htmlSerial(b)
}
