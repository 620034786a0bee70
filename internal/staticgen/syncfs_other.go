//go:build unix && !linux

package staticgen

import "golang.org/x/sys/unix"

// syncFS flushes every file system: without syncfs(2) sync(2) is the one
// call that covers all pages written.
func syncFS(string) error {
	return unix.Sync()
}
