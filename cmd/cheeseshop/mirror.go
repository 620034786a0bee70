package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/mirror"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

// mirrorEnvAuthHeader names the environment variable with the extra header
// for http(s) targets. It is read from the environment only, never a flag,
// so that the secret does not show in the process list.
const mirrorEnvAuthHeader = "CHEESESHOP_MIRROR_AUTH_HEADER"

// mirrorFlags are the mirror settings serve and the mirror commands share.
type mirrorFlags struct {
	target      string
	publicURL   string
	authHeader  string // from the environment only
	attempts    int
	backoff     time.Duration
	backoffMax  time.Duration
	observePush func(time.Duration, error) // serve's metrics, when set
}

func (m *mirrorFlags) register(fs *flagSet) {
	fs.StringVar(&m.target, "mirror", fs.envString("CHEESESHOP_MIRROR", ""),
		"push files to this CDN origin and link them there once verified: s3://bucket/prefix?endpoint=URL&region=NAME, "+
			"http(s)://host/dir (HTTP PUT; extra header from env "+mirrorEnvAuthHeader+"=\"Name: value\") or file:///dir; "+
			"empty: files are served locally only (env CHEESESHOP_MIRROR)")
	fs.StringVar(&m.publicURL, "mirror-public-url", fs.envString("CHEESESHOP_MIRROR_PUBLIC_URL", ""),
		"base URL under which the CDN serves what was pushed; default: the PUT URL or the bucket's URL (env CHEESESHOP_MIRROR_PUBLIC_URL)")
	fs.IntVar(&m.attempts, "mirror-attempts", int(fs.envInt("CHEESESHOP_MIRROR_ATTEMPTS", 10)),
		"attempts per file before it is marked failed and keeps its local URL (env CHEESESHOP_MIRROR_ATTEMPTS)")
	fs.DurationVar(&m.backoff, "mirror-backoff", fs.envDuration("CHEESESHOP_MIRROR_BACKOFF", 30*time.Second),
		"wait after a file's first failed attempt; it doubles per attempt, with jitter (env CHEESESHOP_MIRROR_BACKOFF)")
	fs.DurationVar(&m.backoffMax, "mirror-backoff-max", fs.envDuration("CHEESESHOP_MIRROR_BACKOFF_MAX", time.Hour),
		"longest wait between attempts (env CHEESESHOP_MIRROR_BACKOFF_MAX)")
	m.authHeader = fs.e.getenv(mirrorEnvAuthHeader)
	fs.check(func() error { return m.check(fs) })
}

// check reports every problem with the mirror flags at once.
func (m *mirrorFlags) check(fs *flagSet) error {
	var errs []error
	if m.target == "" && m.publicURL != "" {
		errs = append(errs, fmt.Errorf("%s needs --mirror", fs.origin("mirror-public-url", "CHEESESHOP_MIRROR_PUBLIC_URL")))
	}
	if m.attempts < 1 {
		errs = append(errs, fmt.Errorf("%s must be at least 1", fs.origin("mirror-attempts", "CHEESESHOP_MIRROR_ATTEMPTS")))
	}
	if m.backoff <= 0 || m.backoffMax < m.backoff {
		errs = append(errs, fmt.Errorf("%s must be positive and at most %s",
			fs.origin("mirror-backoff", "CHEESESHOP_MIRROR_BACKOFF"), fs.origin("mirror-backoff-max", "CHEESESHOP_MIRROR_BACKOFF_MAX")))
	}
	return errors.Join(errs...)
}

// openTarget opens the --mirror target, or returns nil without one. The
// AWS configuration of an s3 target is loaded here, from the SDK's
// standard sources (AWS_* environment variables, shared files, instance
// roles): internal/mirror reads nothing from the process.
func (m *mirrorFlags) openTarget(ctx context.Context) (mirror.ObjectStore, error) {
	if m.target == "" {
		return nil, nil
	}
	opts := mirror.TargetOptions{PublicURL: m.publicURL, AuthHeader: m.authHeader}
	if u, err := url.Parse(m.target); err == nil && u.Scheme == "s3" {
		if opts.AWS, err = config.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("--mirror: aws config: %w", err)
		}
	}
	target, err := mirror.OpenTarget(ctx, m.target, opts)
	if err != nil {
		return nil, fmt.Errorf("--mirror: %w", err)
	}
	return target, nil
}

// newMirror builds the worker that serve and `mirror run` run on target
// (openTarget). Without a target it returns a run function that does
// nothing, so that serve can start it unconditionally.
func (m *mirrorFlags) newMirror(target mirror.ObjectStore, dataDir string, store *index.Store, pages mirror.Pages, log *slog.Logger) (func(context.Context) error, error) {
	if target == nil {
		return func(context.Context) error { return nil }, nil
	}
	w, err := mirror.New(mirror.Config{
		DataDir:     dataDir,
		MaxAttempts: m.attempts,
		BackoffBase: m.backoff,
		BackoffMax:  m.backoffMax,
		ObservePush: m.observePush,
	}, store, target, pages, log)
	if err != nil {
		return nil, err
	}
	authName, _, _ := strings.Cut(m.authHeader, ":")
	log.Info("mirroring files", "mirror", redactTarget(m.target), "public_url", target.PublicURL(""),
		"auth_header", authName, "attempts", m.attempts, "backoff", m.backoff, "backoff_max", m.backoffMax)
	return w.Run, nil
}

// redactTarget hides a password in a target URL for logging.
func redactTarget(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// mirrorCmd is what every mirror command starts from: its flags parsed
// and checked, then (open) the database.
type mirrorCmd struct {
	common
	mirror mirrorFlags
	store  *index.Store
	args   []string // positional arguments after the flags
	close  func()
}

// parseMirrorCmd parses and checks the shared flags and extra ones from
// extra; it does not touch the database.
func parseMirrorCmd(e env, name, synopsis string, args []string, extra func(*flagSet)) (*mirrorCmd, error) {
	mc := &mirrorCmd{}
	fs := newFlags(e, name, synopsis, &mc.common)
	mc.mirror.register(fs)
	if extra != nil {
		extra(fs)
	}
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	mc.args = fs.Args()
	return mc, nil
}

// open opens the database (openCurrent); close closes it.
func (mc *mirrorCmd) open(ctx context.Context) error {
	pool, err := mc.openCurrent(ctx)
	if err != nil {
		return err
	}
	mc.store, mc.close = index.NewStore(pool), pool.Close
	return nil
}

func cmdMirrorRun(ctx context.Context, e env, args []string) error {
	mc, err := parseMirrorCmd(e, "mirror run", "mirror run --mirror URL [flags]", args, nil)
	if err != nil {
		return err
	}
	if len(mc.args) > 0 {
		return fmt.Errorf("mirror run: unexpected arguments %q", mc.args)
	}
	if mc.mirror.target == "" {
		return errors.New("mirror run: --mirror (or CHEESESHOP_MIRROR) is required")
	}
	target, err := mc.mirror.openTarget(ctx)
	if err != nil {
		return err
	}
	if err := mc.open(ctx); err != nil {
		return err
	}
	defer mc.close()
	if err := mc.resolveDataDir(ctx, mc.store, dirWrite); err != nil {
		return err
	}
	pages := staticgen.New(staticgen.Config{DataDir: mc.dataDir}, mc.store, mc.log)
	run, err := mc.mirror.newMirror(target, mc.dataDir, mc.store, pages, mc.log)
	if err != nil {
		return err
	}
	return run(ctx)
}

func cmdMirrorStatus(ctx context.Context, e env, args []string) error {
	var stateFlag string
	mc, err := parseMirrorCmd(e, "mirror status", "mirror status [--state failed,pending,mirrored,deleting] [flags]", args,
		func(fs *flagSet) {
			fs.StringVar(&stateFlag, "state", "", "list only files in these states, comma-separated: pending, mirrored, failed, "+
				"deleting (a deleted file's CDN copy being removed)")
		})
	if err != nil {
		return err
	}
	if len(mc.args) > 0 {
		return fmt.Errorf("mirror status: unexpected arguments %q", mc.args)
	}
	var states []index.MirrorState
	if stateFlag != "" {
		for _, s := range strings.Split(stateFlag, ",") {
			st := index.MirrorState(strings.TrimSpace(s))
			if st != index.MirrorPending && st != index.MirrorMirrored && st != index.MirrorFailed && st != index.MirrorDeleting {
				return fmt.Errorf("mirror status: --state %q: want pending, mirrored, failed or deleting", s)
			}
			states = append(states, st)
		}
	}
	if err := mc.open(ctx); err != nil {
		return err
	}
	defer mc.close()
	var list []index.MirrorStatus
	if pushStates := slices.DeleteFunc(slices.Clone(states), func(st index.MirrorState) bool { return st == index.MirrorDeleting }); len(states) == 0 || len(pushStates) > 0 {
		if list, err = mc.store.MirrorStatuses(ctx, pushStates...); err != nil {
			return err
		}
	}
	// Removals of deleted files' copies: state deleting, or failed.
	dels, err := mc.store.MirrorDeletions(ctx)
	if err != nil {
		return err
	}
	dels = slices.DeleteFunc(dels, func(d index.MirrorStatus) bool { return len(states) > 0 && !slices.Contains(states, d.State) })
	list = append(list, dels...)
	counts := map[index.MirrorState]int{}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tPROJECT\tFILE\tATTEMPTS\tNEXT ATTEMPT / CDN URL\tLAST ERROR")
	for _, s := range list {
		counts[s.State]++
		where := s.CDNURL
		switch s.State {
		case index.MirrorPending, index.MirrorDeleting:
			where = s.NextAttempt.UTC().Format(time.RFC3339)
		case index.MirrorFailed:
			where = "-"
		}
		lastErr := strings.Join(strings.Fields(s.LastError), " ")
		if lastErr == "" {
			lastErr = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", s.State, s.Project, s.Filename, s.Attempts, where, lastErr)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	failedDels := 0
	for _, d := range dels {
		if d.State == index.MirrorFailed {
			failedDels++
		}
	}
	fmt.Fprintf(e.stdout, "%d files: %d mirrored, %d pending, %d failed\n", len(list)-len(dels),
		counts[index.MirrorMirrored], counts[index.MirrorPending], counts[index.MirrorFailed]-failedDels)
	fmt.Fprintf(e.stdout, "%d CDN deletions: %d pending, %d failed\n", len(dels), counts[index.MirrorDeleting], failedDels)
	return nil
}

func cmdMirrorRetry(ctx context.Context, e env, args []string) error {
	var all bool
	file, args := splitName(args)
	mc, err := parseMirrorCmd(e, "mirror retry", "mirror retry FILE | --all-failed [flags]", args,
		func(fs *flagSet) {
			fs.BoolVar(&all, "all-failed", false, "retry every failed file")
		})
	if err != nil {
		return err
	}
	rest := mc.args
	if file == "" && len(rest) == 1 {
		file, rest = rest[0], nil
	}
	if len(rest) > 0 || (file == "") == !all {
		return errors.New("mirror retry: give one FILE or --all-failed")
	}
	if err := mc.open(ctx); err != nil {
		return err
	}
	defer mc.close()
	if all {
		n, err := mc.store.RetryFailedMirrors(ctx)
		if err != nil {
			return err
		}
		d, err := mc.store.RetryFailedMirrorDeletions(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d failed files are pending again\n", n)
		fmt.Fprintf(e.stdout, "%d failed CDN deletions are pending again\n", d)
		return nil
	}
	if err := mc.store.RetryMirror(ctx, file); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s is pending again\n", file)
	return nil
}
