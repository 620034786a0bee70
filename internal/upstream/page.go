package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// RefreshPage brings the cached pages of name up to date, for the static
// server to serve from disk (see static.Cache). A local name, or one the
// upstream does not have, is ErrNotFound; an upstream that fails or is
// too slow is ErrBadGateway or ErrGatewayTimeout when nothing is cached,
// and a warning with the stale page served when something is.
// Concurrent requests for one name in this process share one fetch.
func (c *Cache) RefreshPage(ctx context.Context, name index.Normalized) error {
	ch := c.pages.DoChan(string(name), func() (any, error) {
		// The fetch serves every waiting request and the next ones: it
		// outlives the client that started it, within the timeout.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		return nil, c.refresh(fctx, name)
	})
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func notHere(name index.Normalized) error {
	return index.Errorf(index.ErrNotFound, "No project %s here or on the upstream index.", name)
}

func (c *Cache) refresh(ctx context.Context, name index.Normalized) error {
	local, err := c.store.IsLocal(ctx, name)
	if err != nil {
		return err
	}
	if local {
		// Local wins: its page is local or about to be; never the upstream's.
		return index.Errorf(index.ErrNotFound, "No project %s.", name)
	}
	known, err := c.store.UpstreamProject(ctx, name)
	switch {
	case errors.Is(err, index.ErrNotFound):
		known = index.UpstreamProject{}
	case err != nil:
		return err
	}
	onDisk := c.pagesOnDisk(name)
	age := c.now().Sub(known.CheckedAt)
	switch {
	case known.Found && onDisk && age < c.ttl:
		// Another request or process refreshed it meanwhile.
		c.hits.Add(1)
		return nil
	case known.Normalized != "" && !known.Found && age < c.neg:
		c.hits.Add(1)
		return notHere(name)
	}

	header := http.Header{"Accept": {acceptPage}}
	if known.Found && onDisk {
		if known.ETag != "" {
			header.Set("If-None-Match", known.ETag)
		}
		if known.LastModified != "" {
			header.Set("If-Modified-Since", known.LastModified)
		}
	}
	u := projectURL(c.root, name)
	resp, err := c.get(ctx, u, header)
	if err != nil {
		return c.stale(ctx, name, known, onDisk, c.upstreamError("page "+string(name), err))
	}
	defer resp.Body.Close()
	c.misses.Add(1)
	now := c.now()
	switch {
	case resp.StatusCode == http.StatusNotModified && onDisk:
		for _, p := range datadir.Pages {
			os.Chtimes(c.dir.CacheProjectPage(name, p), now, now) //nolint:errcheck // a failure only makes the next request revalidate again
		}
		return c.store.TouchUpstreamProject(ctx, name, now)
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		if err := c.store.SaveUpstreamProject(ctx, index.UpstreamProject{Normalized: name, Name: string(name), CheckedAt: now}, nil); err != nil {
			return localOr(err, name)
		}
		// The upstream dropped it: so does the cache (its files stay
		// until purged; no page links them).
		os.RemoveAll(c.dir.CacheProjectPages(name)) //nolint:errcheck // stale pages are never served past a recorded 404
		return notHere(name)
	case resp.StatusCode != http.StatusOK:
		return c.stale(ctx, name, known, onDisk, &index.Error{Kind: index.ErrBadGateway,
			Message: fmt.Sprintf("The upstream index answered %s for %s.", resp.Status, name),
			Err:     fmt.Errorf("upstream %s: %s", u.Redacted(), resp.Status)})
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	if err == nil && len(body) > maxPage {
		err = fmt.Errorf("page larger than %d bytes", maxPage)
	}
	if err != nil {
		return c.stale(ctx, name, known, onDisk, c.upstreamError("page "+string(name), err))
	}
	p, err := parsePage(resp.Header.Get("Content-Type"), body, resp.Request.URL)
	if err != nil {
		return c.stale(ctx, name, known, onDisk, &index.Error{Kind: index.ErrBadGateway, Err: err,
			Message: fmt.Sprintf("The upstream index sent a page for %s that cannot be read.", name)})
	}
	if s := serialHeader(resp.Header.Get("X-PyPI-Last-Serial")); s > 0 {
		p.serial = s
	}
	out := rewrite(name, p)
	rec := index.UpstreamProject{Normalized: name, Name: p.name, Found: true,
		ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), CheckedAt: now}
	if rec.Name == "" {
		rec.Name = string(name)
	}
	// Rows first: a page on disk never links a file the database cannot
	// resolve to its upstream URL.
	if err := c.store.SaveUpstreamProject(ctx, rec, out.files); err != nil {
		return localOr(err, name)
	}
	if err := c.writePages(name, out); err != nil {
		return &index.Error{Kind: index.ErrStorage, Err: err}
	}
	c.log.InfoContext(ctx, "cached upstream page", "project", name, "files", len(out.files), "upstream_files", len(p.files))
	return nil
}

// localOr maps SaveUpstreamProject's refusal for a name that became local
// meanwhile to a 404 (its local page is on its way).
func localOr(err error, name index.Normalized) error {
	if errors.Is(err, index.ErrExists) {
		return index.Errorf(index.ErrNotFound, "No project %s.", name)
	}
	return err
}

// stale answers an upstream failure: the cached page when there is one
// (stale-if-error, with a warning), the failure otherwise. A cached 404
// stays a 404.
func (c *Cache) stale(ctx context.Context, name index.Normalized, known index.UpstreamProject, onDisk bool, failure error) error {
	switch {
	case known.Found && onDisk:
		c.staleServed.Add(1)
		c.log.WarnContext(ctx, "upstream failed; serving the stale cached page", "project", name,
			"checked_at", known.CheckedAt, "err", failure)
		return nil
	case known.Normalized != "" && !known.Found:
		return notHere(name)
	}
	return failure
}

func (c *Cache) pagesOnDisk(name index.Normalized) bool {
	for _, p := range datadir.Pages {
		if fi, err := os.Stat(c.dir.CacheProjectPage(name, p)); err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// writePages replaces both cached pages, JSON first as staticgen does.
// They are derived data, fetched again if a crash loses them, so the
// directory is not synced.
func (c *Cache) writePages(name index.Normalized, out cachedPage) error {
	if err := os.MkdirAll(c.dir.CacheProjectPages(name), 0o755); err != nil {
		return err
	}
	if err := datadir.Replace(c.dir.CacheProjectPage(name, datadir.JSON), out.json, 0o644, false); err != nil {
		return err
	}
	return datadir.Replace(c.dir.CacheProjectPage(name, datadir.HTML), out.html, 0o644, false)
}

// projectURL is the upstream page of name.
func projectURL(root *url.URL, name index.Normalized) *url.URL {
	u := *root
	u.Path = root.Path + string(name) + "/"
	u.RawPath = ""
	return &u
}
