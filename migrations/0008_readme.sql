-- A release's README rendered for people, once, when the release is
-- uploaded or registered (internal/readme): sanitised HTML, and the version
-- of the renderer that made it. 0 means "render again": releases from
-- before this column, seeded ones, and reST shown preformatted because
-- docutils was missing. `cheeseshop regenerate` renders again every README
-- whose version is older than the binary's renderer.
ALTER TABLE releases
    ADD COLUMN description_html text NOT NULL DEFAULT '',
    ADD COLUMN description_html_version integer NOT NULL DEFAULT 0;
