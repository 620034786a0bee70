CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

COMMENT ON EXTENSION pg_trgm IS 'text similarity measurement and index searching based on trigrams';

CREATE FUNCTION public.files_mirror_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('cheeseshop_mirror', NEW.id::text);
    RETURN NULL;
END
$$;

CREATE FUNCTION public.notify_project_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('cheeseshop_changes', '');
    RETURN NULL;
END;
$$;

CREATE FUNCTION public.projects_refresh_search() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM refresh_project_search(ARRAY[NEW.id]);
    RETURN NULL;
END;
$$;

CREATE FUNCTION public.refresh_project_search(ids bigint[]) RETURNS void
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $$
BEGIN
    INSERT INTO project_search AS s (project_id, name, normalized, summary, latest_version)
    SELECT p.id, p.name, p.normalized, coalesce(l.summary, ''), coalesce(l.version, '')
    FROM projects p
    LEFT JOIN LATERAL (
        SELECT r.version, left(coalesce(r.metadata->>'summary', ''), 512) AS summary
        FROM releases r
        WHERE r.project_id = p.id
        ORDER BY r.yanked, r.order_pre, r.order_epoch DESC, r.order_release DESC NULLS LAST,
            r.created_at DESC, r.id DESC
        LIMIT 1
    ) l ON true
    WHERE p.id = ANY(ids)
    ON CONFLICT (project_id) DO UPDATE
        SET name = excluded.name, summary = excluded.summary, latest_version = excluded.latest_version
        WHERE (s.name, s.summary, s.latest_version) IS DISTINCT FROM (excluded.name, excluded.summary, excluded.latest_version);
END;
$$;

CREATE FUNCTION public.releases_refresh_search() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM refresh_project_search(ARRAY(SELECT DISTINCT project_id FROM changed));
    RETURN NULL;
END;
$$;

CREATE TABLE public.api_tokens (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    secret_sha256 bytea NOT NULL,
    projects text[] DEFAULT '{}'::text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    expires_at timestamp with time zone,
    CONSTRAINT api_tokens_secret_sha256_check CHECK ((length(secret_sha256) = 32))
);

CREATE SEQUENCE public.api_tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.api_tokens_id_seq OWNED BY public.api_tokens.id;

CREATE TABLE public.data_dir (
    only_row boolean DEFAULT true NOT NULL,
    marker text NOT NULL,
    path text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT data_dir_one_row CHECK (only_row)
);

CREATE TABLE public.deleted_filenames (
    filename text NOT NULL,
    deleted_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.files (
    id bigint NOT NULL,
    release_id bigint NOT NULL,
    project_id bigint NOT NULL,
    filename text NOT NULL,
    packagetype text NOT NULL,
    python_version text NOT NULL,
    size bigint NOT NULL,
    sha256 text NOT NULL,
    md5 text NOT NULL,
    blake2b_256 text NOT NULL,
    upload_time timestamp with time zone DEFAULT now() NOT NULL,
    requires_python text DEFAULT ''::text NOT NULL,
    path text NOT NULL,
    metadata_sha256 text DEFAULT ''::text NOT NULL,
    cdn_url text,
    comment_text text DEFAULT ''::text NOT NULL,
    mirror_state text DEFAULT 'pending'::text NOT NULL,
    mirror_attempts integer DEFAULT 0 NOT NULL,
    mirror_next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    mirror_last_error text DEFAULT ''::text NOT NULL,
    CONSTRAINT files_mirror_state_check CHECK ((mirror_state = ANY (ARRAY['pending'::text, 'mirrored'::text, 'failed'::text]))),
    CONSTRAINT files_packagetype_check CHECK ((packagetype = ANY (ARRAY['sdist'::text, 'bdist_wheel'::text])))
);

CREATE SEQUENCE public.files_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.files_id_seq OWNED BY public.files.id;

CREATE TABLE public.journal (
    id bigint NOT NULL,
    project_id bigint,
    name text NOT NULL,
    version text,
    action text NOT NULL,
    submitted_by text,
    submitted_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE SEQUENCE public.journal_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.journal_id_seq OWNED BY public.journal.id;

CREATE TABLE public.mirror_deletions (
    id bigint NOT NULL,
    project text NOT NULL,
    filename text NOT NULL,
    path text NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    last_error text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT mirror_deletions_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'failed'::text])))
);

CREATE SEQUENCE public.mirror_deletions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.mirror_deletions_id_seq OWNED BY public.mirror_deletions.id;

CREATE TABLE public.project_search (
    project_id bigint NOT NULL,
    name text NOT NULL,
    normalized text NOT NULL,
    summary text DEFAULT ''::text NOT NULL,
    latest_version text DEFAULT ''::text NOT NULL,
    name_doc tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, translate(name, '-_.'::text, '   '::text))) STORED,
    search_doc tsvector GENERATED ALWAYS AS ((setweight(to_tsvector('english'::regconfig, translate(name, '-_.'::text, '   '::text)), 'A'::"char") || setweight(to_tsvector('english'::regconfig, summary), 'B'::"char"))) STORED
)
WITH (fillfactor='90');

CREATE TABLE public.projects (
    id bigint NOT NULL,
    name text NOT NULL,
    normalized text NOT NULL,
    last_serial bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    page_serial bigint,
    status text DEFAULT 'active'::text NOT NULL,
    status_reason text DEFAULT ''::text NOT NULL,
    upload_limit bigint,
    total_size_limit bigint,
    CONSTRAINT projects_status_check CHECK ((status = ANY (ARRAY['active'::text, 'archived'::text, 'deprecated'::text, 'quarantined'::text]))),
    CONSTRAINT projects_total_size_limit_check CHECK ((total_size_limit > 0)),
    CONSTRAINT projects_upload_limit_check CHECK ((upload_limit > 0))
);

CREATE SEQUENCE public.projects_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.projects_id_seq OWNED BY public.projects.id;

CREATE TABLE public.releases (
    id bigint NOT NULL,
    project_id bigint NOT NULL,
    version text NOT NULL,
    canonical text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    yanked boolean DEFAULT false NOT NULL,
    yanked_reason text DEFAULT ''::text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    description_html text DEFAULT ''::text NOT NULL,
    description_html_version integer DEFAULT 0 NOT NULL,
    order_pre boolean GENERATED ALWAYS AS ((split_part(version, '+'::text, 1) ~ '(a|b|rc|dev)[0-9]'::text)) STORED,
    order_epoch numeric GENERATED ALWAYS AS ((COALESCE("substring"(version, '^([0-9]+)!'::text), '0'::text))::numeric) STORED,
    order_release numeric[] GENERATED ALWAYS AS ((string_to_array("substring"(version, '^(?:[0-9]+!)?([0-9]+(?:\.[0-9]+)*)'::text), '.'::text))::numeric[]) STORED
);

CREATE SEQUENCE public.releases_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.releases_id_seq OWNED BY public.releases.id;

CREATE TABLE public.retention_policies (
    project_id bigint NOT NULL,
    keep integer NOT NULL,
    match text NOT NULL,
    older_than_seconds bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT retention_policies_keep_check CHECK ((keep >= 0)),
    CONSTRAINT retention_policies_match_check CHECK ((match = ANY (ARRAY['dev'::text, 'pre'::text, 'all'::text]))),
    CONSTRAINT retention_policies_older_than_seconds_check CHECK ((older_than_seconds >= 0))
);

CREATE TABLE public.roles (
    project_id bigint NOT NULL,
    user_id bigint NOT NULL,
    role text NOT NULL,
    CONSTRAINT roles_role_check CHECK ((role = ANY (ARRAY['owner'::text, 'maintainer'::text])))
);

CREATE TABLE public.upstream_claims (
    normalized text NOT NULL,
    claimed_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.upstream_files (
    path text NOT NULL,
    project text NOT NULL,
    filename text NOT NULL,
    sha256 text NOT NULL,
    url text NOT NULL,
    metadata_sha256 text,
    size bigint,
    metadata_size bigint
);

CREATE TABLE public.upstream_projects (
    normalized text NOT NULL,
    name text NOT NULL,
    found boolean NOT NULL,
    etag text DEFAULT ''::text NOT NULL,
    last_modified text DEFAULT ''::text NOT NULL,
    checked_at timestamp with time zone NOT NULL
);

CREATE TABLE public.upstream_stats (
    id integer NOT NULL,
    hits bigint DEFAULT 0 NOT NULL,
    misses bigint DEFAULT 0 NOT NULL,
    stale bigint DEFAULT 0 NOT NULL,
    CONSTRAINT upstream_stats_id_check CHECK ((id = 1))
);

CREATE TABLE public.users (
    id bigint NOT NULL,
    name text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    disabled_at timestamp with time zone
);

CREATE SEQUENCE public.users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;

ALTER TABLE ONLY public.api_tokens ALTER COLUMN id SET DEFAULT nextval('public.api_tokens_id_seq'::regclass);

ALTER TABLE ONLY public.files ALTER COLUMN id SET DEFAULT nextval('public.files_id_seq'::regclass);

ALTER TABLE ONLY public.journal ALTER COLUMN id SET DEFAULT nextval('public.journal_id_seq'::regclass);

ALTER TABLE ONLY public.mirror_deletions ALTER COLUMN id SET DEFAULT nextval('public.mirror_deletions_id_seq'::regclass);

ALTER TABLE ONLY public.projects ALTER COLUMN id SET DEFAULT nextval('public.projects_id_seq'::regclass);

ALTER TABLE ONLY public.releases ALTER COLUMN id SET DEFAULT nextval('public.releases_id_seq'::regclass);

ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_secret_sha256_key UNIQUE (secret_sha256);

ALTER TABLE ONLY public.data_dir
    ADD CONSTRAINT data_dir_pkey PRIMARY KEY (only_row);

ALTER TABLE ONLY public.deleted_filenames
    ADD CONSTRAINT deleted_filenames_pkey PRIMARY KEY (filename);

ALTER TABLE ONLY public.files
    ADD CONSTRAINT files_blake2b_256_key UNIQUE (blake2b_256);

ALTER TABLE ONLY public.files
    ADD CONSTRAINT files_filename_key UNIQUE (filename);

ALTER TABLE ONLY public.files
    ADD CONSTRAINT files_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.journal
    ADD CONSTRAINT journal_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.mirror_deletions
    ADD CONSTRAINT mirror_deletions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.project_search
    ADD CONSTRAINT project_search_pkey PRIMARY KEY (project_id);

ALTER TABLE ONLY public.projects
    ADD CONSTRAINT projects_normalized_key UNIQUE (normalized);

ALTER TABLE ONLY public.projects
    ADD CONSTRAINT projects_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.releases
    ADD CONSTRAINT releases_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.releases
    ADD CONSTRAINT releases_project_id_canonical_key UNIQUE (project_id, canonical);

ALTER TABLE ONLY public.retention_policies
    ADD CONSTRAINT retention_policies_pkey PRIMARY KEY (project_id);

ALTER TABLE ONLY public.roles
    ADD CONSTRAINT roles_pkey PRIMARY KEY (project_id, user_id);

ALTER TABLE ONLY public.upstream_claims
    ADD CONSTRAINT upstream_claims_pkey PRIMARY KEY (normalized);

ALTER TABLE ONLY public.upstream_files
    ADD CONSTRAINT upstream_files_pkey PRIMARY KEY (path);

ALTER TABLE ONLY public.upstream_projects
    ADD CONSTRAINT upstream_projects_pkey PRIMARY KEY (normalized);

ALTER TABLE ONLY public.upstream_stats
    ADD CONSTRAINT upstream_stats_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_name_key UNIQUE (name);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

CREATE INDEX api_tokens_user_idx ON public.api_tokens USING btree (user_id);

CREATE INDEX files_mirror_due_idx ON public.files USING btree (mirror_next_attempt_at, id) WHERE (mirror_state = 'pending'::text);

CREATE INDEX files_project_idx ON public.files USING btree (project_id);

CREATE INDEX files_release_idx ON public.files USING btree (release_id);

CREATE INDEX journal_project_idx ON public.journal USING btree (project_id);

CREATE INDEX mirror_deletions_due_idx ON public.mirror_deletions USING btree (next_attempt_at, id) WHERE (state = 'pending'::text);

CREATE INDEX mirror_deletions_path_idx ON public.mirror_deletions USING btree (path);

CREATE INDEX project_search_name_doc_idx ON public.project_search USING gin (name_doc) WITH (fastupdate=off);

CREATE INDEX project_search_normalized_trgm_idx ON public.project_search USING gin (normalized public.gin_trgm_ops) WITH (fastupdate=off);

CREATE INDEX project_search_search_doc_idx ON public.project_search USING gin (search_doc) WITH (fastupdate=off);

CREATE INDEX projects_root_order_idx ON public.projects USING btree (normalized COLLATE "C") INCLUDE (name, last_serial);

CREATE INDEX projects_stale_pages_idx ON public.projects USING btree (normalized) WHERE (page_serial IS DISTINCT FROM last_serial);

CREATE INDEX projects_upload_limit_idx ON public.projects USING btree (upload_limit) WHERE (upload_limit IS NOT NULL);

CREATE INDEX releases_latest_idx ON public.releases USING btree (project_id, yanked, order_pre, order_epoch DESC, order_release DESC NULLS LAST, created_at DESC, id DESC);

CREATE INDEX roles_user_idx ON public.roles USING btree (user_id);

CREATE INDEX upstream_files_project_idx ON public.upstream_files USING btree (project);

CREATE TRIGGER files_mirror_notify AFTER INSERT ON public.files FOR EACH ROW EXECUTE FUNCTION public.files_mirror_notify();

CREATE TRIGGER mirror_deletions_notify AFTER INSERT ON public.mirror_deletions FOR EACH ROW EXECUTE FUNCTION public.files_mirror_notify();

CREATE TRIGGER projects_notify_change AFTER INSERT OR DELETE OR UPDATE OF last_serial ON public.projects FOR EACH STATEMENT EXECUTE FUNCTION public.notify_project_change();

CREATE TRIGGER projects_search_name AFTER UPDATE OF name ON public.projects FOR EACH ROW WHEN ((old.name IS DISTINCT FROM new.name)) EXECUTE FUNCTION public.projects_refresh_search();

CREATE TRIGGER releases_search_delete AFTER DELETE ON public.releases REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION public.releases_refresh_search();

CREATE TRIGGER releases_search_insert AFTER INSERT ON public.releases REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION public.releases_refresh_search();

CREATE TRIGGER releases_search_update AFTER UPDATE ON public.releases REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION public.releases_refresh_search();

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.files
    ADD CONSTRAINT files_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.files
    ADD CONSTRAINT files_release_id_fkey FOREIGN KEY (release_id) REFERENCES public.releases(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.journal
    ADD CONSTRAINT journal_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.project_search
    ADD CONSTRAINT project_search_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.releases
    ADD CONSTRAINT releases_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.retention_policies
    ADD CONSTRAINT retention_policies_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.roles
    ADD CONSTRAINT roles_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.roles
    ADD CONSTRAINT roles_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.upstream_files
    ADD CONSTRAINT upstream_files_project_fkey FOREIGN KEY (project) REFERENCES public.upstream_projects(normalized) ON DELETE CASCADE;
