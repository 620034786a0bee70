-- The root index lists every project in byte order of its normalised name.
-- Without this index PostgreSQL sorts all rows for it (an external merge on
-- disk at 700,000 projects: ~720 ms); with it the read is an index-only scan
-- (~120 ms). last_serial is included for the root JSON's per-project serials;
-- it makes the serial bump of an upload a non-HOT update, a few microseconds.
CREATE INDEX projects_root_order_idx ON projects (normalized COLLATE "C") INCLUDE (name, last_serial);
