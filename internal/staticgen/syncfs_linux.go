package staticgen

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
)

// syncFS flushes the whole file system that holds dir (syncfs(2)): one call
// instead of an fsync per page.
func syncFS(dir string) error {
	f, err := datadir.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}
