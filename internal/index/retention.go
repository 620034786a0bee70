package index

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// RetentionMatch says which releases a retention policy applies to.
type RetentionMatch string

// The releases a policy may prune: development releases (1.0.dev3), all
// pre-releases (dev releases included, as PEP 440's "pre-release" covers
// them), or every release.
const (
	MatchDev RetentionMatch = "dev"
	MatchPre RetentionMatch = "pre"
	MatchAll RetentionMatch = "all"
)

// ParseRetentionMatch returns the match named s, or ErrInvalid.
func ParseRetentionMatch(s string) (RetentionMatch, error) {
	switch m := RetentionMatch(s); m {
	case MatchDev, MatchPre, MatchAll:
		return m, nil
	}
	return "", Errorf(ErrInvalid, "unknown release match %q: use dev, pre or all", s)
}

// Matches reports whether the policy applies to version v.
func (m RetentionMatch) Matches(v Version) bool {
	switch m {
	case MatchDev:
		return v.IsDevrelease()
	case MatchPre:
		return v.IsPrerelease()
	case MatchAll:
		return true
	}
	return false
}

// Retention is a retention policy: of the releases Match selects, the Keep
// highest versions stay, and the others go once they are older than
// OlderThan. The project's latest release (its highest version, what an
// installer picks) is never pruned, whatever the policy says.
type Retention struct {
	Keep      int
	Match     RetentionMatch
	OlderThan time.Duration
}

// Check reports a policy that cannot be applied, as ErrInvalid.
func (r Retention) Check() error {
	if _, err := ParseRetentionMatch(string(r.Match)); err != nil {
		return err
	}
	if r.Keep < 0 {
		return Errorf(ErrInvalid, "keep must be 0 or more, not %d", r.Keep)
	}
	if r.OlderThan < 0 {
		return Errorf(ErrInvalid, "older-than must be 0 or more, not %v", r.OlderThan)
	}
	return nil
}

// String describes the policy the way the command line sets it.
func (r Retention) String() string {
	return fmt.Sprintf("--keep %d --match %s --older-than %v", r.Keep, r.Match, r.OlderThan)
}

// SelectPrune returns the releases the policy prunes at time now, highest
// version first. Releases whose version does not parse are never pruned.
func SelectPrune(releases []Release, r Retention, now time.Time) []Release {
	type parsed struct {
		rel Release
		v   Version
	}
	var all []parsed
	for _, rel := range releases {
		if v, err := ParseVersion(rel.Version); err == nil {
			all = append(all, parsed{rel, v})
		}
	}
	if len(all) == 0 {
		return nil
	}
	slices.SortStableFunc(all, func(a, b parsed) int { return b.v.Compare(a.v) })
	cutoff := now.Add(-r.OlderThan)
	var out []Release
	kept := 0
	for i, p := range all {
		if !r.Match.Matches(p.v) {
			continue
		}
		if kept < r.Keep {
			kept++
			continue
		}
		if i == 0 || p.rel.CreatedAt.After(cutoff) {
			continue // the latest release, or too young
		}
		out = append(out, p.rel)
	}
	return out
}

// PrunedRelease is one release a prune deleted (or, in a dry run, would
// delete), with its files.
type PrunedRelease struct {
	Version   string
	CreatedAt time.Time
	Files     []FileRef
}

// PruneResult is what PruneProject did.
type PruneResult struct {
	Change                   // Removed lists every deleted file; empty in a dry run
	Releases []PrunedRelease // highest version first
}

// PruneProject applies a retention policy to a project: under the
// project's lock, in one transaction, it deletes the releases SelectPrune
// picks (by the database's clock) as DeleteRelease does — filenames
// tombstoned for good, a journal entry per file and per release. With
// dryRun it only reports what it would delete and changes nothing.
func (s *Store) PruneProject(ctx context.Context, project Normalized, r Retention, dryRun bool, by string) (PruneResult, error) {
	if err := r.Check(); err != nil {
		return PruneResult{}, err
	}
	var res PruneResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		p, err := lockProject(ctx, tx, project)
		if err != nil {
			return err
		}
		res.Project = p
		var now time.Time
		if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
			return translate(err)
		}
		rows, err := tx.Query(ctx, `SELECT id, version, canonical, created_at, yanked, yanked_reason
			FROM releases WHERE project_id = $1`, p.ID)
		if err != nil {
			return fmt.Errorf("releases: %w", translate(err))
		}
		releases, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Release, error) {
			rel := Release{ProjectID: p.ID}
			err := row.Scan(&rel.ID, &rel.Version, &rel.Canonical, &rel.CreatedAt, &rel.Yanked, &rel.YankedReason)
			return rel, err
		})
		if err != nil {
			return fmt.Errorf("releases: %w", translate(err))
		}
		for _, rel := range SelectPrune(releases, r, now) {
			pr := PrunedRelease{Version: rel.Version, CreatedAt: rel.CreatedAt}
			if dryRun {
				if pr.Files, err = releaseFiles(ctx, tx, rel.ID); err != nil {
					return err
				}
				res.Releases = append(res.Releases, pr)
				continue
			}
			if pr.Files, err = deleteFiles(ctx, tx, p, rel, "", by); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM releases WHERE id = $1`, rel.ID); err != nil {
				return fmt.Errorf("delete release: %w", translate(err))
			}
			serial, err := journal(ctx, tx, p.ID, p.Name, rel.Version, "remove release", by)
			if err != nil {
				return err
			}
			res.Removed = append(res.Removed, pr.Files...)
			res.Releases = append(res.Releases, pr)
			res.Project.LastSerial, res.Changed = serial, true
		}
		return nil
	})
	if err != nil {
		return PruneResult{}, fmt.Errorf("prune %s: %w", project, err)
	}
	return res, nil
}

// releaseFiles lists a release's files by filename.
func releaseFiles(ctx context.Context, tx pgx.Tx, releaseID int64) ([]FileRef, error) {
	rows, err := tx.Query(ctx, `SELECT filename, sha256, blake2b_256, path FROM files
		WHERE release_id = $1 ORDER BY filename`, releaseID)
	if err != nil {
		return nil, fmt.Errorf("files: %w", translate(err))
	}
	refs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[FileRef])
	if err != nil {
		return nil, fmt.Errorf("files: %w", translate(err))
	}
	return refs, nil
}

// ProjectRetention is a project's stored retention policy.
type ProjectRetention struct {
	Project Normalized
	Retention
}

// SetRetention stores the project's retention policy, replacing any it had.
func (s *Store) SetRetention(ctx context.Context, project Normalized, r Retention) (Project, error) {
	if err := r.Check(); err != nil {
		return Project{}, err
	}
	var p Project
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if p, err = lockProject(ctx, tx, project); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO retention_policies (project_id, keep, match, older_than_seconds)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (project_id) DO UPDATE SET keep = EXCLUDED.keep, match = EXCLUDED.match,
				older_than_seconds = EXCLUDED.older_than_seconds, updated_at = now()`,
			p.ID, r.Keep, string(r.Match), int64(r.OlderThan/time.Second))
		if err != nil {
			return fmt.Errorf("store policy: %w", translate(err))
		}
		return nil
	})
	if err != nil {
		return Project{}, fmt.Errorf("set retention of %s: %w", project, err)
	}
	return p, nil
}

// ClearRetention removes the project's retention policy and reports
// whether it had one.
func (s *Store) ClearRetention(ctx context.Context, project Normalized) (bool, error) {
	if _, err := s.Project(ctx, project); err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM retention_policies
		WHERE project_id = (SELECT id FROM projects WHERE normalized = $1)`, string(project))
	if err != nil {
		return false, fmt.Errorf("clear retention of %s: %w", project, translate(err))
	}
	return tag.RowsAffected() > 0, nil
}

// RetentionPolicy returns the project's stored policy; ok is false when it
// has none.
func (s *Store) RetentionPolicy(ctx context.Context, project Normalized) (r Retention, ok bool, err error) {
	list, err := s.retentionPolicies(ctx, `WHERE p.normalized = $1`, string(project))
	if err != nil || len(list) == 0 {
		return Retention{}, false, err
	}
	return list[0].Retention, true, nil
}

// RetentionPolicies returns every stored policy, by project name.
func (s *Store) RetentionPolicies(ctx context.Context) ([]ProjectRetention, error) {
	return s.retentionPolicies(ctx, "")
}

func (s *Store) retentionPolicies(ctx context.Context, where string, args ...any) ([]ProjectRetention, error) {
	rows, err := s.pool.Query(ctx, `SELECT p.normalized, r.keep, r.match, r.older_than_seconds
		FROM retention_policies r JOIN projects p ON p.id = r.project_id `+where+`
		ORDER BY p.normalized COLLATE "C"`, args...)
	if err != nil {
		return nil, fmt.Errorf("retention policies: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ProjectRetention, error) {
		var pr ProjectRetention
		var norm, match string
		var secs int64
		err := row.Scan(&norm, &pr.Keep, &match, &secs)
		pr.Project, pr.Match, pr.OlderThan = Normalized(norm), RetentionMatch(match), time.Duration(secs)*time.Second
		return pr, err
	})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("retention policies: %w", translate(err))
	}
	return out, nil
}
