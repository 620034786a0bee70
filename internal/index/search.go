package index

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Search bounds: what one query may ask for and cost.
const (
	// MaxSearchQuery is the longest query, in characters; full-text and
	// trigram costs grow with its length, and no project name or useful
	// set of words is longer.
	MaxSearchQuery = 200
	// MaxSearchResults is how far paging reaches: results beyond the
	// first MaxSearchResults are neither ranked nor counted (searchSQL).
	MaxSearchResults = 500
	// MaxSearchPerPage is the largest page.
	MaxSearchPerPage = 100
	// searchTimeout bounds one query whatever the input; PostgreSQL
	// cancels it when the context ends.
	searchTimeout = 5 * time.Second
	// minFuzzy is the shortest name form matched by trigram similarity:
	// shorter ones have too few trigrams to tell a typo from another word,
	// and match a large part of the index.
	minFuzzy = 4
)

// SearchHit is one project found by Store.Search: its name, its latest
// release's version and summary.
type SearchHit struct {
	Name       string
	Normalized Normalized
	Version    string
	Summary    string
}

// SearchResult is one page of a search, and the number of projects found
// (at most MaxSearchResults).
type SearchResult struct {
	Hits  []SearchHit
	Total int
}

// SearchPages is the number of pages of perPage hits in a result of total
// hits.
func SearchPages(total, perPage int) int {
	if perPage <= 0 {
		return 0
	}
	return (total + perPage - 1) / perPage
}

// CheckSearch refuses, as invalid input, a query that cannot be searched
// for (NUL, invalid UTF-8, too long) and a page outside the bounds. Search
// calls it; handlers call it to answer before any database work.
func CheckSearch(q string, page, perPage int) error {
	if p := TextProblem(q); p != "" {
		return Errorf(ErrInvalid, "The search query %s.", p)
	}
	if n := utf8.RuneCountInString(q); n > MaxSearchQuery {
		return Errorf(ErrInvalid, "The search query is %d characters long; at most %d are searched for.", n, MaxSearchQuery)
	}
	if perPage < 1 || perPage > MaxSearchPerPage {
		return Errorf(ErrInvalid, "A page of results holds 1 to %d projects, not %d.", MaxSearchPerPage, perPage)
	}
	if last := MaxSearchResults / perPage; page < 1 || page > last {
		return Errorf(ErrInvalid, "The page must be a number from 1 to %d.", last)
	}
	return nil
}

// searchNameForm is the query as a normalised project name: lower case,
// runs of white space, "-", "_" and "." as one "-" (PEP 503).
func searchNameForm(q string) string {
	return string(Normalize(strings.ToLower(strings.Join(strings.Fields(q), "-"))))
}

// fuzzy says whether to look for names within a typo of q: when q looks
// like a name (ASCII letters, digits, "-", "_", "." and spaces; words that
// start and end with a letter or digit, so no "quoted phrase" or -word)
// and is long enough to have trigrams worth comparing.
func fuzzy(q string) bool {
	if len(searchNameForm(q)) < minFuzzy {
		return false
	}
	for _, w := range strings.Fields(q) {
		if !validName.MatchString(w) {
			return false
		}
	}
	return true
}

// searchSQL ranks in tiers: the project whose normalised name is the query
// (4); projects whose name has every word of the query (2 to 3, closer
// names first: "django" before "django-rest-framework"); names within a
// typo of the query by trigram word similarity (1.5 to 2); projects whose
// name and summary together have every word (below 1, by ts_rank).
//
// Each tier takes at most MaxSearchResults candidates, in the order the
// index finds them, before anything is ranked: a word that hundreds of
// thousands of projects have costs no more than a rare one, and the
// ranking of such a word is that of the first MaxSearchResults projects
// found in each tier. This bounds every query's work (p99 at 700,000
// projects, BENCHMARKS); a person refines a query that finds a thousand
// projects rather than paging through them.
//
// $1 the query (websearch syntax: words, "quoted phrases", or, -word),
// $2 its name form, $3 whether to try trigram similarity, $4 limit, $5 offset.
var searchSQL = `
WITH q AS (SELECT websearch_to_tsquery('english', $1) AS tsq),
hits AS (
    SELECT id, 4.0::float8 AS score FROM projects WHERE normalized = $2
    UNION ALL
    SELECT project_id, (2 + similarity(normalized, $2))::float8 FROM
        (SELECT s.project_id, s.normalized FROM project_search s, q WHERE s.name_doc @@ q.tsq
         LIMIT ` + maxResultsSQL + `) n
    UNION ALL
    SELECT project_id, (1 + word_similarity($2, normalized))::float8 FROM
        (SELECT project_id, normalized FROM project_search WHERE $3 AND $2 <% normalized
         LIMIT ` + maxResultsSQL + `) f
    UNION ALL
    SELECT project_id, least(ts_rank(search_doc, tsq), 0.99)::float8 FROM
        (SELECT s.project_id, s.search_doc, q.tsq FROM project_search s, q WHERE s.search_doc @@ q.tsq
         LIMIT ` + maxResultsSQL + `) s
),
best AS (
    SELECT id, max(score) AS score FROM hits GROUP BY id
    ORDER BY score DESC, id LIMIT ` + maxResultsSQL + `
)
SELECT s.name, s.normalized, s.latest_version, s.summary, count(*) OVER ()
FROM best b JOIN project_search s ON s.project_id = b.id
ORDER BY b.score DESC, s.normalized
LIMIT $4 OFFSET $5`

var maxResultsSQL = fmt.Sprint(MaxSearchResults)

// Search finds projects by name and by the summary of their latest release
// and returns page page (from 1) of perPage hits: an exact normalised-name
// match first, then the ranked full-text and trigram matches (searchSQL).
// A query of white space only finds nothing; one CheckSearch refuses is
// an ErrInvalid with a message for the client.
func (s *Store) Search(ctx context.Context, q string, page, perPage int) (SearchResult, error) {
	if err := CheckSearch(q, page, perPage); err != nil {
		return SearchResult{}, err
	}
	q = strings.TrimSpace(q)
	if q == "" {
		return SearchResult{}, nil
	}
	name := searchNameForm(q)
	ctx, cancel := context.WithTimeout(ctx, searchTimeout)
	defer cancel()
	var res SearchResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// pg_trgm's default (0.6) misses a one-letter typo in a word of
		// seven ("reqests": 0.55); 0.5 still keeps unrelated names out.
		// Every tier is an index scan cut short by its LIMIT: a sequential
		// scan (which the planner may pick for a common word, to find
		// the LIMIT's rows early) would read every row for a rare one. JIT
		// compiling would cost more than the query itself.
		if _, err := tx.Exec(ctx, `SET LOCAL pg_trgm.word_similarity_threshold = 0.5;
			SET LOCAL enable_seqscan = off; SET LOCAL jit = off`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, searchSQL, q, name, fuzzy(q), perPage, (page-1)*perPage)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h SearchHit
			var norm string
			if err := rows.Scan(&h.Name, &norm, &h.Version, &h.Summary, &res.Total); err != nil {
				return err
			}
			h.Normalized = Normalized(norm)
			res.Hits = append(res.Hits, h)
		}
		return rows.Err()
	})
	if err != nil {
		return SearchResult{}, fmt.Errorf("search: %w", translate(err))
	}
	if len(res.Hits) == 0 && page > 1 {
		// Past the last page: count what there is, so the page can say so.
		first, err := s.Search(ctx, q, 1, 1)
		if err != nil {
			return SearchResult{}, err
		}
		res.Total = first.Total
	}
	return res, nil
}
