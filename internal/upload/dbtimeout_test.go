package upload

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDBTimeout: a database that does not answer (here: a project lock that
// another session never releases, which is what a stuck PostgreSQL looks
// like from the client) turns an upload into a quick 503 with nothing
// committed, instead of a hang; the upload succeeds once the lock is gone.
func TestDBTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 700 * time.Millisecond
	h := newHarnessWith(t, Config{DBTimeout: timeout})
	ctx := context.Background()
	conn, err := h.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended('project:' || 'demo', 0))`); err != nil {
		t.Fatal(err)
	}
	w := wheelSpec{dist: "demo", version: "1.0"}.build(t)
	req := uploadRequest{form: twineForm("demo", "1.0", "bdist_wheel", "py3", "demo-1.0-py3-none-any.whl", w)}
	start := time.Now()
	resp := h.post(req)
	took := time.Since(start)
	if resp.status != http.StatusServiceUnavailable || !strings.Contains(resp.body, "database") {
		t.Fatalf("upload while the database does not answer: %d %q", resp.status, resp.body)
	}
	if took > timeout+5*time.Second {
		t.Errorf("the 503 took %s; the bound is %s", took, timeout)
	}
	if n := h.query(`SELECT count(*)::text FROM files`); n != "0" {
		t.Errorf("%s file rows after the 503", n)
	}
	if tmp := h.tmpFiles(); len(tmp) > 0 {
		t.Errorf("temp files left: %v", tmp)
	}

	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended('project:' || 'demo', 0))`); err != nil {
		t.Fatal(err)
	}
	if resp := h.post(req); resp.status != http.StatusOK {
		t.Fatalf("upload after the lock was released: %d %q", resp.status, resp.body)
	}
}
