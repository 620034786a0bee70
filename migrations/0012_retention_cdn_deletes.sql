-- Retention policies (issue 18): per project, how many matching releases
-- to keep and how old the others must be before the server's daily prune
-- deletes them (`cheeseshop project retention`, internal/index/retention.go).
-- Pruned releases are deleted as `cheeseshop delete` deletes them: their
-- filenames go into deleted_filenames for good.
CREATE TABLE retention_policies (
    project_id         bigint PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    keep               integer NOT NULL CHECK (keep >= 0),
    match              text NOT NULL CHECK (match IN ('dev', 'pre', 'all')),
    older_than_seconds bigint NOT NULL CHECK (older_than_seconds >= 0),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Deletions reach the CDN (issue 18). Deleting or pruning a file, or
-- quarantining its project, queues the removal of its copy (and of its
-- .metadata) from the mirror target, for every file the mirror worker may
-- have pushed (it was claimed at least once, or has a CDN URL). The row is
-- self-contained: the file's row may be gone. It is due once any push of the
-- file in flight has run out (the claim's lease), so a late push cannot
-- bring the copy back. A done deletion's row is removed; after the
-- configured number of failed attempts it stays 'failed' until
-- `cheeseshop mirror retry --all-failed`.
CREATE TABLE mirror_deletions (
    id              bigserial PRIMARY KEY,
    project         text NOT NULL,             -- normalised name, for status
    filename        text NOT NULL,
    path            text NOT NULL,             -- object path, as files.path
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mirror_deletions_due_idx ON mirror_deletions (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX mirror_deletions_path_idx ON mirror_deletions (path);

-- A queued deletion wakes the mirror workers, as a new file does.
CREATE TRIGGER mirror_deletions_notify AFTER INSERT ON mirror_deletions
    FOR EACH ROW EXECUTE FUNCTION files_mirror_notify();
