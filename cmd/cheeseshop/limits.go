package main

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"time"

	"github.com/cheeseshop/cheeseshop/internal/auth"
	"github.com/cheeseshop/cheeseshop/internal/bodyrate"
	"github.com/cheeseshop/cheeseshop/internal/upload"
)

// limitFlags are serve's bounds on what clients, above all unauthenticated
// ones, can make the server hold: password checks, slow bodies, idle
// connections, header bytes (issue 14 items 7 and 11; README "Limits").
type limitFlags struct {
	passwordChecks     int
	passwordQueue      int
	userFailures       int
	addressFailures    int
	failureWindow      time.Duration
	maxUnauthenticated int
	minBodyRate        int64
	bodyTimeout        time.Duration
	readHeaderTimeout  time.Duration
	idleTimeout        time.Duration
	maxHeaderBytes     int
}

func (l *limitFlags) register(fs *flagSet) {
	fs.IntVar(&l.passwordChecks, "password-checks", int(fs.envInt("CHEESESHOP_PASSWORD_CHECKS", int64(runtime.GOMAXPROCS(0)))),
		"password checks (argon2id, ~19 MiB and ~25 ms of a CPU each) run at once; API tokens never wait for them (env CHEESESHOP_PASSWORD_CHECKS)")
	fs.IntVar(&l.passwordQueue, "password-queue", int(fs.envInt("CHEESESHOP_PASSWORD_QUEUE", 0)),
		"requests that may wait for a password check; past that they get 429 with Retry-After; 0: 4 × --password-checks (env CHEESESHOP_PASSWORD_QUEUE)")
	fs.IntVar(&l.userFailures, "login-failures-per-user", int(fs.envInt("CHEESESHOP_LOGIN_FAILURES_PER_USER", auth.DefaultUserFailures)),
		"failed password attempts per user name within --login-failure-window before further ones get 429 (env CHEESESHOP_LOGIN_FAILURES_PER_USER)")
	fs.IntVar(&l.addressFailures, "login-failures-per-address", int(fs.envInt("CHEESESHOP_LOGIN_FAILURES_PER_ADDRESS", auth.DefaultAddressFailures)),
		"the same per client address (IPv6: per /64; behind a proxy on this host, the address it adds to X-Forwarded-For) (env CHEESESHOP_LOGIN_FAILURES_PER_ADDRESS)")
	fs.DurationVar(&l.failureWindow, "login-failure-window", fs.envDuration("CHEESESHOP_LOGIN_FAILURE_WINDOW", auth.DefaultFailureWindow),
		"window of the --login-failures-* limits; once a limit is reached, one more attempt is allowed per window/limit (env CHEESESHOP_LOGIN_FAILURE_WINDOW)")
	fs.IntVar(&l.maxUnauthenticated, "max-unauthenticated-uploads", int(fs.envInt("CHEESESHOP_MAX_UNAUTHENTICATED_UPLOADS", upload.DefaultMaxUnauthenticated)),
		"request bodies without valid credentials read at once (an anonymous register --dry-run, or a refused upload read to its end so the client sees the answer) (env CHEESESHOP_MAX_UNAUTHENTICATED_UPLOADS)")
	fs.Int64Var(&l.minBodyRate, "min-body-rate", fs.envInt("CHEESESHOP_MIN_BODY_RATE", bodyrate.DefaultMinRate),
		"request bodies must average at least this many bytes per second, after --body-timeout of grace (env CHEESESHOP_MIN_BODY_RATE)")
	fs.DurationVar(&l.bodyTimeout, "body-timeout", fs.envDuration("CHEESESHOP_BODY_TIMEOUT", bodyrate.DefaultTimeout),
		"longest wait for a request body's next bytes (env CHEESESHOP_BODY_TIMEOUT)")
	fs.DurationVar(&l.readHeaderTimeout, "read-header-timeout", fs.envDuration("CHEESESHOP_READ_HEADER_TIMEOUT", 10*time.Second),
		"time a client has to send a request's headers (env CHEESESHOP_READ_HEADER_TIMEOUT)")
	fs.DurationVar(&l.idleTimeout, "idle-timeout", fs.envDuration("CHEESESHOP_IDLE_TIMEOUT", 60*time.Second),
		"close a keep-alive connection idle this long (env CHEESESHOP_IDLE_TIMEOUT)")
	fs.IntVar(&l.maxHeaderBytes, "max-header-bytes", int(fs.envInt("CHEESESHOP_MAX_HEADER_BYTES", 64<<10)),
		"largest request line and headers, in bytes; larger get 431 (env CHEESESHOP_MAX_HEADER_BYTES)")
	fs.check(l.check)
}

// check reports every bad value at once.
func (l *limitFlags) check() error {
	var errs []error
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"--password-checks", l.passwordChecks > 0}, {"--password-queue", l.passwordQueue >= 0},
		{"--login-failures-per-user", l.userFailures > 0}, {"--login-failures-per-address", l.addressFailures > 0},
		{"--login-failure-window", l.failureWindow > 0}, {"--max-unauthenticated-uploads", l.maxUnauthenticated > 0},
		{"--min-body-rate", l.minBodyRate > 0}, {"--body-timeout", l.bodyTimeout > 0},
		{"--read-header-timeout", l.readHeaderTimeout > 0}, {"--idle-timeout", l.idleTimeout > 0},
		{"--max-header-bytes", l.maxHeaderBytes > 0},
	} {
		if !f.ok {
			errs = append(errs, fmt.Errorf("%s must be positive", f.name))
		}
	}
	return errors.Join(errs...)
}

func (l *limitFlags) auth() auth.Config {
	return auth.Config{Checks: l.passwordChecks, Queue: l.passwordQueue,
		UserFailures: l.userFailures, AddressFailures: l.addressFailures, FailureWindow: l.failureWindow}
}

// server returns the HTTP server for h with the connection limits.
func (l *limitFlags) server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           bodyrate.Handler(bodyrate.Config{MinRate: l.minBodyRate, Timeout: l.bodyTimeout}, h),
		ReadHeaderTimeout: l.readHeaderTimeout,
		IdleTimeout:       l.idleTimeout,
		MaxHeaderBytes:    l.maxHeaderBytes,
	}
}
