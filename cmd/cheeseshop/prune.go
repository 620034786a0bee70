package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/manage"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// retentionFlags are the policy flags prune and project retention share.
type retentionFlags struct {
	keep      int
	match     string
	olderThan time.Duration
	policy    index.Retention
	given     bool // any of the three was given
}

func (f *retentionFlags) register(fs *flagSet) {
	fs.IntVar(&f.keep, "keep", -1, "keep this many of the matching releases, highest versions first")
	fs.StringVar(&f.match, "match", "dev", "which releases the policy applies to: dev (1.0.dev3), pre (dev releases and alphas, betas, rcs) or all")
	fs.DurationVar(&f.olderThan, "older-than", -1, "prune only matching releases uploaded longer ago than this (0s: any age), e.g. 720h")
}

// check makes the policy from the flags: --keep and --older-than are both
// needed as soon as one policy flag is given (required says whether they
// are needed at all).
func (f *retentionFlags) check(fs *flagSet, required bool) error {
	fs.Visit(func(fl *flag.Flag) {
		f.given = f.given || fl.Name == "keep" || fl.Name == "match" || fl.Name == "older-than"
	})
	if !f.given && !required {
		return nil
	}
	var errs []error
	if f.keep < 0 {
		errs = append(errs, errors.New("--keep N is needed (0 or more)"))
	}
	if f.olderThan < 0 {
		errs = append(errs, errors.New("--older-than DURATION is needed (0s or more)"))
	}
	m, err := index.ParseRetentionMatch(f.match)
	if err != nil {
		errs = append(errs, fmt.Errorf("--match: %s", errorText(err)))
	}
	f.policy = index.Retention{Keep: f.keep, Match: m, OlderThan: f.olderThan}
	return errors.Join(errs...)
}

// cmdPrune deletes the releases a retention policy picks: the one given
// by the flags, or each project's stored one.
func cmdPrune(ctx context.Context, e env, args []string) error {
	var (
		rf     retentionFlags
		all    bool
		dryRun bool
	)
	mc := adminCmd{name: "prune", synopsis: "prune PROJECT...|--all [--keep N --match dev|pre|all --older-than DURATION] [--dry-run] [flags]",
		minArgs: 0, maxArgs: 1 << 20,
		flags: func(fs *flagSet) {
			rf.register(fs)
			fs.BoolVar(&all, "all", false, "every project (with the policy flags), or every project that has a stored policy (without them)")
			fs.BoolVar(&dryRun, "dry-run", false, "list what would be deleted and change nothing")
			fs.check(func() error { return rf.check(fs, false) })
		}}
	mc.args = func(pos []string) error {
		if all == (len(pos) > 0) {
			return errors.New("prune: name projects or give --all, not both or neither")
		}
		return nil
	}
	return runManageStore(ctx, e, args, mc, func(svc *manage.Service, store *index.Store, pos []string) error {
		type job struct {
			project index.Normalized
			policy  index.Retention
		}
		var jobs []job
		switch {
		case all && rf.given:
			names, err := store.ProjectNames(ctx)
			if err != nil {
				return err
			}
			for _, n := range names {
				jobs = append(jobs, job{n, rf.policy})
			}
		case all:
			policies, err := store.RetentionPolicies(ctx)
			if err != nil {
				return err
			}
			for _, pr := range policies {
				jobs = append(jobs, job{pr.Project, pr.Retention})
			}
		default:
			for _, name := range pos {
				norm := index.Normalize(name)
				if rf.given {
					jobs = append(jobs, job{norm, rf.policy})
					continue
				}
				r, ok, err := store.RetentionPolicy(ctx, norm)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("%s has no retention policy: give --keep, --match and --older-than, or set one with `cheeseshop project retention`", name)
				}
				jobs = append(jobs, job{norm, r})
			}
		}
		for _, j := range jobs {
			res, err := svc.Prune(ctx, string(j.project), j.policy, dryRun, "")
			if err != nil {
				return err
			}
			reportPrune(e, res, j.policy, dryRun)
		}
		return nil
	})
}

// reportPrune lists the releases and files a prune deleted (or would).
func reportPrune(e env, res index.PruneResult, policy index.Retention, dryRun bool) {
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	files := 0
	for _, r := range res.Releases {
		fmt.Fprintf(e.stdout, "%s %s %s (uploaded %s)\n", verb, res.Project.Name, r.Version, r.CreatedAt.UTC().Format(time.RFC3339))
		for _, f := range r.Files {
			fmt.Fprintf(e.stdout, "%s %s\n", verb, f.Filename)
		}
		files += len(r.Files)
	}
	switch {
	case len(res.Releases) == 0:
		fmt.Fprintf(e.stdout, "%s: nothing to prune (%s)\n", res.Project.Name, policy)
	case dryRun:
		fmt.Fprintf(e.stdout, "%s: would prune %d releases, %d files (%s); nothing changed\n", res.Project.Name, len(res.Releases), files, policy)
	default:
		fmt.Fprintf(e.stdout, "%s: pruned %d releases, %d files (%s, serial %d)\n", res.Project.Name, len(res.Releases), files, policy, res.Project.LastSerial)
	}
}

// cmdProjectRetention stores, shows or clears a project's retention
// policy, which serve applies every --prune-interval.
func cmdProjectRetention(ctx context.Context, e env, args []string) error {
	var (
		rf    retentionFlags
		clear bool
	)
	mc := adminCmd{name: "project retention", synopsis: "project retention PROJECT [--keep N --match dev|pre|all --older-than DURATION | --clear] [flags]",
		minArgs: 1, maxArgs: 1,
		flags: func(fs *flagSet) {
			rf.register(fs)
			fs.BoolVar(&clear, "clear", false, "remove the project's policy")
			fs.check(func() error {
				err := rf.check(fs, false)
				if clear && rf.given {
					return errors.New("--clear takes no policy flags")
				}
				return err
			})
		}}
	return runManageStore(ctx, e, args, mc, func(svc *manage.Service, store *index.Store, pos []string) error {
		norm := index.Normalize(pos[0])
		switch {
		case clear:
			had, err := store.ClearRetention(ctx, norm)
			if err != nil {
				return err
			}
			if !had {
				fmt.Fprintf(e.stdout, "%s: unchanged (no retention policy)\n", pos[0])
				return nil
			}
			fmt.Fprintf(e.stdout, "%s: retention policy removed\n", pos[0])
		case rf.given:
			p, err := store.SetRetention(ctx, norm, rf.policy)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: retention policy %s; the server applies it every --prune-interval, `cheeseshop prune %s` now\n", p.Name, rf.policy, p.Name)
		default:
			r, ok, err := store.RetentionPolicy(ctx, norm)
			if err != nil {
				return err
			}
			if !ok {
				if _, err := store.Project(ctx, norm); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s: no retention policy\n", pos[0])
				return nil
			}
			fmt.Fprintf(e.stdout, "%s: retention policy %s\n", pos[0], r)
		}
		return nil
	})
}

// pruneFlags is serve's flag for applying the stored retention policies.
type pruneFlags struct {
	interval time.Duration
}

func (f *pruneFlags) register(fs *flagSet) {
	fs.DurationVar(&f.interval, "prune-interval", fs.envDuration("CHEESESHOP_PRUNE_INTERVAL", 24*time.Hour),
		"how often the server applies the projects' stored retention policies (set with cheeseshop project retention); "+
			"the first pass runs this long after start, or after 5 minutes if sooner; 0 turns it off (env CHEESESHOP_PRUNE_INTERVAL)")
	fs.check(func() error {
		if f.interval < 0 {
			return fmt.Errorf("%s must be 0 or more", fs.origin("prune-interval", "CHEESESHOP_PRUNE_INTERVAL"))
		}
		return nil
	})
}

// runner returns the loop that prunes by policy every interval until ctx
// is done. A failed pass is logged; the next one tries again.
func (f *pruneFlags) runner(dataDir string, store *index.Store, pages *staticgen.Generator, log *slog.Logger) (func(context.Context) error, error) {
	if f.interval == 0 {
		return func(context.Context) error { return nil }, nil
	}
	svc, err := manage.New(manage.Config{DataDir: dataDir}, store, pages, log)
	if err != nil {
		return nil, err
	}
	log = log.With("component", "prune")
	return func(ctx context.Context) error {
		timer := time.NewTimer(min(f.interval, 5*time.Minute))
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
			n, err := svc.PruneByPolicy(ctx)
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				log.ErrorContext(ctx, "prune pass failed", "pruned_releases", n, "err", err)
			default:
				log.InfoContext(ctx, "prune pass done", "pruned_releases", n)
			}
			timer.Reset(f.interval)
		}
	}, nil
}
