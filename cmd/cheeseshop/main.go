// Command cheeseshop is a Python package index server: the legacy upload API
// for twine and setup.py, and static /simple pages (PEP 503, 691) rewritten
// by every upload before it returns.
//
// This package is wiring only: flags and environment into each package's
// Config, one logger, one pgx pool, the constructors, and the run loop.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "cheeseshop:", errorText(err))
		}
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
}

// env is everything a command gets from the process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand; run gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

var errUsage = errors.New("usage")

// commands is the table of subcommands. Multi-word commands ("user add") are
// their own entries.
var commands = map[string]command{}

func register(name string, c command) { commands[name] = c }

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	// Longest match first: "user add" before "user".
	for n := min(len(args), 3); n >= 1; n-- {
		name := joinArgs(args[:n])
		if c, ok := commands[name]; ok {
			return c.run(ctx, e, args[n:])
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func joinArgs(a []string) string {
	s := a[0]
	for _, x := range a[1:] {
		s += " " + x
	}
	return s
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "cheeseshop: a Python package index server (PEP 503/691 simple API, legacy upload API).")
	fmt.Fprintln(w, "\nUsage: cheeseshop COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-22s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'cheeseshop COMMAND --help' for the flags of a command.")
	fmt.Fprintln(w, "Every flag can also be set through the environment variable named in its help.")
}
