-- gatehouse as an OpenID Provider (docs/oidc-provider.md). Codes, grants and tokens hang off
-- the gatehouse session: RevokeSession revokes the grants, and deleting a session deletes them.
CREATE TABLE op_clients (
    id                        TEXT    PRIMARY KEY,
    name                      TEXT    NOT NULL,
    secret_hash               BYTEA,
    public                    BOOLEAN NOT NULL DEFAULT FALSE,
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL,
    allowed_groups            TEXT    NOT NULL,
    skip_consent              BOOLEAN NOT NULL DEFAULT FALSE,
    access_token_ttl_secs     INTEGER NOT NULL DEFAULT 0,
    refresh_token_ttl_secs    INTEGER NOT NULL DEFAULT 0,
    created_at                TIMESTAMPTZ NOT NULL,
    updated_at                TIMESTAMPTZ NOT NULL
);

CREATE TABLE op_keys (
    id         TEXT    PRIMARY KEY,
    alg        TEXT    NOT NULL,
    sealed     BYTEA   NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    active_at  TIMESTAMPTZ NOT NULL,
    retire_at  TIMESTAMPTZ,
    expires_at TIMESTAMPTZ
);

CREATE TABLE op_subjects (
    user_id BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    subject TEXT    NOT NULL UNIQUE
);

CREATE TABLE op_auth_requests (
    id           TEXT    PRIMARY KEY,
    client_id    TEXT    NOT NULL REFERENCES op_clients (id) ON DELETE CASCADE,
    data         TEXT    NOT NULL,
    code_hash    BYTEA   UNIQUE,
    grant_id     TEXT    NOT NULL DEFAULT '',
    exchanged_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX op_auth_requests_expires ON op_auth_requests (expires_at);

CREATE TABLE op_grants (
    id         TEXT    PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES op_clients (id) ON DELETE CASCADE,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    data       TEXT    NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX op_grants_session ON op_grants (session_id);
CREATE INDEX op_grants_user ON op_grants (user_id, client_id);
CREATE INDEX op_grants_expires ON op_grants (expires_at);

CREATE TABLE op_tokens (
    token_key  BYTEA   PRIMARY KEY,
    grant_id   TEXT    NOT NULL REFERENCES op_grants (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX op_tokens_grant ON op_tokens (grant_id);
CREATE INDEX op_tokens_expires ON op_tokens (expires_at);

CREATE TABLE op_consents (
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL REFERENCES op_clients (id) ON DELETE CASCADE,
    scopes     TEXT    NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
