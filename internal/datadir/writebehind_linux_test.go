package datadir

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The bytes of a large file past directFrom bypass the page cache where
// the file system takes direct I/O: once written, they are not resident,
// while the page-cache part and the tail are.
func TestWriteBehindBypassesPageCache(t *testing.T) {
	dir := t.TempDir()
	probe, err := os.Create(filepath.Join(dir, "probe"))
	if err != nil {
		t.Fatal(err)
	}
	derr := setDirectIO(probe, true)
	probe.Close()
	if derr != nil {
		t.Skipf("%s does not take O_DIRECT: %v", dir, derr)
	}
	path := filepath.Join(dir, "big.whl")
	p, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Cleanup()
	size := directFrom + 4*directBlock + 5000
	if err := writeInPieces(t, p, pattern(size)); err != nil {
		t.Fatal(err)
	}
	if err := p.Finish(true); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p.f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m) //nolint:errcheck
	page := os.Getpagesize()
	vec := make([]byte, (size+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	resident := func(from, to int) (n int) {
		for i := from / page; i < (to+page-1)/page; i++ {
			n += int(vec[i] & 1)
		}
		return n
	}
	if n := resident(directFrom, directFrom+4*directBlock); n != 0 {
		t.Errorf("%d pages of the direct part are in the page cache, want 0", n)
	}
	if n, all := resident(0, directFrom), directFrom/page; n < all/2 {
		t.Errorf("%d of %d pages of the page-cache part are resident", n, all)
	}
}
