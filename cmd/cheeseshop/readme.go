package main

import (
	"context"
	"fmt"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/readme"
)

// readmeRenderer adapts internal/readme to the upload handler's hook.
func readmeRenderer() func(ctx context.Context, description, contentType string) index.Readme {
	r := readme.New(readme.Config{})
	return func(ctx context.Context, description, contentType string) index.Readme {
		res := r.Render(ctx, description, contentType)
		return index.Readme{HTML: res.HTML, Version: res.Version}
	}
}

// rerenderReadmes renders again the READMEs of the named projects (all
// when names is nil) that an older renderer made, before their pages are
// rewritten. It returns how many it rendered.
func rerenderReadmes(ctx context.Context, store *index.Store, names []index.Normalized) (int, error) {
	render := readmeRenderer()
	if names == nil {
		names = []index.Normalized{""}
	}
	n := 0
	for _, name := range names {
		var after int64
		for {
			batch, err := store.StaleReadmes(ctx, name, readme.Version, after, 100)
			if err != nil {
				return n, err
			}
			if len(batch) == 0 {
				break
			}
			for _, src := range batch {
				rd := render(ctx, src.Description, src.ContentType)
				if err := store.SetReadme(ctx, src.ReleaseID, rd); err != nil {
					return n, fmt.Errorf("readme of release %s: %w", src.Version, err)
				}
				n++
				after = src.ReleaseID
			}
		}
	}
	return n, nil
}
