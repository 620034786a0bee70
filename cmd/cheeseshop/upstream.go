package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/static"
	"github.com/cheeseshop/cheeseshop/internal/upstream"
)

// upstreamFlags are serve's settings of the upstream cache.
type upstreamFlags struct {
	url      string
	ttl      time.Duration
	timeout  time.Duration
	username string
	password string // from the environment only
}

func (u *upstreamFlags) register(fs *flagSet) {
	fs.StringVar(&u.url, "upstream", fs.envString("CHEESESHOP_UPSTREAM_URL", ""),
		"serve every project that does not exist here from this simple index (PEP 503/691 root, e.g. https://pypi.org/simple/), "+
			"cached in the data directory; local projects always win. Credentials may be given as user:password@ (env CHEESESHOP_UPSTREAM_URL)")
	fs.DurationVar(&u.ttl, "upstream-ttl", fs.envDuration("CHEESESHOP_UPSTREAM_TTL", upstream.DefaultTTL),
		"serve a cached upstream page this long before revalidating it (env CHEESESHOP_UPSTREAM_TTL)")
	fs.DurationVar(&u.timeout, "upstream-timeout", fs.envDuration("CHEESESHOP_UPSTREAM_TIMEOUT", upstream.DefaultTimeout),
		"give up on the upstream after this long: a page fetch, a file's first byte, a stalled download (env CHEESESHOP_UPSTREAM_TIMEOUT)")
	fs.StringVar(&u.username, "upstream-username", fs.envString("CHEESESHOP_UPSTREAM_USERNAME", ""),
		"user name for the upstream (Basic); the password comes from env CHEESESHOP_UPSTREAM_PASSWORD (env CHEESESHOP_UPSTREAM_USERNAME)")
	u.password = fs.e.getenv("CHEESESHOP_UPSTREAM_PASSWORD")
	fs.check(func() error {
		if u.url == "" {
			return nil
		}
		if _, err := upstream.ParseURL(u.url); err != nil {
			return fmt.Errorf("%s: %w", fs.origin("upstream", "CHEESESHOP_UPSTREAM_URL"), err)
		}
		if u.ttl <= 0 {
			return fmt.Errorf("%s must be positive", fs.origin("upstream-ttl", "CHEESESHOP_UPSTREAM_TTL"))
		}
		if u.timeout <= 0 {
			return fmt.Errorf("%s must be positive", fs.origin("upstream-timeout", "CHEESESHOP_UPSTREAM_TIMEOUT"))
		}
		return nil
	})
}

// newCache returns the upstream cache, or nil without --upstream.
func (u *upstreamFlags) newCache(dataDir string, store *index.Store, log *slog.Logger) (*upstream.Cache, error) {
	if u.url == "" {
		return nil, nil
	}
	c, err := upstream.New(upstream.Config{URL: u.url, Username: u.username, Password: u.password,
		TTL: u.ttl, Timeout: u.timeout, DataDir: dataDir}, store, log)
	if err != nil {
		return nil, err
	}
	log.Info("upstream cache", "upstream", upstream.Redact(u.url), "ttl", u.ttl, "timeout", u.timeout)
	return c, nil
}

// staticConfig is the static server's configuration with the cache, if any.
func (u *upstreamFlags) staticConfig(dataDir string, c *upstream.Cache) static.Config {
	cfg := static.Config{DataDir: dataDir}
	if c != nil {
		cfg.Cache, cfg.CacheTTL = c, c.TTL()
	}
	return cfg
}

func cmdUpstreamStatus(ctx context.Context, e env, args []string) error {
	return runStore(ctx, e, args, adminCmd{name: "upstream status", synopsis: "upstream status [flags]"}, func(store *index.Store, _ *common, _ []string) error {
		st, err := store.UpstreamStatus(ctx)
		if err != nil {
			return err
		}
		ratio := "-"
		if n := st.Hits + st.Misses; n > 0 {
			ratio = fmt.Sprintf("%.1f%%", 100*float64(st.Hits)/float64(n))
		}
		fmt.Fprintf(e.stdout, "cached projects   %d\n", st.Projects)
		fmt.Fprintf(e.stdout, "cached 404s       %d\n", st.NotFound)
		fmt.Fprintf(e.stdout, "files listed      %d\n", st.Files)
		fmt.Fprintf(e.stdout, "files cached      %d\n", st.CachedFiles)
		fmt.Fprintf(e.stdout, "bytes cached      %d\n", st.Bytes)
		fmt.Fprintf(e.stdout, "hits              %d\n", st.Hits)
		fmt.Fprintf(e.stdout, "misses            %d\n", st.Misses)
		fmt.Fprintf(e.stdout, "hit ratio         %s\n", ratio)
		fmt.Fprintf(e.stdout, "stale served      %d\n", st.StaleServed)
		fmt.Fprintf(e.stdout, "claimed names     %d\n", st.Claims)
		return nil
	})
}

func cmdUpstreamPurge(ctx context.Context, e env, args []string) error {
	var all bool
	ac := adminCmd{name: "upstream purge", synopsis: "upstream purge NAME... | --all [flags]", minArgs: 0, maxArgs: 1 << 20,
		flags: func(fs *flagSet) {
			fs.BoolVar(&all, "all", false, "purge the whole upstream cache")
		},
		args: func(pos []string) error {
			if (len(pos) == 0) != all {
				return errUsage
			}
			return nil
		}}
	return runStore(ctx, e, args, ac, func(store *index.Store, c *common, pos []string) error {
		names := make([]index.Normalized, len(pos))
		for i, p := range pos {
			names[i] = index.Normalize(p)
		}
		purged, files, err := upstream.Purge(ctx, store, c.dataDir, names)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "purged %d projects and %d files from the upstream cache\n", len(purged), files)
		return nil
	})
}

func cmdProjectClaim(ctx context.Context, e env, args []string) error {
	ac := adminCmd{name: "project claim", synopsis: "project claim NAME [flags]", minArgs: 1, maxArgs: 1,
		args: func(pos []string) error {
			if !index.ValidName(pos[0]) {
				return fmt.Errorf("project claim: %q is not a valid project name", pos[0])
			}
			return nil
		}}
	return runStore(ctx, e, args, ac, func(store *index.Store, c *common, pos []string) error {
		name := index.Normalize(pos[0])
		files, err := upstream.Claim(ctx, store, c.dataDir, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s is claimed for local uploads; it is never looked up upstream again (%d cached files removed)\n", name, files)
		return nil
	})
}
