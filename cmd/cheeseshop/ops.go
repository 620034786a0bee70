package main

import "fmt"

// opsFlags are serve's flags for operators: metrics, the access log and
// the proxies whose X-Forwarded-For is believed (docs/operations.md).
type opsFlags struct {
	metricsListen string
	accessLog     bool
	trusted       string
	proxies       trustedProxies // parsed from trusted
}

func (o *opsFlags) register(fs *flagSet) {
	fs.StringVar(&o.metricsListen, "metrics-listen", fs.envString("CHEESESHOP_METRICS_LISTEN", ""),
		"serve /metrics on this address only (e.g. 127.0.0.1:9100) instead of on --listen (env CHEESESHOP_METRICS_LISTEN)")
	fs.BoolVar(&o.accessLog, "access-log", fs.envBool("CHEESESHOP_ACCESS_LOG", true),
		"log one line per request: method, route, path, status, bytes, duration_ms, request_id, client (env CHEESESHOP_ACCESS_LOG)")
	fs.StringVar(&o.trusted, "trusted-proxies", fs.envString("CHEESESHOP_TRUSTED_PROXIES", "127.0.0.0/8,::1"),
		"comma-separated addresses or prefixes of reverse proxies whose X-Forwarded-For names the client in the access log (env CHEESESHOP_TRUSTED_PROXIES)")
	fs.check(func() error {
		p, err := parseTrustedProxies(o.trusted)
		if err != nil {
			return fmt.Errorf("%s: %w", fs.origin("trusted-proxies", "CHEESESHOP_TRUSTED_PROXIES"), err)
		}
		o.proxies = p
		return nil
	})
}
