-- Per-project size limits, PyPI's model (`cheeseshop project limit`): the
-- largest file an upload may add to the project, and the largest total
-- size of the project's files. NULL: the server's --max-file-size, and no
-- total limit.
ALTER TABLE projects
    ADD COLUMN upload_limit bigint CHECK (upload_limit > 0),
    ADD COLUMN total_size_limit bigint CHECK (total_size_limit > 0);

-- The largest per-project file limit bounds an upload whose form names its
-- project only after the file: a lookup of the few projects that have one.
CREATE INDEX projects_upload_limit_idx ON projects (upload_limit) WHERE upload_limit IS NOT NULL;
