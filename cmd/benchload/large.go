package main

// The large-file benchmark's helpers (scripts/bench-large.sh):
//
//	benchload bigwheel -out PATH -name N -version V -size BYTES   a valid wheel of about BYTES, one stored random member
//	benchload limits   -file PATH -dir DIR                        the physical limits for PATH's bytes
//	benchload receiver -listen ADDR -dir DIR                      a minimal upload receiver, the peer of an upload

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/fanout"
)

func cmdBigWheel(args []string) error {
	fs := flag.NewFlagSet("bigwheel", flag.ContinueOnError)
	out := fs.String("out", "", "the wheel to write")
	name := fs.String("name", "big", "project name (a valid distribution name)")
	version := fs.String("version", "1.0", "version")
	size := fs.Int64("size", 1<<30, "about this many bytes in all")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	di := *name + "-" + *version + ".dist-info/"
	w, err := zw.CreateHeader(&zip.FileHeader{Name: *name + "/blob.bin", Method: zip.Store})
	if err != nil {
		return err
	}
	// Random bytes, as a model's weights or a compiled library look to a
	// compressor; ChaCha8 makes them at GB/s.
	var seed [32]byte
	copy(seed[:], *name+*version)
	if _, err := io.CopyN(w, rand.NewChaCha8(seed), *size-4096); err != nil {
		return err
	}
	for _, m := range [][2]string{
		{di + "METADATA", "Metadata-Version: 2.1\nName: " + *name + "\nVersion: " + *version + "\nSummary: a large wheel\n"},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: benchload\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{di + "RECORD", *name + "/blob.bin,,\n" + di + "METADATA,,\n" + di + "WHEEL,,\n" + di + "RECORD,,\n"},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m[0], Method: zip.Deflate})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, m[1]); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// cmdLimits measures, for the bytes of -file, what no upload can beat: the
// write and fsync of the same bytes into -dir, and each digest the upload
// computes alone (from memory: the read is not the digest's). The digest
// limit of an upload is the larger of the slowest digest and the three
// digests' CPU time spread over the cores.
func cmdLimits(args []string) error {
	fs := flag.NewFlagSet("limits", flag.ContinueOnError)
	file := fs.String("file", "", "the file")
	dir := fs.String("dir", "", "a directory on the data directory's file system")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	mb := float64(len(data)) / (1 << 20)

	start := time.Now()
	dst := filepath.Join(*dir, ".bench-large-write")
	if err := writeSync(dst, data); err != nil {
		return err
	}
	ws := time.Since(start)
	os.Remove(dst)
	fmt.Printf("limit write+fsync      %6.2f s  %7.0f MB/s\n", ws.Seconds(), mb/ws.Seconds())

	var slowest, cpu time.Duration
	for _, d := range []struct {
		name string
		h    hash.Hash
	}{{"md5", md5.New()}, {"sha256", sha256.New()}, {"blake2b-256", must256()}} {
		c0 := cpuTime()
		t0 := time.Now()
		for b := data; len(b) > 0; {
			n := min(len(b), 1<<20)
			d.h.Write(b[:n])
			b = b[n:]
		}
		wall, c := time.Since(t0), cpuTime()-c0
		slowest, cpu = max(slowest, wall), cpu+c
		fmt.Printf("limit %-16s %6.2f s  %7.0f MB/s  (cpu %.2f s)\n", d.name, wall.Seconds(), mb/wall.Seconds(), c.Seconds())
	}
	cores := runtime.NumCPU()
	spread := cpu / time.Duration(cores)
	limit := max(slowest, spread)
	fmt.Printf("limit digests          %6.2f s  = max(slowest %.2f s, cpu %.2f s / %d cores)\n", limit.Seconds(), slowest.Seconds(), cpu.Seconds(), cores)
	fmt.Printf("limit digest-seconds %.3f\n", limit.Seconds())
	return nil
}

func must256() hash.Hash {
	h, _ := blake2b.New256(nil)
	return h
}

func writeSync(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru) //nolint:errcheck // cannot fail for SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cmdReceiver serves the least an upload must do, built from the upload's
// own parts: parse the multipart body (mime/multipart over a 256 KiB
// buffer), stream the content part to a temp file in -dir
// (datadir.WriteBehind) while MD5, SHA-256 and BLAKE2b-256 are computed
// (fanout.Copy), fsync it and answer with the digests. The file stays, as
// an upload's does (the bench removes the directory). No routing,
// authentication, database, checks, placing or pages: an upload to
// cheeseshop timed beside one to this receiver, from the same client on
// the same machine, shows what the rest of the server costs, and what the
// machine allows a receiver of these parts (the client's CPU, the
// kernel's copies, the disk's flush) beyond the digests alone.
func cmdReceiver(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("receiver", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:18092", "address")
	dir := fs.String("dir", "", "a directory on the data directory's file system")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("receiver: need -dir")
	}
	return serveUntilDone(ctx, *listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sums, err := receive(r, *dir)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, sums)
	}))
}

// receive reads r's multipart body, keeps its content part in a synced
// temp file in dir and returns its digests.
func receive(r *http.Request, dir string) (string, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return "", err
	}
	mr := multipart.NewReader(bufio.NewReaderSize(r.Body, 256<<10), params["boundary"])
	sums := ""
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return sums, nil
		}
		if err != nil {
			return "", err
		}
		if part.FormName() != "content" {
			io.Copy(io.Discard, part) //nolint:errcheck // the next part tells
			continue
		}
		f, err := os.CreateTemp(dir, "upload-*")
		if err != nil {
			return "", err
		}
		m5, s256, b256 := md5.New(), sha256.New(), must256()
		_, err = fanout.Copy(part, datadir.NewWriteBehind(f), m5, s256, b256)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
		sums = fmt.Sprintf("md5 %x sha256 %x blake2b-256 %s", m5.Sum(nil), s256.Sum(nil), hex.EncodeToString(b256.Sum(nil)))
	}
}
