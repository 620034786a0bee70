package upload

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// archiveMember is one archive entry for the test builders. Zero values mean a
// regular file stored with DEFLATE.
type archiveMember struct {
	name string
	body string
	dir  bool

	// zip only: raw writes the header as given (sizes may lie) with body as
	// the already-compressed data.
	method uint16
	raw    *zip.FileHeader
}

func buildZip(t *testing.T, offset int64, members ...archiveMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.SetOffset(offset)
	writeMembers(t, members, func(m archiveMember) (io.Writer, error) {
		if m.raw != nil {
			return zw.CreateRaw(m.raw)
		}
		method := m.method
		if method == 0 {
			method = zip.Deflate
		}
		return zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: method})
	}, zw.Close)
	return buf.Bytes()
}

func buildTar(t *testing.T, members ...archiveMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	writeMembers(t, members, func(m archiveMember) (io.Writer, error) {
		hdr := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.body)), Typeflag: tar.TypeReg}
		if m.dir {
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeDir, 0o755, 0
		}
		return tw, tw.WriteHeader(hdr)
	}, tw.Close)
	return buf.Bytes()
}

// writeMembers writes each member's body to the entry create starts for it,
// then closes the archive.
func writeMembers(t *testing.T, members []archiveMember, create func(archiveMember) (io.Writer, error), close func() error) {
	t.Helper()
	for _, m := range members {
		w, err := create(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, m.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := close(); err != nil {
		t.Fatal(err)
	}
}

func gzipData(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	if _, err := gw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const fooBarMetadata = "Metadata-Version: 2.1\nName: Foo_Bar\nVersion: 1.0\nSummary: A test\n\nLong description.\n"

// setuptoolsWheel is laid out as Debian 12's setuptools 66 + wheel 0.38
// build it: the dist-info directory keeps the unnormalized name.
func setuptoolsWheel(except ...string) []archiveMember {
	all := []archiveMember{
		{name: "foo_bar/__init__.py", body: "x = 1\n"},
		{name: "Foo_Bar-1.0.dist-info/METADATA", body: fooBarMetadata},
		{name: "Foo_Bar-1.0.dist-info/WHEEL", body: "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.38.4)\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{name: "Foo_Bar-1.0.dist-info/top_level.txt", body: "foo_bar\n"},
		{name: "Foo_Bar-1.0.dist-info/RECORD", body: "foo_bar/__init__.py,,\n"},
	}
	var out []archiveMember
outer:
	for _, m := range all {
		for _, e := range except {
			if strings.HasSuffix(m.name, e) {
				continue outer
			}
		}
		out = append(out, m)
	}
	return out
}

// deflateZeros is n zeros, DEFLATE-compressed about 1000:1.
func deflateZeros(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for i := 0; i < n; i += len(zeros) {
		if _, err := fw.Write(zeros[:min(len(zeros), n-i)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestInspectWheel(t *testing.T) {
	const wheel = "Foo_Bar-1.0-py3-none-any.whl"
	wf := index.WheelFilename{Name: "Foo_Bar", Version: "1.0"}

	lyingData := deflateZeros(t, 1<<20)
	plainTar := buildTar(t, archiveMember{name: "x", body: "tar"})

	tests := []struct {
		name    string
		file    []byte
		wantErr string // "" means accepted
	}{
		{"setuptools 66 wheel", buildZip(t, 0, setuptoolsWheel()...), ""},
		{"stored members", buildZip(t, 0, append(setuptoolsWheel(), archiveMember{name: "s.txt", body: "s", method: zip.Store})...), ""},
		{"not a zip", []byte("this is not a zip file at all"), "Invalid distribution file. File is not a zipfile"},
		{"tar named .whl", plainTar, "Invalid distribution file. File is not a zipfile"},
		{"zip/tar polyglot", append(append([]byte(nil), plainTar...), buildZip(t, int64(len(plainTar)), setuptoolsWheel()...)...),
			"Invalid distribution file. File is both a zip and a tar file"},
		{"bzip2 archiveMember", buildZip(t, 0, append(setuptoolsWheel(), archiveMember{raw: &zip.FileHeader{Name: "b", Method: 12}, body: "BZh9"})...),
			"Invalid distribution file. File does not use a supported compression type"},
		// The central directory's sizes are what is checked; the member is
		// never decompressed, so its data need not be real.
		{"zip bomb", buildZip(t, 0, append(setuptoolsWheel(), archiveMember{raw: &zip.FileHeader{
			Name: "zeros", Method: zip.Deflate, CompressedSize64: 2, UncompressedSize64: compressionRatioMinSize + 1,
		}, body: "\x03\x00"})...),
			"Invalid distribution file. File exceeds compression ratio of 50"},
		{"directory claims small sizes, METADATA expands", buildZip(t, 0, append(setuptoolsWheel("METADATA"), archiveMember{raw: &zip.FileHeader{
			Name: "Foo_Bar-1.0.dist-info/METADATA", Method: zip.Deflate, CompressedSize64: uint64(len(lyingData)), UncompressedSize64: 100,
		}, body: string(lyingData)})...),
			"Invalid distribution file. Foo_Bar-1.0.dist-info/METADATA cannot be read"},
		{"METADATA over the cap", buildZip(t, 0, append(setuptoolsWheel("METADATA"), archiveMember{raw: &zip.FileHeader{
			Name: "Foo_Bar-1.0.dist-info/METADATA", Method: zip.Store, CompressedSize64: 1, UncompressedSize64: maxCoreMetadataSize + 1,
		}, body: "x"})...),
			"Invalid distribution file. Foo_Bar-1.0.dist-info/METADATA is larger than 10 MiB"},
		{"parent directory archiveMember", buildZip(t, 0, append(setuptoolsWheel(), archiveMember{name: "../evil.py", body: "x"})...),
			"Invalid distribution file. Member name '../evil.py' is not a relative path inside the archive"},
		{"absolute archiveMember", buildZip(t, 0, append(setuptoolsWheel(), archiveMember{name: "/etc/evil", body: "x"})...),
			"Invalid distribution file. Member name '/etc/evil' is not a relative path inside the archive"},
		{"backslash parent archiveMember", buildZip(t, 0, append(setuptoolsWheel(), archiveMember{name: `foo\..\..\evil`, body: "x"})...),
			`Invalid distribution file. Member name 'foo\\..\\..\\evil' is not a relative path inside the archive`},
		{"duplicate archiveMember", buildZip(t, 0, append(setuptoolsWheel(), archiveMember{name: "Foo_Bar-1.0.dist-info/METADATA", body: "Name: other\n"})...),
			"Invalid distribution file. Member name 'Foo_Bar-1.0.dist-info/METADATA' occurs more than once"},
		{"no WHEEL", buildZip(t, 0, setuptoolsWheel("WHEEL")...),
			"Invalid distribution file. WHEEL not found at Foo_Bar-1.0.dist-info/WHEEL"},
		{"normalized dist-info for raw filename", buildZip(t, 0, archiveMember{name: "foo_bar-1.0.dist-info/WHEEL", body: "x"}),
			"Invalid distribution file. WHEEL not found at Foo_Bar-1.0.dist-info/WHEEL"},
		{"no RECORD", buildZip(t, 0, setuptoolsWheel("RECORD")...),
			"Wheel 'Foo_Bar-1.0-py3-none-any.whl' does not contain the required RECORD file: Foo_Bar-1.0.dist-info/RECORD"},
		{"no METADATA", buildZip(t, 0, setuptoolsWheel("METADATA")...),
			"Wheel 'Foo_Bar-1.0-py3-none-any.whl' does not contain the required METADATA file: Foo_Bar-1.0.dist-info/METADATA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := inspectWheel(writeTemp(t, wheel, tt.file), wheel, wf)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("inspectWheel: %v", err)
				}
				if string(md) != fooBarMetadata {
					t.Errorf("METADATA = %q, want %q", md, fooBarMetadata)
				}
				return
			}
			wantInvalid(t, err, tt.wantErr)
		})
	}
}

// checkSdist checks data as an sdist named filename: accepted when want is
// "", else refused as wantInvalid wants.
func checkSdist(t *testing.T, filename string, data []byte, want string) {
	t.Helper()
	err := inspectSdist(writeTemp(t, filename, data), filename)
	if want == "" {
		if err != nil {
			t.Fatalf("inspectSdist: %v", err)
		}
		return
	}
	wantInvalid(t, err, want)
}

// wantInvalid wants an index.ErrInvalid error whose client text starts with
// want.
func wantInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want error %q", want)
	}
	if !errors.Is(err, index.ErrInvalid) {
		t.Fatalf("error %v does not wrap index.ErrInvalid", err)
	}
	if got := errDetail(err); !strings.HasPrefix(got, want) {
		t.Errorf("error text\n got %q\nwant %q", got, want)
	}
}

func TestInspectWheelFilenameFallback(t *testing.T) {
	const wheel = "foo-1.0-py3-none-any.whl"
	file := buildZip(t, 0,
		archiveMember{name: "foo-1.0.dist-info/WHEEL", body: "w"},
		archiveMember{name: "foo-1.0.dist-info/RECORD", body: "r"},
		archiveMember{name: "foo-1.0.dist-info/METADATA", body: "Name: foo\n"})
	if _, err := inspectWheel(writeTemp(t, wheel, file), wheel, index.WheelFilename{}); err != nil {
		t.Fatal(err)
	}
}

func TestInspectSdist(t *testing.T) {
	pkgInfo := "Metadata-Version: 1.0\nName: Foo_Bar\nVersion: 1.0\n"
	// distutils (CPython 3.11 sdist) writes directory entries and PKG-INFO.
	distutils := []archiveMember{
		{name: "Foo_Bar-1.0", dir: true},
		{name: "Foo_Bar-1.0/PKG-INFO", body: pkgInfo},
		{name: "Foo_Bar-1.0/setup.py", body: "from distutils.core import setup\n"},
		{name: "Foo_Bar-1.0/foo_bar", dir: true},
		{name: "Foo_Bar-1.0/foo_bar/__init__.py", body: ""},
	}
	zipSdist := []archiveMember{
		{name: "Foo_Bar-1.0/", body: ""},
		{name: "Foo_Bar-1.0/PKG-INFO", body: pkgInfo},
		{name: "Foo_Bar-1.0/setup.py", body: ""},
	}
	// A tar whose one member is 65 MiB of zeros, as a gzip multistream: one
	// archiveMember for the header, the same 1 MiB of zeros 65 times, the end blocks.
	// The tar header's size is honest; a bomb needs no lie, only zeros.
	bombTar := func() []byte {
		const mib = 1 << 20
		n := compressionRatioMinSize/mib + 1
		var head bytes.Buffer
		if err := tar.NewWriter(&head).WriteHeader(&tar.Header{Name: "Foo_Bar-1.0/zeros", Mode: 0o644, Size: int64(n * mib)}); err != nil {
			t.Fatal(err)
		}
		b := gzipData(t, head.Bytes())
		chunk := gzipData(t, make([]byte, mib))
		for range n {
			b = append(b, chunk...)
		}
		return append(b, gzipData(t, make([]byte, 2*tarBlockSize))...) // end-of-archive blocks
	}()
	truncated := gzipData(t, buildTar(t, distutils...))
	truncated = truncated[:len(truncated)-6]
	tarGz := gzipData(t, buildTar(t, distutils...))

	tests := []struct {
		name     string
		filename string
		file     []byte
		wantErr  string
	}{
		{"distutils tar.gz", "Foo_Bar-1.0.tar.gz", tarGz, ""},
		{"without directory entries", "Foo_Bar-1.0.tar.gz", gzipData(t, buildTar(t, distutils[1], distutils[2])), ""},
		{"./ prefix", "Foo_Bar-1.0.tar.gz", gzipData(t, buildTar(t, archiveMember{name: "./", dir: true}, archiveMember{name: "./Foo_Bar-1.0/PKG-INFO", body: pkgInfo})), ""},
		{"zip sdist", "Foo_Bar-1.0.zip", buildZip(t, 0, zipSdist...), ""},
		{"zip sdist without directory entries", "Foo_Bar-1.0.zip", buildZip(t, 0, zipSdist[1:]...), ""},
		{"upper-case extension", "Foo_Bar-1.0.ZIP", buildZip(t, 0, zipSdist...), ""},

		{"not gzip", "Foo_Bar-1.0.tar.gz", []byte("plain text"), "Invalid distribution file. File is not a tarfile"},
		{"uncompressed tar", "Foo_Bar-1.0.tar.gz", buildTar(t, distutils...), "Invalid distribution file. File is not a tarfile"},
		{"gzip of garbage", "Foo_Bar-1.0.tar.gz", gzipData(t, bytes.Repeat([]byte("garbage!"), 200)), "Invalid distribution file. File is not a tarfile"},
		{"truncated gzip", "Foo_Bar-1.0.tar.gz", truncated, "Invalid distribution file. File is not a tarfile"},
		{"empty tar", "Foo_Bar-1.0.tar.gz", gzipData(t, buildTar(t)), "Invalid distribution file. File is not a tarfile"},
		{"tar.gz that is also a zip", "Foo_Bar-1.0.tar.gz", append(append([]byte(nil), tarGz...), buildZip(t, int64(len(tarGz)), zipSdist...)...),
			"Invalid distribution file. File is both a zip and a tar file"},
		{"gzip bomb", "Foo_Bar-1.0.tar.gz", bombTar, "Invalid distribution file. File exceeds compression ratio of 50"},
		{"two top-level directories", "Foo_Bar-1.0.tar.gz", gzipData(t, buildTar(t, distutils[1], archiveMember{name: "Other-1.0/PKG-INFO", body: pkgInfo})),
			"Invalid distribution file. Incorrect number of top-level directories in sdist"},
		{"files at the top", "Foo_Bar-1.0.tar.gz", gzipData(t, buildTar(t, archiveMember{name: "PKG-INFO", body: pkgInfo})),
			"Invalid distribution file. Incorrect number of top-level directories in sdist"},
		{"no PKG-INFO", "Foo_Bar-1.0.tar.gz", gzipData(t, buildTar(t, distutils[0], distutils[2])),
			"Invalid distribution file. PKG-INFO not found at Foo_Bar-1.0/PKG-INFO"},
		{"PKG-INFO is a directory", "Foo_Bar-1.0.tar.gz", gzipData(t, buildTar(t, archiveMember{name: "Foo_Bar-1.0/PKG-INFO", dir: true})),
			"Invalid distribution file. PKG-INFO not found at Foo_Bar-1.0/PKG-INFO"},
		{"PKG-INFO nested too deep", "Foo_Bar-1.0.zip", buildZip(t, 0, archiveMember{name: "Foo_Bar-1.0/sub/PKG-INFO", body: pkgInfo}),
			"Invalid distribution file. PKG-INFO not found at Foo_Bar-1.0/PKG-INFO"},
		{"parent directory archiveMember", "Foo_Bar-1.0.tar.gz", gzipData(t, buildTar(t, distutils[1], archiveMember{name: "Foo_Bar-1.0/../../evil", body: "x"})),
			"Invalid distribution file. Member name 'Foo_Bar-1.0/../../evil' is not a relative path inside the archive"},
		{"absolute archiveMember", "Foo_Bar-1.0.tar.gz", gzipData(t, buildTar(t, distutils[1], archiveMember{name: "/etc/passwd", body: "x"})),
			"Invalid distribution file. Member name '/etc/passwd' is not a relative path inside the archive"},
		{"zip sdist not a zip", "Foo_Bar-1.0.zip", tarGz, "Invalid distribution file. File is not a zipfile"},
		{"zip sdist two top-level directories", "Foo_Bar-1.0.zip", buildZip(t, 0, zipSdist[1], archiveMember{name: "b/x", body: "x"}),
			"Invalid distribution file. Incorrect number of top-level directories in sdist"},
		{"zip sdist no PKG-INFO", "Foo_Bar-1.0.zip", buildZip(t, 0, zipSdist[0], zipSdist[2]),
			"Invalid distribution file. PKG-INFO not found at Foo_Bar-1.0/PKG-INFO"},
		{"other extension", "Foo_Bar-1.0.tar.bz2", tarGz, "Invalid file extension: Use .tar.gz, .whl or .zip extension."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSdist(t, tt.filename, tt.file, tt.wantErr) })
	}
}

func TestInspectMissingFile(t *testing.T) {
	// A vanished temp file is our fault: not ErrInvalid, so a 500.
	err := inspectSdist(filepath.Join(t.TempDir(), "gone.tar.gz"), "gone.tar.gz")
	if err == nil || errors.Is(err, index.ErrInvalid) {
		t.Fatalf("err = %v, want a non-ErrInvalid error", err)
	}
}

func TestValidTarHeader(t *testing.T) {
	block := buildTar(t, archiveMember{name: "x", body: "y"})[:tarBlockSize]
	if !validTarHeader(block) {
		t.Fatal("header written by archive/tar rejected")
	}
	bad := append([]byte(nil), block...)
	bad[0] ^= 1
	if validTarHeader(bad) {
		t.Error("header with a wrong checksum accepted")
	}
	if validTarHeader(make([]byte, tarBlockSize)) {
		t.Error("zero block accepted")
	}
}

func TestCheckCoreMetadata(t *testing.T) {
	v10, err := index.ParseVersion("1.0")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		metadata string
		form     string
		wantErr  string
	}{
		{"same", fooBarMetadata, "Foo_Bar", ""},
		{"normalized names agree", fooBarMetadata, "foo-bar", ""},
		{"PEP 440 equal versions", "Name: foo-bar\nVersion: 1.0.0\n", "foo.bar", ""},
		{"CRLF and folded header", "Metadata-Version: 2.1\r\nName: Foo_Bar\r\nSummary: a\r\n  b\r\nVersion: 1.0\r\n\r\nbody\r\n", "foo_bar", ""},
		{"headers end at the blank line", "Name: Foo_Bar\nVersion: 1.0\n\nName: other\n", "foo_bar", ""},
		{"first Name wins", "Name: Foo_Bar\nName: other\nVersion: 1.0\n", "foo_bar", ""},
		{"case-insensitive header names", "name: Foo_Bar\nVERSION: 1.0\n", "foo_bar", ""},
		{"other name", "Name: other\nVersion: 1.0\n", "foo_bar",
			"Name in the distribution file's metadata ('other') does not match the uploaded name ('foo_bar')."},
		{"other version", "Name: Foo_Bar\nVersion: 1.1\n", "foo_bar",
			"Version in the distribution file's metadata ('1.1') does not match the uploaded version ('1.0')."},
		{"no Name", "Version: 1.0\n", "foo_bar", "The metadata in the distribution file has no Name field."},
		{"Name only in the body", "Version: 1.0\n\nName: Foo_Bar\n", "foo_bar", "The metadata in the distribution file has no Name field."},
		{"no Version", "Name: Foo_Bar\n", "foo_bar", "The metadata in the distribution file has no Version field."},
		{"bad Version", "Name: Foo_Bar\nVersion: one\n", "foo_bar", "Version in the distribution file's metadata ('one') is not a valid version."},
		{"empty", "", "foo_bar", "The metadata in the distribution file has no Name field."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCoreMetadata([]byte(tt.metadata), tt.form, v10)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantInvalid(t, err, tt.wantErr)
		})
	}
}
