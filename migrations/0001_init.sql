-- The truth about projects, releases, files, users and roles.
-- Serials: every change appends a journal row; its id is the serial (PyPI's model).

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,               -- display name, as last uploaded
    normalized  text NOT NULL UNIQUE,        -- PEP 503
    last_serial bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE roles (
    project_id bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('owner', 'maintainer')),
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX roles_user_idx ON roles (user_id);

CREATE TABLE releases (
    id            bigserial PRIMARY KEY,
    project_id    bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    version       text NOT NULL,             -- PEP 440 normalised
    canonical     text NOT NULL,             -- canonicalize_version: identifies the release
    created_at    timestamptz NOT NULL DEFAULT now(),
    yanked        boolean NOT NULL DEFAULT false,
    yanked_reason text NOT NULL DEFAULT '',
    metadata      jsonb NOT NULL DEFAULT '{}',
    UNIQUE (project_id, canonical)
);

CREATE TABLE files (
    id               bigserial PRIMARY KEY,
    release_id       bigint NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    project_id       bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    filename         text NOT NULL,
    packagetype      text NOT NULL CHECK (packagetype IN ('sdist', 'bdist_wheel')),
    python_version   text NOT NULL,
    size             bigint NOT NULL,
    sha256           text NOT NULL,
    md5              text NOT NULL,
    blake2b_256      text NOT NULL,
    upload_time      timestamptz NOT NULL DEFAULT now(),
    requires_python  text NOT NULL DEFAULT '',
    path             text NOT NULL,           -- relative to DATA/packages
    metadata_sha256  text NOT NULL DEFAULT '',-- PEP 658 <file>.metadata, '' for none
    cdn_url          text,                    -- set by the mirror worker after verification
    comment_text     text NOT NULL DEFAULT '',
    CONSTRAINT files_filename_key UNIQUE (filename),
    CONSTRAINT files_blake2b_256_key UNIQUE (blake2b_256)
);
CREATE INDEX files_project_idx ON files (project_id);
CREATE INDEX files_release_idx ON files (release_id);

-- Filenames can never be reused, even after their file was deleted.
CREATE TABLE deleted_filenames (
    filename   text PRIMARY KEY,
    deleted_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE journal (
    id           bigserial PRIMARY KEY,      -- the serial
    project_id   bigint REFERENCES projects(id) ON DELETE SET NULL,
    name         text NOT NULL,
    version      text,
    action       text NOT NULL,
    submitted_by text,
    submitted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX journal_project_idx ON journal (project_id);
