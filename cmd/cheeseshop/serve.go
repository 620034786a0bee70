package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/renameio/v2"
	"golang.org/x/sync/errgroup"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/httperr"
	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/reqlog"
	"github.com/cheeseshop/cheeseshop/internal/static"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
	"github.com/cheeseshop/cheeseshop/internal/upload"
)

// shutdownTimeout bounds graceful shutdown: in-flight uploads get this long.
const shutdownTimeout = 30 * time.Second

type serveConfig struct {
	common
	listen      string
	baseURL     string
	readyFile   string
	maxFileSize int64
	pypiRules   bool
	createDB    bool
	rootRefresh time.Duration
	mirror      mirrorFlags
	repair      repairFlags
	limits      limitFlags
	upstream    upstreamFlags
	ops         opsFlags
	prune       pruneFlags
}

func cmdServe(ctx context.Context, e env, args []string) error {
	var c serveConfig
	fs := newFlags(e, "serve", "serve [flags]", &c.common)
	fs.StringVar(&c.listen, "listen", fs.envString("CHEESESHOP_LISTEN", "127.0.0.1:8080"), "address to listen on; port 0 picks a free port (env CHEESESHOP_LISTEN)")
	fs.StringVar(&c.baseURL, "base-url", fs.envString("CHEESESHOP_BASE_URL", ""), "public URL of the index when behind a proxy, e.g. https://pypi.example.com (env CHEESESHOP_BASE_URL); default http://<listen address>")
	fs.StringVar(&c.readyFile, "ready-file", fs.envString("CHEESESHOP_READY_FILE", ""), "write the server's URL to this file once it accepts connections (env CHEESESHOP_READY_FILE)")
	fs.Int64Var(&c.maxFileSize, "max-file-size", fs.envInt("CHEESESHOP_MAX_FILE_SIZE", upload.DefaultMaxFileSize), "largest accepted upload in bytes (env CHEESESHOP_MAX_FILE_SIZE)")
	fs.BoolVar(&c.pypiRules, "pypi-rules", fs.envBool("CHEESESHOP_PYPI_RULES", false), "also refuse what only PyPI, a public index, refuses: local versions, e-mail addresses on special-use domains, classifiers outside the public list, direct URL requirements (env CHEESESHOP_PYPI_RULES)")
	fs.BoolVar(&c.createDB, "create-database", false, "create the database when it does not exist")
	c.mirror.register(fs)
	c.repair.register(fs)
	c.limits.register(fs)
	c.upstream.register(fs)
	c.ops.register(fs)
	c.prune.register(fs)
	fs.DurationVar(&c.rootRefresh, "root-refresh", fs.envDuration("CHEESESHOP_ROOT_REFRESH", 10*time.Second),
		"after a project's pages change, rewrite the root page (its per-project serials) in the background within this long; 0 only when a project is added (env CHEESESHOP_ROOT_REFRESH)")
	fs.check(func() error {
		if c.maxFileSize <= 0 {
			return fmt.Errorf("%s must be positive", fs.origin("max-file-size", "CHEESESHOP_MAX_FILE_SIZE"))
		}
		return nil
	})
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected arguments %q", fs.Args())
	}
	log := c.log
	target, err := c.mirror.openTarget(ctx)
	if err != nil {
		return err
	}
	// Every line logged with a request's context carries its request_id.
	log = slog.New(reqlog.NewHandler(log.Handler()))
	pool, err := c.openDB(ctx, c.createDB)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrate(ctx, pool, log); err != nil {
		return err
	}
	store := index.NewStore(pool)
	if err := c.resolveDataDir(ctx, store, dirClaim); err != nil {
		return err
	}
	met := newMetrics(store, c.mirror.target != "")
	c.mirror.observePush = met.observePush
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}

	pages := staticgen.New(staticgen.Config{DataDir: c.dataDir, RootRefresh: c.rootRefresh, DeferSync: true, BaseURL: c.baseURL, Observe: met.observePage}, store, log)
	defer pages.Close()
	runMirror, err := c.mirror.newMirror(target, c.dataDir, store, pages, log)
	if err != nil {
		return err
	}
	runPrune, err := c.prune.runner(c.dataDir, store, pages, log)
	if err != nil {
		return err
	}
	authn := auth.NewWithConfig(c.limits.auth(), store, store)
	// READMEs are rendered after the upload's reply (cmd/cheeseshop/readme.go).
	readmes := newReadmeWorker(store, pages, log)
	up, err := upload.New(upload.Config{DataDir: c.dataDir, MaxFileSize: c.maxFileSize, PyPIRules: c.pypiRules, MaxUnauthenticated: c.limits.maxUnauthenticated,
		RenderReadme: readmes.render, QueueReadme: readmes.Queue}, store, authn, pages, log)
	if err != nil {
		return err
	}
	cache, err := c.upstream.newCache(c.dataDir, store, log)
	if err != nil {
		return err
	}
	files := static.New(c.upstream.staticConfig(c.dataDir, cache), log)
	api, err := apiRoutes(c.dataDir, c.baseURL, store, pages, authn, log)
	if err != nil {
		return err
	}

	// Pages are derived data: bring them in line with the database (and
	// write the root page /simple/ needs) before serving; rep.Run keeps
	// repairing in the background (cmd/cheeseshop/repair.go).
	rep, err := c.repair.startup(ctx, c.dataDir, store, pages, log)
	if err != nil {
		return err
	}
	// Start-up may have rendered the whole root index (tens of MB at PyPI's
	// size); give that memory back now rather than whenever the runtime's
	// scavenger gets to it.
	debug.FreeOSMemory()

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	log.Info("serving", "url", url, "base_url", c.baseURL, "data_dir", c.dataDir,
		"database_url", redactURL(c.databaseURL), "max_file_size", c.maxFileSize, "pypi_rules", c.pypiRules)

	ops := func(r chi.Router) {
		r.Get("/readyz", readyz(pool, c.dataDir))
		if c.ops.metricsListen == "" {
			r.Get("/metrics", met.handler().ServeHTTP)
		}
	}
	srv := c.limits.server(observe(routes(log, up, files, api, ops, searchRoutes(store, log)), met, log, c.ops.proxies, c.ops.accessLog))
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return runMirror(gctx) })
	g.Go(func() error { return rep.Run(gctx) })
	g.Go(func() error { return readmes.Run(gctx) })
	if cache != nil {
		g.Go(func() error { return cache.Run(gctx) })
	}
	g.Go(func() error { return followChanges(gctx, store, pages, log) })
	if c.ops.metricsListen != "" {
		g.Go(func() error { return serveMetrics(gctx, c.ops.metricsListen, met, log) })
	}
	g.Go(func() error { return runPrune(gctx) })
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	if c.readyFile != "" {
		if err := renameio.WriteFile(c.readyFile, []byte(url+"\n"), 0o644); err != nil {
			return fmt.Errorf("ready file: %w", err)
		}
	}
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	return g.Wait()
}

func routes(log *slog.Logger, up *upload.Handler, files *static.Server, mounts ...func(chi.Router)) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(middleware.Recoverer)
	// A 405 goes through httperr's table like every other refusal.
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		httperr.Write(w, req, log, httperr.MethodNotAllowed(allowedMethods(r, req.URL.Path)...))
	})
	r.Handle("/legacy/", up) // it refuses methods other than GET and POST itself
	r.Post("/legacy", upload.RedirectNoSlash)
	r.Handle("/simple", http.RedirectHandler("/simple/", http.StatusMovedPermanently))
	r.Get("/healthz", healthz)
	// The pages for people: static files, like /simple (DATA/web).
	web := files.WebHandler()
	r.Handle("/", web)
	r.Handle("/static/*", web)
	r.Handle("/project", web)
	r.Handle("/project/*", web)
	for _, mount := range mounts {
		mount(r)
	}
	// The static tree is the hot path (what nginx would serve): it goes
	// straight to its handlers, without the router's middleware. They log
	// their own failures, and net/http recovers a panicking handler.
	simple, packages := files.SimpleHandler(), files.PackagesHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch p := req.URL.Path; {
		case strings.HasPrefix(p, "/simple/"):
			simple.ServeHTTP(w, req)
		case strings.HasPrefix(p, "/packages/"):
			packages.ServeHTTP(w, req)
		default:
			r.ServeHTTP(w, req)
		}
	})
}

// allowedMethods lists the methods r routes path for, for a 405's Allow.
func allowedMethods(r chi.Routes, path string) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if r.Match(chi.NewRouteContext(), m, path) {
			allow = append(allow, m)
		}
	}
	return allow
}
