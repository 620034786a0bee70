-- Issue 17: what operators need from the database.

-- The data directory of this index: one row, written when the index is
-- first served (or migrated with a data directory). The same marker is in
-- a file at the top of the data directory; a command that writes pages
-- refuses a directory whose marker is not this one, and a command run
-- without --data-dir uses path.
CREATE TABLE data_dir (
    only_row   boolean PRIMARY KEY DEFAULT true CONSTRAINT data_dir_one_row CHECK (only_row),
    marker     text NOT NULL,
    path       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Any change to a project's serial, by any process (a server, the command
-- line), wakes every server: each refreshes its root page's per-project
-- serials within --root-refresh. Per statement, so a bulk load sends one
-- notification, and PostgreSQL folds identical ones of a transaction into
-- one, delivered at commit.
CREATE FUNCTION notify_project_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cheeseshop_changes', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER projects_notify_change
    AFTER INSERT OR DELETE OR UPDATE OF last_serial ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION notify_project_change();

-- A disabled user cannot authenticate, with a password or a token.
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

-- A token may expire; an expired token is refused like a revoked one.
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
