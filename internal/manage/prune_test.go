package manage_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/manage"
	"github.com/cheeseshop/cheeseshop/internal/staticgen"
)

func TestPrune(t *testing.T) {
	t.Parallel()
	for _, quarantined := range []bool{false, true} {
		t.Run(map[bool]string{false: "active", true: "quarantined"}[quarantined], func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			fx := newFixture(t)
			log := slog.New(slog.DiscardHandler)
			svc, err := manage.New(manage.Config{DataDir: fx.dataDir}, fx.store, staticgen.New(staticgen.Config{DataDir: fx.dataDir}, fx.store, log), log)
			if err != nil {
				t.Fatal(err)
			}
			if quarantined {
				if _, err := svc.SetStatus(ctx, "demo", index.StatusQuarantined, "", ""); err != nil {
					t.Fatal(err)
				}
			}
			// where is the file's place on disk: packages/, or quarantine/.
			where := func(name string) string {
				p := fx.paths[name]
				if quarantined {
					p = filepath.Join(fx.dataDir, "quarantine", strings.TrimPrefix(p, filepath.Join(fx.dataDir, "packages")))
				}
				return p
			}
			policy := index.Retention{Keep: 0, Match: index.MatchAll}
			page := fx.page(t, "index.html")
			dry, err := svc.Prune(ctx, "demo", policy, true, "")
			if err != nil || len(dry.Releases) != 1 || dry.Releases[0].Version != "1.0" {
				t.Fatalf("dry run: %+v, %v", dry, err)
			}
			if got := fx.page(t, "index.html"); got != page {
				t.Errorf("dry run rewrote the page")
			}
			if _, err := os.Stat(where("demo-1.0.tar.gz")); err != nil {
				t.Errorf("dry run: %v", err)
			}

			res, err := svc.Prune(ctx, "demo", policy, false, "")
			if err != nil || len(res.Removed) != 1 || res.Removed[0].Filename != "demo-1.0.tar.gz" {
				t.Fatalf("prune: %+v, %v", res, err)
			}
			if got := fx.page(t, "index.html"); strings.Contains(got, "demo-1.0.tar.gz") || !quarantined && !strings.Contains(got, "demo-2.0.tar.gz") {
				t.Errorf("page after the prune:\n%s", got)
			}
			for _, name := range []string{where("demo-1.0.tar.gz"), where("demo-1.0.tar.gz") + ".metadata"} {
				if _, err := os.Stat(name); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s after the prune: %v", name, err)
				}
			}
			if _, err := os.Stat(where("demo-2.0.tar.gz")); err != nil {
				t.Errorf("the latest release's file: %v", err)
			}
		})
	}
}
