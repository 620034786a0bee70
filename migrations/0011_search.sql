-- Search (issue 16): /search/ and the XML-RPC `search` method
-- (internal/index/search.go) look for projects by name and by the summary
-- of their latest release.
--
-- pg_trgm ships with Debian's postgresql-15 (its contrib modules are in
-- the server package) and is a trusted extension since PostgreSQL 13, so
-- the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The latest release's summary and version, kept on the project so that a
-- search reads one row per project. "Latest" is what a person would call
-- it: not yanked before yanked, final before pre-release, then the highest
-- release segment (epoch first; trailing ".0"s are not ignored, a good
-- enough approximation of PEP 440 order for this), then the newest.
--
-- What full-text search matches: name_doc, the name's words (split at
-- - _ .), and search_doc, those and the summary's, the name's weighing
-- more.
ALTER TABLE projects
    ADD COLUMN summary text NOT NULL DEFAULT '',
    ADD COLUMN latest_version text NOT NULL DEFAULT '',
    ADD COLUMN name_doc tsvector GENERATED ALWAYS AS (
        to_tsvector('english', translate(name, '-_.', '   '))) STORED,
    ADD COLUMN search_doc tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', translate(name, '-_.', '   ')), 'A') ||
        setweight(to_tsvector('english', summary), 'B')) STORED;

-- fastupdate off: GIN's pending list (where fastupdate puts new entries
-- until a vacuum merges them) is read in full by every search, which after
-- a few thousand uploads costs more than the search itself; an upload
-- instead pays for its one row's entries at once, a fraction of a
-- millisecond.
CREATE INDEX projects_name_doc_idx ON projects USING gin (name_doc) WITH (fastupdate = off);
CREATE INDEX projects_search_doc_idx ON projects USING gin (search_doc) WITH (fastupdate = off);
CREATE INDEX projects_normalized_trgm_idx ON projects USING gin (normalized gin_trgm_ops) WITH (fastupdate = off);

-- refresh_project_latest recomputes summary and latest_version of the
-- given projects from their releases, and writes only what changed (a
-- project with no release left gets empty ones).
CREATE FUNCTION refresh_project_latest(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    UPDATE projects p
    SET summary = coalesce(l.summary, ''), latest_version = coalesce(l.version, '')
    FROM unnest(ids) AS c(project_id)
    LEFT JOIN LATERAL (
        SELECT r.version, left(coalesce(r.metadata->>'summary', ''), 512) AS summary
        FROM releases r
        WHERE r.project_id = c.project_id
        ORDER BY r.yanked,
            split_part(r.version, '+', 1) ~ '(a|b|rc|dev)[0-9]',
            coalesce(substring(r.version from '^([0-9]+)!'), '0')::numeric DESC,
            string_to_array(substring(r.version from '^(?:[0-9]+!)?([0-9]+(?:\.[0-9]+)*)'), '.')::numeric[] DESC NULLS LAST,
            r.created_at DESC, r.id DESC
        LIMIT 1
    ) l ON true
    WHERE p.id = c.project_id
      AND (p.summary, p.latest_version) IS DISTINCT FROM (coalesce(l.summary, ''), coalesce(l.version, ''));
$$;

-- The upload, register, yank, delete and prune transactions (and
-- BulkInsert's COPY) change releases; one statement-level trigger per kind
-- of change refreshes the projects they touched, in the same transaction.
-- An upload of a file to an existing release does not touch releases and
-- pays nothing.
CREATE FUNCTION releases_refresh_latest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_project_latest(ARRAY(SELECT DISTINCT project_id FROM changed));
    RETURN NULL;
END;
$$;

CREATE TRIGGER releases_latest_insert AFTER INSERT ON releases
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION releases_refresh_latest();
CREATE TRIGGER releases_latest_update AFTER UPDATE ON releases
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION releases_refresh_latest();
CREATE TRIGGER releases_latest_delete AFTER DELETE ON releases
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION releases_refresh_latest();

SELECT refresh_project_latest(ARRAY(SELECT id FROM projects));
