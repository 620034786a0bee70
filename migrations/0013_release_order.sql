-- The search row's latest version (0011) is the first release in the order
-- refresh_project_search sorts a project's releases by. That sort computed
-- its keys with regular expressions and casts for every release on every
-- change: an upload of a new version to a project of 300 releases paid
-- about 2 ms for it, inside the upload's transaction, and a project of
-- thousands several times that. The keys are now columns, computed once
-- when a release is written, and an index in that order makes the latest
-- release one index probe however many releases the project has.
ALTER TABLE releases
    ADD COLUMN order_pre boolean
        GENERATED ALWAYS AS (split_part(version, '+', 1) ~ '(a|b|rc|dev)[0-9]') STORED,
    ADD COLUMN order_epoch numeric
        GENERATED ALWAYS AS (coalesce(substring(version from '^([0-9]+)!'), '0')::numeric) STORED,
    ADD COLUMN order_release numeric[]
        GENERATED ALWAYS AS (string_to_array(substring(version from '^(?:[0-9]+!)?([0-9]+(?:\.[0-9]+)*)'), '.')::numeric[]) STORED;

CREATE INDEX releases_latest_idx ON releases
    (project_id, yanked, order_pre, order_epoch DESC, order_release DESC NULLS LAST, created_at DESC, id DESC);

-- The same function as 0011's, reading the keys from the columns in the
-- index's order.
CREATE OR REPLACE FUNCTION refresh_project_search(ids bigint[]) RETURNS void LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    INSERT INTO project_search AS s (project_id, name, normalized, summary, latest_version)
    SELECT p.id, p.name, p.normalized, coalesce(l.summary, ''), coalesce(l.version, '')
    FROM projects p
    LEFT JOIN LATERAL (
        SELECT r.version, left(coalesce(r.metadata->>'summary', ''), 512) AS summary
        FROM releases r
        WHERE r.project_id = p.id
        ORDER BY r.yanked, r.order_pre, r.order_epoch DESC, r.order_release DESC NULLS LAST,
            r.created_at DESC, r.id DESC
        LIMIT 1
    ) l ON true
    WHERE p.id = ANY(ids)
    ON CONFLICT (project_id) DO UPDATE
        SET name = excluded.name, summary = excluded.summary, latest_version = excluded.latest_version
        WHERE (s.name, s.summary, s.latest_version) IS DISTINCT FROM (excluded.name, excluded.summary, excluded.latest_version);
END;
$$;
