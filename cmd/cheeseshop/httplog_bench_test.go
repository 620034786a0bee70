package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/reqlog"
)

// BenchmarkObserve is what every request pays for its count in the
// metrics, and for its access-log line when the log takes it (its request
// id, its fields, the line): observe around a handler that writes a small
// page, against the handler alone.
func BenchmarkObserve(b *testing.B) {
	page := []byte("<!DOCTYPE html><title>x</title>")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(page) })
	logAt := func(l slog.Level) *slog.Logger {
		return slog.New(reqlog.NewHandler(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: l})))
	}
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"handler", h},
		{"observed/log-at-warn", observe(h, newMetrics(nil, false), logAt(slog.LevelWarn), nil, true)},
		{"observed/access-log", observe(h, newMetrics(nil, false), logAt(slog.LevelInfo), nil, true)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			proto := httptest.NewRequest(http.MethodGet, "/simple/demo/", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				// A new request each time, as a connection reads them:
				// one that got an id must not lend it to the next.
				r := *proto
				r.Header = make(http.Header, 1)
				w.Body.Reset()
				bc.h.ServeHTTP(w, &r)
			}
		})
	}
}
