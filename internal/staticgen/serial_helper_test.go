package staticgen

import "github.com/cheeseshop/cheeseshop/internal/datadir"

// pageSerial reads the serial of a whole page of either kind.
func pageSerial(b []byte) (int64, bool) {
	if len(b) > 0 && b[0] == '{' {
		return datadir.ParseSerial(datadir.JSON, b)
	}
	return datadir.ParseSerial(datadir.HTML, b)
}
