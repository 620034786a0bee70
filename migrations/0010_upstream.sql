-- The upstream cache (--upstream): what this index knows of the projects
-- and files of the upstream index it proxies. Derived data: purging it
-- (`cheeseshop upstream purge`) loses nothing that cannot be fetched again.

-- One row per name looked up upstream. found = false is a cached 404.
CREATE TABLE upstream_projects (
    normalized    text PRIMARY KEY,           -- PEP 503
    name          text NOT NULL,              -- as the upstream spells it
    found         boolean NOT NULL,
    etag          text NOT NULL DEFAULT '',   -- validators of the upstream page, for revalidation
    last_modified text NOT NULL DEFAULT '',
    checked_at    timestamptz NOT NULL        -- the last answer from the upstream (200, 304 or 404)
);

-- Files of cached projects. path is the file's place below DATA/cache/packages
-- and the URL below /packages/ the cached pages link: the upstream sha256 split
-- 2/2/60, then the filename.
CREATE TABLE upstream_files (
    path            text PRIMARY KEY,
    project         text NOT NULL REFERENCES upstream_projects(normalized) ON DELETE CASCADE,
    filename        text NOT NULL,
    sha256          text NOT NULL,
    url             text NOT NULL,              -- absolute upstream URL, no fragment
    metadata_sha256 text,                       -- PEP 658: NULL none, '' without a hash
    size            bigint,                     -- NULL until the file is cached
    metadata_size   bigint                      -- NULL until the .metadata is cached
);
CREATE INDEX upstream_files_project_idx ON upstream_files (project);

-- Names an administrator claimed for local uploads (`cheeseshop project claim`):
-- never looked up upstream again.
CREATE TABLE upstream_claims (
    normalized text PRIMARY KEY,
    claimed_at timestamptz NOT NULL DEFAULT now()
);

-- Requests for upstream names answered from the cache (hits) or from the
-- upstream (misses), added up by the servers now and then.
CREATE TABLE upstream_stats (
    id     int PRIMARY KEY CHECK (id = 1),
    hits   bigint NOT NULL DEFAULT 0,
    misses bigint NOT NULL DEFAULT 0,
    stale  bigint NOT NULL DEFAULT 0
);
INSERT INTO upstream_stats (id) VALUES (1);
