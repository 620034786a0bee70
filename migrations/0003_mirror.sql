-- The mirror worker's state per file (internal/mirror). A file starts
-- 'pending'; the worker pushes it to the CDN target, verifies the copy
-- through its public URL and records files.cdn_url with 'mirrored'. After
-- the configured number of failed attempts it becomes 'failed' and keeps its
-- local URL until an operator runs `cheeseshop mirror retry`.
ALTER TABLE files
    ADD COLUMN mirror_state text NOT NULL DEFAULT 'pending'
        CONSTRAINT files_mirror_state_check CHECK (mirror_state IN ('pending', 'mirrored', 'failed')),
    -- Attempts started; a claim increments it, so it doubles as the lease
    -- token that keeps a worker whose lease ran out from recording a result.
    ADD COLUMN mirror_attempts integer NOT NULL DEFAULT 0,
    -- When a pending file is due. A claim pushes it forward by the lease, so
    -- a crashed worker's files come back by themselves.
    ADD COLUMN mirror_next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN mirror_last_error text NOT NULL DEFAULT '';

-- Rows that already point at a CDN copy need no push.
UPDATE files SET mirror_state = 'mirrored' WHERE cdn_url IS NOT NULL;

-- Claiming reads the due pending files in due order; mirrored files, the
-- vast majority, stay out of the index.
CREATE INDEX files_mirror_due_idx ON files (mirror_next_attempt_at, id) WHERE mirror_state = 'pending';

-- Every new file wakes the mirror workers. NOTIFY is delivered at commit, so
-- a worker never sees a row before it is visible, and the upload path does
-- not know the mirror exists (nor waits for it).
CREATE FUNCTION files_mirror_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cheeseshop_mirror', NEW.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER files_mirror_notify AFTER INSERT ON files
    FOR EACH ROW EXECUTE FUNCTION files_mirror_notify();
