package main

import (
	"context"
	"fmt"

	"github.com/cheeseshop/cheeseshop/internal/repair"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// errProblems makes check exit non-zero after printing its problems.
type errProblems int

func (n errProblems) Error() string { return fmt.Sprintf("check: %d problems", int(n)) }

func cmdCheck(ctx context.Context, e env, args []string) error {
	var c common
	var skipHashes bool
	fs := newFlags(e, "check", "check [flags]", &c)
	fs.BoolVar(&skipHashes, "skip-hashes", false, "compare file sizes only, without reading every file to hash it")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("check: unexpected arguments %q", fs.Args())
	}
	store, _, done, err := openDataStore(ctx, e, &c)
	if err != nil {
		return err
	}
	defer done()
	rep, err := repair.Check(ctx, repair.CheckConfig{
		DataDir:    c.dataDir,
		SkipHashes: skipHashes,
	}, store, staticgen.Renderer{}, func(p repair.Problem) { fmt.Fprintln(e.stdout, p) })
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	fmt.Fprintf(e.stdout, "checked %d files and %d projects' pages: %d problems\n", rep.Files, rep.Pages, rep.Problems)
	if rep.Problems > 0 {
		return errProblems(rep.Problems)
	}
	return nil
}
