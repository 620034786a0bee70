package reqlog

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5/middleware"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewTextHandler(&buf, nil))).With("component", "test")
	ctx := context.WithValue(context.Background(), middleware.RequestIDKey, "host/abc-000007")
	log.InfoContext(ctx, "with id", "a", 1)
	log.InfoContext(context.Background(), "without id")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "component=test") || !strings.Contains(lines[0], "a=1") || !strings.Contains(lines[0], "request_id=host/abc-000007") {
		t.Errorf("line with an id: %s", lines[0])
	}
	if strings.Contains(lines[1], "request_id") {
		t.Errorf("line without an id: %s", lines[1])
	}
}

func TestWithID(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/simple/", nil)
	a, b := WithID(r), WithID(r)
	idA, idB := middleware.GetReqID(a.Context()), middleware.GetReqID(b.Context())
	if idA == "" || idB == "" || idA == idB {
		t.Errorf("ids %q and %q: want two different ids", idA, idB)
	}
	if WithID(a) != a {
		t.Error("a request with an id got another")
	}
	r.Header.Set("X-Request-Id", "from-client")
	if id := middleware.GetReqID(WithID(r).Context()); id != "from-client" {
		t.Errorf("id %q, want the client's", id)
	}
}
