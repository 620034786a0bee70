package upload

import (
	"errors"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

func TestCheckNewProjectName(t *testing.T) {
	const stdlibTail = " isn't allowed (conflict with Python Standard Library module name). See https://pypi.org/help/#project-name for more information."
	tests := []struct {
		name string
		want string // "" means allowed
	}{
		{"foo-bar", ""},
		{"requests", ""},
		{"thread-pool", ""},
		{"json", "The name 'json'" + stdlibTail},       // PROTOCOL.md 9, case 44
		{"JSON", "The name 'JSON'" + stdlibTail},       // compared normalized
		{"Tkinter", "The name 'Tkinter'" + stdlibTail}, // Python 2 only
		{"urllib2", "The name 'urllib2'" + stdlibTail},
		{"distutils", "The name 'distutils'" + stdlibTail}, // removed in 3.12
		{"tomllib", "The name 'tomllib'" + stdlibTail},     // added in 3.11
		{"xml-rpc", ""},                                    // xmlrpc normalizes differently
		{"xmlrpc", "The name 'xmlrpc'" + stdlibTail},
		{"thread", "The name 'thread'" + stdlibTail}, // Python 2's thread module
		{"-foo", "The name '-foo' is invalid."},
		{"", "The name '' is invalid."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkNewProjectName(tt.name)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, index.ErrInvalid) {
				t.Fatalf("err = %v, want index.ErrInvalid", err)
			}
			if got := errDetail(err); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestEmbeddedLists guards the generated data against an empty or truncated
// regeneration.
func TestEmbeddedLists(t *testing.T) {
	if n := len(stdlibNames()); n < 250 {
		t.Errorf("only %d stdlib names", n)
	}
	for _, name := range []string{"os", "sys", "asyncio", "configparser", "zoneinfo"} {
		if !stdlibNames()[index.Normalize(name)] {
			t.Errorf("stdlib list lacks %q", name)
		}
	}
	if stdlibNames()[index.Normalize("_thread")] || stdlibNames()["-thread"] {
		t.Error("private module names are in the stdlib set")
	}
	cs := classifiers()
	if n := len(cs.valid); n < 800 {
		t.Errorf("only %d classifiers", n)
	}
	for _, c := range []string{
		"Programming Language :: Python :: 3",
		"Programming Language :: Python :: 3.13",
		"License :: OSI Approved :: MIT License",
		"Development Status :: 5 - Production/Stable",
	} {
		if !cs.valid[c] {
			t.Errorf("classifier list lacks %q", c)
		}
	}
	for old := range cs.deprecated {
		if cs.valid[old] {
			t.Errorf("%q is both current and deprecated", old)
		}
	}
	if got := checkClassifiers([]string{"Framework :: Django", "Framework :: Django"}); len(got) != 0 {
		t.Errorf("valid classifiers refused: %v", got)
	}
}
