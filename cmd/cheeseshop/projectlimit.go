package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// cmdProjectLimit shows or sets a project's own size limits (PyPI's model):
// the largest file an upload may add, in place of serve's --max-file-size,
// and the largest total size of its files.
func cmdProjectLimit(ctx context.Context, e env, args []string) error {
	var fileSize, totalSize sizeFlag
	ac := adminCmd{name: "project limit", synopsis: "project limit PROJECT [--file-size SIZE] [--total-size SIZE] [flags]", minArgs: 1, maxArgs: 1,
		flags: func(fs *flagSet) {
			fs.Var(&fileSize, "file-size", "largest file an upload to PROJECT may add, in place of serve's --max-file-size; "+
				"SIZE is bytes or a number with KB, MB, GB or TB (binary: 1 MB = 1 MiB, as PyPI counts), or 'default' to remove it")
			fs.Var(&totalSize, "total-size", "largest total size of PROJECT's files; SIZE as for --file-size, or 'none' to remove it")
		}}
	return runStore(ctx, e, args, ac, func(store *index.Store, _ *common, pos []string) error {
		norm := index.Normalize(pos[0])
		var name string
		var l index.Limits
		if fileSize.set || totalSize.set {
			p, nl, err := store.SetProjectLimits(ctx, norm, fileSize.ptr(), totalSize.ptr())
			if err != nil {
				return err
			}
			name, l = p.Name, nl
		} else {
			p, err := store.Project(ctx, norm)
			if err != nil {
				return err
			}
			if l, _, err = store.ProjectLimits(ctx, norm); err != nil {
				return err
			}
			name = p.Name
		}
		file, total := "the server's --max-file-size", "none"
		if l.FileSize > 0 {
			file = limitText(l.FileSize)
		}
		if l.TotalSize > 0 {
			total = limitText(l.TotalSize)
		}
		fmt.Fprintf(e.stdout, "%s: file size limit %s, total size limit %s\n", name, file, total)
		return nil
	})
}

// limitText shows a limit in PyPI's units and in bytes.
func limitText(n int64) string {
	if t := index.SizeText(n); !strings.HasSuffix(t, " bytes") {
		return fmt.Sprintf("%s (%d bytes)", t, n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// sizeFlag is a size limit given on the command line: set says it was
// given; 0 removes the limit.
type sizeFlag struct {
	n   int64
	set bool
}

func (s *sizeFlag) String() string {
	if s == nil || !s.set {
		return ""
	}
	return strconv.FormatInt(s.n, 10)
}

func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	s.n, s.set = n, true
	return nil
}

func (s *sizeFlag) ptr() *int64 {
	if !s.set {
		return nil
	}
	return &s.n
}

// parseSize reads "1073741824", "1GB", "1 GiB", "500MB", "100mb"; units are
// binary, as PyPI's "MB" is a MiB. "default", "none" and 0 mean no limit.
func parseSize(v string) (int64, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	if s == "DEFAULT" || s == "NONE" {
		return 0, nil
	}
	shift := 0
	for _, u := range []struct {
		suffix string
		shift  int
	}{{"TIB", 40}, {"GIB", 30}, {"MIB", 20}, {"KIB", 10}, {"TB", 40}, {"GB", 30}, {"MB", 20}, {"KB", 10}, {"B", 0}} {
		if strings.HasSuffix(s, u.suffix) {
			s, shift = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("size %q: want bytes or a whole number of KB, MB, GB or TB (e.g. 2GB), or 'default'", v)
	}
	return n << shift, nil
}
