-- Search (issue 16): /search/ and the XML-RPC `search` method
-- (internal/index/search.go) look for projects by name and by the summary
-- of their latest release.
--
-- pg_trgm ships with Debian's postgresql-15 (its contrib modules are in
-- the server package) and is a trusted extension since PostgreSQL 13, so
-- the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- What search reads, one row per project: its name, and its latest
-- release's summary and version. "Latest" is what a person would call it:
-- not yanked before yanked, final before pre-release, then the highest
-- release segment (epoch first; trailing ".0"s are not ignored, a good
-- enough approximation of PEP 440 order for this), then the newest.
--
-- name_doc is the name's words (split at - _ .); search_doc those and the
-- summary's, the name's weighing more.
--
-- A table of its own, not columns of projects: every upload updates its
-- project's row (last_serial, page_serial), and since those columns are
-- indexed, each such update adds entries to every index of projects; the
-- three GIN indexes here would make every upload pay for them. This table
-- changes only when a release is added, changed or removed, or the
-- display name changes; a new release with the same summary changes only
-- latest_version, which no index covers, so with the room fillfactor
-- leaves it is a HOT update that touches no index.
CREATE TABLE project_search (
    project_id     bigint PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    name           text NOT NULL,
    normalized     text NOT NULL,
    summary        text NOT NULL DEFAULT '',
    latest_version text NOT NULL DEFAULT '',
    name_doc       tsvector GENERATED ALWAYS AS (
        to_tsvector('english', translate(name, '-_.', '   '))) STORED,
    search_doc     tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', translate(name, '-_.', '   ')), 'A') ||
        setweight(to_tsvector('english', summary), 'B')) STORED
) WITH (fillfactor = 90);

-- refresh_project_search writes the search rows of the given projects from
-- their names and releases, and only what changed. PL/pgSQL, so that a
-- session plans it once, not on every call. Its plan is generic
-- (the ids are a parameter) and, where a few projects have thousands of
-- releases, estimated costly enough for JIT compilation, which would cost
-- an upload tens of milliseconds for a query that takes a fraction of one.
CREATE FUNCTION refresh_project_search(ids bigint[]) RETURNS void LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    INSERT INTO project_search AS s (project_id, name, normalized, summary, latest_version)
    SELECT p.id, p.name, p.normalized, coalesce(l.summary, ''), coalesce(l.version, '')
    FROM projects p
    LEFT JOIN LATERAL (
        SELECT r.version, left(coalesce(r.metadata->>'summary', ''), 512) AS summary
        FROM releases r
        WHERE r.project_id = p.id
        ORDER BY r.yanked,
            split_part(r.version, '+', 1) ~ '(a|b|rc|dev)[0-9]',
            coalesce(substring(r.version from '^([0-9]+)!'), '0')::numeric DESC,
            string_to_array(substring(r.version from '^(?:[0-9]+!)?([0-9]+(?:\.[0-9]+)*)'), '.')::numeric[] DESC NULLS LAST,
            r.created_at DESC, r.id DESC
        LIMIT 1
    ) l ON true
    WHERE p.id = ANY(ids)
    ON CONFLICT (project_id) DO UPDATE
        SET name = excluded.name, summary = excluded.summary, latest_version = excluded.latest_version
        WHERE (s.name, s.summary, s.latest_version) IS DISTINCT FROM (excluded.name, excluded.summary, excluded.latest_version);
END;
$$;

-- Fill the table before indexing it: building a GIN index at once is
-- much faster than adding every row's entries one by one.
SELECT refresh_project_search(ARRAY(SELECT id FROM projects));

-- fastupdate off: GIN's pending list (where fastupdate puts new entries
-- until a vacuum merges them) is read in full by every search, which after
-- a few thousand changes costs more than the search itself; a change pays
-- for its one row's entries at once instead.
CREATE INDEX project_search_name_doc_idx ON project_search USING gin (name_doc) WITH (fastupdate = off);
CREATE INDEX project_search_search_doc_idx ON project_search USING gin (search_doc) WITH (fastupdate = off);
CREATE INDEX project_search_normalized_trgm_idx ON project_search USING gin (normalized gin_trgm_ops) WITH (fastupdate = off);

-- The upload, register, yank, delete and prune transactions (and
-- BulkInsert's COPY) change releases; one statement-level trigger per kind
-- of change refreshes the projects they touched, in the same transaction.
-- An upload of a file to an existing release does not touch releases and
-- pays nothing.
CREATE FUNCTION releases_refresh_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_project_search(ARRAY(SELECT DISTINCT project_id FROM changed));
    RETURN NULL;
END;
$$;

CREATE TRIGGER releases_search_insert AFTER INSERT ON releases
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION releases_refresh_search();
CREATE TRIGGER releases_search_update AFTER UPDATE ON releases
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION releases_refresh_search();
CREATE TRIGGER releases_search_delete AFTER DELETE ON releases
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION releases_refresh_search();

-- The display name is the one last uploaded.
CREATE FUNCTION projects_refresh_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_project_search(ARRAY[NEW.id]);
    RETURN NULL;
END;
$$;

CREATE TRIGGER projects_search_name AFTER UPDATE OF name ON projects
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION projects_refresh_search();

