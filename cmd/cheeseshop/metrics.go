package main

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// metrics are serve's Prometheus metrics (docs/operations.md, "Metrics"),
// on a registry of their own: every name starts with cheeseshop_, beside
// the Go runtime's and the process's standard ones.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec // route, code
	// requestCounters are requests' children by route and code, so that
	// counting a request does not hash its labels (and format its code)
	// each time: copied on write, when a pair first occurs.
	requestCounters atomic.Pointer[map[requestKey]prometheus.Counter]
	requestMu       sync.Mutex               // serialises the copies
	uploads         *prometheus.CounterVec   // outcome
	uploadSeconds   prometheus.Histogram     //
	pageSeconds     *prometheus.HistogramVec // page
	pushSeconds     *prometheus.HistogramVec // result
}

// uploadBuckets span a small wheel on a fast disk to a large file on a slow link.
var uploadBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

func newMetrics(store *index.Store, mirroring bool) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cheeseshop_http_requests_total",
			Help: "HTTP requests answered, by route class (simple, packages, upload, json_api, manage, health, metrics, other) and status code.",
		}, []string{"route", "code"}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cheeseshop_uploads_total",
			Help: "POSTs to /legacy/ (uploads and registrations) by outcome: ok (2xx), refused (4xx), failed (5xx).",
		}, []string{"outcome"}),
		uploadSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cheeseshop_upload_duration_seconds",
			Help:    "Time from the start of a POST to /legacy/ to its answer, body included.",
			Buckets: uploadBuckets,
		}),
		pageSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cheeseshop_page_rewrite_duration_seconds",
			Help:    "Time to rewrite a project's two pages (page=project) or the root's (page=root).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"page"}),
		pushSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cheeseshop_mirror_push_duration_seconds",
			Help:    "Time to push one file to the CDN and verify it, by result (ok, error).",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900},
		}, []string{"result"}),
	}
	for _, o := range []string{"ok", "refused", "failed"} {
		m.uploads.WithLabelValues(o) // present from the start, at 0
	}
	m.reg.MustRegister(m.requests, m.uploads, m.uploadSeconds, m.pageSeconds, m.pushSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&dbCollector{store: store, mirroring: mirroring})
	return m
}

// handler serves the metrics in Prometheus's text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) observePage(page string, d time.Duration) {
	m.pageSeconds.WithLabelValues(page).Observe(d.Seconds())
}

func (m *metrics) observePush(d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.pushSeconds.WithLabelValues(result).Observe(d.Seconds())
}

type requestKey struct {
	route string
	code  int
}

// requestCounter is the child of requests for route and code.
func (m *metrics) requestCounter(route string, code int) prometheus.Counter {
	k := requestKey{route, code}
	if cs := m.requestCounters.Load(); cs != nil {
		if c, ok := (*cs)[k]; ok {
			return c
		}
	}
	m.requestMu.Lock()
	defer m.requestMu.Unlock()
	next := map[requestKey]prometheus.Counter{}
	if cs := m.requestCounters.Load(); cs != nil {
		if c, ok := (*cs)[k]; ok {
			return c
		}
		maps.Copy(next, *cs)
	}
	c := m.requests.WithLabelValues(route, strconv.Itoa(code))
	next[k] = c
	m.requestCounters.Store(&next)
	return c
}

// observeRequest counts one answered request; an upload also by outcome.
func (m *metrics) observeRequest(route, method string, status int, d time.Duration) {
	m.requestCounter(route, status).Inc()
	if route == routeUpload && method == http.MethodPost {
		outcome := "ok"
		switch {
		case status >= 500:
			outcome = "failed"
		case status >= 400:
			outcome = "refused"
		}
		m.uploads.WithLabelValues(outcome).Inc()
		m.uploadSeconds.Observe(d.Seconds())
	}
}

// dbCollector reads the gauges that live in the database when scraped, at
// most once per dbCollectInterval (the mirror counts read every file row).
type dbCollector struct {
	store     *index.Store
	mirroring bool

	mu     sync.Mutex
	at     time.Time
	stale  float64
	states map[index.MirrorState]int64
	ok     bool
}

const dbCollectInterval = 15 * time.Second

var (
	staleDesc = prometheus.NewDesc("cheeseshop_stale_pages",
		"Projects whose pages may be older than their last change, waiting for repair (or for a deferred page sync).", nil, nil)
	mirrorDesc = prometheus.NewDesc("cheeseshop_mirror_files",
		"Files by mirror state (pending, mirrored, failed); only with --mirror.", []string{"state"}, nil)
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- staleDesc
	ch <- mirrorDesc
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > dbCollectInterval || !c.ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.at, c.ok = time.Now(), false
		n, err := c.store.StalePageCount(ctx)
		if err == nil && c.mirroring {
			c.states, err = c.store.MirrorStateCounts(ctx)
		}
		if err == nil {
			c.stale, c.ok = float64(n), true
		}
		if err != nil {
			ch <- prometheus.NewInvalidMetric(staleDesc, errors.New("the database did not answer"))
			return
		}
	}
	ch <- prometheus.MustNewConstMetric(staleDesc, prometheus.GaugeValue, c.stale)
	if c.mirroring {
		for _, st := range []index.MirrorState{index.MirrorPending, index.MirrorMirrored, index.MirrorFailed} {
			ch <- prometheus.MustNewConstMetric(mirrorDesc, prometheus.GaugeValue, float64(c.states[st]), string(st))
		}
	}
}

// serveMetrics serves /metrics alone on its own listener (--metrics-listen).
func serveMetrics(ctx context.Context, addr string, m *metrics, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.handler())
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx) //nolint:errcheck // shutting down
	}()
	log.Info("serving metrics", "url", "http://"+addr+"/metrics")
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
