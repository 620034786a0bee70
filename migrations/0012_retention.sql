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
