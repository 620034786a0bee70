package auth

import (
	"context"
	"hash/maphash"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Config bounds the work unauthenticated clients can make the server do.
// Zero values mean the defaults.
type Config struct {
	// Checks is how many password checks run at once. Each argon2id check
	// takes ~19 MiB and ~20-30 ms of one CPU, so unbounded checks let a
	// flood of wrong passwords take the server's memory (issue 14 item 7).
	// 0 means runtime.GOMAXPROCS(0).
	Checks int
	// Queue is how many requests may wait for a check; past it they are
	// answered 429 at once. 0 means 4×Checks (~0.1 s of checks per slot).
	Queue int
	// QueueWait bounds one wait in the queue; 0 means DefaultQueueWait.
	QueueWait time.Duration
	// UserFailures is how many password attempts that fail one user name
	// may make within FailureWindow; after that, one more per
	// FailureWindow/UserFailures (a token bucket). 0 means
	// DefaultUserFailures. Unknown names are counted as known ones are, so
	// the limit tells no one which names exist.
	UserFailures int
	// AddressFailures is the same per client address (an IPv6 /64). It is
	// higher than UserFailures because many users may share an address
	// (NAT, a CI runner). 0 means DefaultAddressFailures.
	AddressFailures int
	// FailureWindow: see UserFailures; 0 means DefaultFailureWindow.
	FailureWindow time.Duration
}

// Defaults of Config. The failure limits are PyPI's for its login form
// (10 per user per 5 minutes); the address limit is higher for the reason
// given at Config.AddressFailures.
const (
	DefaultQueueWait       = 5 * time.Second
	DefaultUserFailures    = 10
	DefaultAddressFailures = 50
	DefaultFailureWindow   = 5 * time.Minute
	// maxHeld bounds the refused requests held back at once (see hold):
	// ~20 KiB each with their connections, so ~10 MiB at most.
	maxHeld = 512
	// maxHold is the longest a refusal is held back.
	maxHold = time.Second
	// maxTracked bounds each table of failure counts (user names and
	// addresses): ~100 bytes an entry, so ~1 MB each at most whatever an
	// attacker sends. When full, entries whose budget has refilled go
	// first, then any.
	maxTracked = 10000
)

func (c Config) withDefaults() Config {
	if c.Checks <= 0 {
		c.Checks = runtime.GOMAXPROCS(0)
	}
	if c.Queue <= 0 {
		c.Queue = 4 * c.Checks
	}
	if c.QueueWait <= 0 {
		c.QueueWait = DefaultQueueWait
	}
	if c.UserFailures <= 0 {
		c.UserFailures = DefaultUserFailures
	}
	if c.AddressFailures <= 0 {
		c.AddressFailures = DefaultAddressFailures
	}
	if c.FailureWindow <= 0 {
		c.FailureWindow = DefaultFailureWindow
	}
	return c
}

// Stats is a snapshot of the password checks.
type Stats struct {
	Running int // checks running now
	Peak    int // most checks ever running at once
	Waiting int // requests waiting for a check now
}

// gate bounds concurrent password checks with a short queue in front.
type gate struct {
	slots   chan struct{}
	queue   int64
	wait    time.Duration
	waiting atomic.Int64
	running atomic.Int64
	peak    atomic.Int64
}

func newGate(c Config) *gate {
	return &gate{slots: make(chan struct{}, c.Checks), queue: int64(c.Queue), wait: c.QueueWait}
}

// errBusy is the answer past the queue: a second is about a queue's worth
// of checks.
var errBusy = index.RetryAfter(index.Errorf(index.ErrRateLimited, "Too many password checks in progress. Try again in a few seconds, or upload with an API token."), time.Second)

// run runs fn in a slot, waiting in the queue for one if need be.
func (g *gate) run(ctx context.Context, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		if g.waiting.Add(1) > g.queue {
			g.waiting.Add(-1)
			return errBusy
		}
		t := time.NewTimer(g.wait)
		select {
		case g.slots <- struct{}{}:
		case <-t.C:
			g.waiting.Add(-1)
			return errBusy
		case <-ctx.Done():
			t.Stop()
			g.waiting.Add(-1)
			return ctx.Err()
		}
		t.Stop()
		g.waiting.Add(-1)
	}
	n := g.running.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	defer func() {
		g.running.Add(-1)
		<-g.slots
	}()
	fn()
	return nil
}

// limiter is a token bucket per key (a user name or a client address),
// each holding up to burst attempts and refilling at burst per window.
type limiter struct {
	burst float64
	rate  float64 // attempts per second
	seed  maphash.Seed

	mu      sync.Mutex
	buckets map[uint64]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(burst int, window time.Duration) *limiter {
	return &limiter{
		burst:   float64(burst),
		rate:    float64(burst) / window.Seconds(),
		seed:    maphash.MakeSeed(),
		buckets: map[uint64]*bucket{},
	}
}

// refill brings b up to now and reports whether it is full again.
func (l *limiter) refill(b *bucket, now time.Time) bool {
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	return b.tokens >= l.burst
}

// allow reports whether key may make an attempt now, or how long until it
// may. Only failures are counted (fail): concurrent attempts with the right
// password must not use up a user's budget. Failures in flight can
// overshoot the budget, by at most the password checks running and
// queued.
func (l *limiter) allow(key string, now time.Time) (wait time.Duration, ok bool) {
	h := maphash.String(l.seed, key)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[h]
	if b == nil {
		return 0, true
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
	}
	return 0, true
}

// fail counts a failed attempt of key. Keys are hashed (with a per-process
// seed) so that a table entry is small whatever the name's length.
func (l *limiter) fail(key string, now time.Time) {
	h := maphash.String(l.seed, key)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[h]
	if b == nil {
		if len(l.buckets) >= maxTracked {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[h] = b
	}
	l.refill(b, now)
	// An overshoot lengthens the wait, by at most another window.
	b.tokens = max(b.tokens-1, -l.burst)
}

// reset forgets key's failures (its user authenticated).
func (l *limiter) reset(key string) {
	h := maphash.String(l.seed, key)
	l.mu.Lock()
	delete(l.buckets, h)
	l.mu.Unlock()
}

// evict makes room: first the entries whose budget has refilled (they
// carry no information), then, if every entry is recent, any tenth.
func (l *limiter) evict(now time.Time) {
	for h, b := range l.buckets {
		if l.refill(b, now) {
			delete(l.buckets, h)
		}
	}
	n := len(l.buckets) - maxTracked*9/10
	for h := range l.buckets {
		if n <= 0 {
			break
		}
		delete(l.buckets, h)
		n--
	}
}

// clientAddress is the address failures are counted against: the peer's,
// or, when the peer is a proxy on this host (loopback), the last address
// in its X-Forwarded-For (the one that proxy added; nginx's
// $proxy_add_x_forwarded_for appends it). IPv6 addresses count per /64,
// which one client usually has whole.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if addr.IsLoopback() {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			last = strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:])
			if a, err := netip.ParseAddr(last); err == nil {
				addr = a
			}
		}
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// hold delays the answer to a refused attempt by up to its wait (at most
// maxHold), for at most maxHeld requests at once. A client that waits for
// its answers, as HTTP clients do, then makes a request a second instead
// of as many as the server can refuse: a flood of 200 clients that cost
// ~1,500 refusals a second of CPU costs 200, and honest uploads keep the
// CPU they need.
func (a *Authenticator) hold(ctx context.Context, wait time.Duration) {
	select {
	case a.held <- struct{}{}:
	default:
		return
	}
	defer func() { <-a.held }()
	t := time.NewTimer(min(wait, maxHold))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
