-- API tokens (issue 3). A token is used as the password with the user name
-- "__token__". Only the SHA-256 of the secret is stored: the secret is 32
-- random bytes, so a fast hash is as strong as a slow one here, and a lookup
-- by hash needs no per-row work (unlike a salted password hash).
CREATE TABLE api_tokens (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_sha256 bytea NOT NULL
        CONSTRAINT api_tokens_secret_sha256_key UNIQUE
        CONSTRAINT api_tokens_secret_sha256_check CHECK (length(secret_sha256) = 32),
    -- PEP 503 normalised project names the token may upload to; empty means
    -- every project its user may upload to.
    projects      text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);
