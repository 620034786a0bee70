package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cheeseshop/cheeseshop/internal/index"
	"github.com/cheeseshop/cheeseshop/internal/seed"
)

// ---- search ----

// searchQueries are the kinds of query timed, each a function of a sample
// of project names from the index: what people type.
var searchQueries = []struct {
	kind string
	make func(names []string, i int) (q string, page int)
}{
	{"exact name", func(n []string, i int) (string, int) { return n[i%len(n)], 1 }},
	{"name word", func(_ []string, i int) (string, int) {
		return pick(i, "django", "cloud", "async", "client", "pytest", "yaml", "redis", "torch"), 1
	}},
	{"two words", func(_ []string, i int) (string, int) {
		return pick(i, "async client", "cloud storage", "web framework", "django rest", "machine learning", "fast parser"), 1
	}},
	{"summary word", func(_ []string, i int) (string, int) {
		return pick(i, "geospatial", "payments", "monitoring", "humans", "tracing"), 1
	}},
	{"typo", func(n []string, i int) (string, int) { return typo(n[(i*7)%len(n)]), 1 }},
	{"prefix", func(n []string, i int) (string, int) { return prefix(n[(i*13)%len(n)]), 1 }},
	{"short", func(_ []string, i int) (string, int) { return pick(i, "py", "ai", "db", "ml"), 1 }},
	{"page 5", func(_ []string, i int) (string, int) { return pick(i, "data", "api", "test"), 5 }},
	{"no match", func(_ []string, i int) (string, int) { return pick(i, "zzqqxx", "nonexistentcheese", "qwertyuiop"), 1 }},
}

func pick(i int, s ...string) string { return s[i%len(s)] }

// typo drops a letter from the middle of a name's longest word.
func typo(name string) string {
	w := slices.MaxFunc(strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '.' }),
		func(a, b string) int { return len(a) - len(b) })
	if len(w) < 5 {
		return w
	}
	return w[:len(w)/2] + w[len(w)/2+1:]
}

func prefix(name string) string {
	if len(name) > 5 {
		return name[:5]
	}
	return name
}

func cmdSearch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	dbURL := dbFlag(fs, "database (names to search for; the query itself without -url)")
	base := fs.String("url", "", "time GET URL/search/?q=… on a running server instead of the query")
	fill := fs.Int("fill", 0, "first add this many seeded projects (internal/seed: names, releases, summaries; rows only, no pages) and skip names already there")
	seedN := fs.Uint64("seed", 1, "random seed for -fill")
	count, dur := boundFlags(fs, 2000, "queries", 60*time.Second, "stop after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := index.NewStore(pool)
	if *fill > 0 {
		if err := fillSeeded(ctx, pool, store, *fill, *seedN); err != nil {
			return err
		}
	}
	rows, err := pool.Query(ctx, `SELECT name FROM projects ORDER BY md5(normalized) LIMIT 500`)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no projects in the index")
	}
	var total int
	pool.QueryRow(ctx, `SELECT count(*) FROM projects`).Scan(&total) //nolint:errcheck // for the report only
	client := &http.Client{Timeout: 10 * time.Second}
	one := func(q string, page int) (int, error) {
		if *base == "" {
			res, err := store.Search(ctx, q, page, 20)
			return res.Total, err
		}
		u := strings.TrimRight(*base, "/") + "/search/?q=" + url.QueryEscape(q) + fmt.Sprintf("&page=%d", page)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s %v", u, resp.Status, err)
		}
		return 0, nil
	}
	// Warm up: the first queries read the indexes from disk.
	for i := range 2 * len(searchQueries) {
		q, page := searchQueries[i%len(searchQueries)].make(names, i)
		if _, err := one(q, page); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	all := make([]time.Duration, 0, *count)
	byKind := make([][]time.Duration, len(searchQueries))
	found := make([]int, len(searchQueries))
	for i := range *count {
		if ctx.Err() != nil {
			break
		}
		k := i % len(searchQueries)
		q, page := searchQueries[k].make(names, i/len(searchQueries))
		start := time.Now()
		n, err := one(q, page)
		d := time.Since(start)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("search %q: %w", q, err)
		}
		all = append(all, d)
		byKind[k] = append(byKind[k], d)
		found[k] += n
	}
	how := "Store.Search"
	if *base != "" {
		how = "GET " + *base + "/search/"
	}
	fmt.Printf("search (%s) over %d projects: %s\n", how, total, summarize(all))
	for k, q := range searchQueries {
		s := summarize(byKind[k])
		line := fmt.Sprintf("  %-13s %s", q.kind, s)
		if *base == "" && s.n > 0 {
			line += fmt.Sprintf(" found=%d", found[k]/s.n)
		}
		fmt.Println(line)
	}
	return nil
}

// fillSeeded adds n projects made by internal/seed, in batches, leaving
// out names the index already has (an index `dev seed` began).
func fillSeeded(ctx context.Context, pool *pgxpool.Pool, store *index.Store, n int, seedN uint64) error {
	dist, err := seed.ParseDist("longtail:1.6:100")
	if err != nil {
		return err
	}
	gen := seed.New(seedN, dist, time.Now().UTC())
	start := time.Now()
	for done := 0; done < n; {
		batch := make([]index.ProjectState, 0, 5000)
		names := make([]string, 0, 5000)
		for range min(5000, n-done) {
			st := gen.Project(-1, "")
			batch = append(batch, st)
			names = append(names, string(st.Project.Normalized))
		}
		rows, err := pool.Query(ctx, `SELECT normalized FROM projects WHERE normalized = ANY($1)`, names)
		if err != nil {
			return err
		}
		existing, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, s := range existing {
			have[s] = true
		}
		batch = slices.DeleteFunc(batch, func(st index.ProjectState) bool { return have[string(st.Project.Normalized)] })
		if err := store.BulkInsert(ctx, batch); err != nil {
			return err
		}
		done += len(batch)
		fmt.Printf("\rfilled %d of %d projects in %s", done, n, time.Since(start).Round(time.Second))
	}
	fmt.Println()
	return nil
}
