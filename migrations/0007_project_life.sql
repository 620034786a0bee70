-- PEP 792 project status (issue 18). A project always has exactly one
-- status; 'active' is the default and what every existing project is.
-- 'archived' and 'quarantined' refuse uploads and registers; 'quarantined'
-- also offers no files: its pages list none and its files leave packages/
-- for quarantine/ (internal/datadir) until the status changes again.
-- status_reason is the free text PEP 792 lets an index show with it.
ALTER TABLE projects
    ADD COLUMN status text NOT NULL DEFAULT 'active'
        CONSTRAINT projects_status_check CHECK (status IN ('active', 'archived', 'deprecated', 'quarantined')),
    ADD COLUMN status_reason text NOT NULL DEFAULT '';
