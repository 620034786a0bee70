-- The serial each project's pages were last built from. staticgen rewrites a
-- project's pages under the project's advisory lock and, in the same
-- transaction, records here the last_serial of the state it rendered
-- (index.Store.LockedProject). NULL means "not known": pages written before
-- this column existed, or by a process that crashed before recording.
--
-- Start-up repair (internal/repair) rewrites exactly the projects whose
-- page_serial differs from last_serial instead of reading 700,000 pages
-- from disk. The partial index holds only those rows, which outside a crash
-- are the handful whose upload is between its commit and its page rewrite,
-- so finding them is one small index scan.
ALTER TABLE projects ADD COLUMN page_serial bigint;

CREATE INDEX projects_stale_pages_idx ON projects (normalized)
    WHERE page_serial IS DISTINCT FROM last_serial;
