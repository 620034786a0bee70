package readme

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Defaults of the docutils process's limits.
const (
	DefaultRSTTimeout = 10 * time.Second
	DefaultRSTMemory  = 512 << 20
)

// maxRSTOutput bounds what is read back from docutils.
const maxRSTOutput = 16 << 20

var errNoDocutils = errors.New("readme: docutils is not installed")

// rstScript runs docutils with the settings readme_renderer (PyPI's
// renderer) uses that matter for safety: no raw HTML, no file insertion,
// no configuration files read; the process limits its own CPU time and
// address space before importing anything. Exit status 3 means docutils
// is missing.
const rstScript = `import resource, sys
mem, cpu = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
try:
    from docutils.core import publish_parts
except ImportError:
    sys.exit(3)
import io
src = sys.stdin.buffer.read().decode("utf-8", "replace")
parts = publish_parts(src, writer_name="html5", settings_overrides={
    "raw_enabled": False,
    "file_insertion_enabled": False,
    "_disable_config": True,
    "halt_level": 3,
    "report_level": 5,
    "warning_stream": io.StringIO(),
    "doctitle_xform": False,
    "sectsubtitle_xform": False,
    "initial_header_level": 2,
    "syntax_highlight": "none",
    "math_output": "HTML",
    "input_encoding": "unicode",
    "output_encoding": "unicode",
    "embed_stylesheet": False,
    "id_prefix": "",
})
sys.stdout.write(parts["body"])
`

type rstRunner struct {
	python  string
	timeout time.Duration
	memory  int64
}

func newRSTRunner(cfg Config) rstRunner {
	r := rstRunner{python: cfg.Python, timeout: cfg.RSTTimeout, memory: cfg.RSTMemory}
	if r.python == "" {
		r.python = "/usr/bin/python3"
	}
	if r.timeout <= 0 {
		r.timeout = DefaultRSTTimeout
	}
	if r.memory <= 0 {
		r.memory = DefaultRSTMemory
	}
	return r
}

type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errors.New("readme: docutils output too large")
	}
	return b.Buffer.Write(p)
}

// render runs docutils on src and returns its HTML body, unsanitised.
func (r rstRunner) render(ctx context.Context, src string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cpu := max(1, int(r.timeout/time.Second))
	cmd := exec.CommandContext(ctx, r.python, "-I", "-c", rstScript,
		strconv.FormatInt(r.memory, 10), strconv.Itoa(cpu))
	// -I: no environment variables, no user site, no script directory on
	// the path; only the system's packages.
	cmd.Env = []string{"LC_ALL=C.UTF-8"}
	cmd.Stdin = strings.NewReader(src)
	out := &limitedBuffer{max: maxRSTOutput}
	cmd.Stdout = out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return nil, errNoDocutils
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		return nil, errNoDocutils
	case err != nil:
		return nil, err
	}
	return out.Bytes(), nil
}
