-- gatehouse as an OpenID Provider (docs/oidc-provider.md). Codes, grants and tokens hang off
-- the gatehouse session: RevokeSession revokes the grants, and deleting a session deletes them.
CREATE TABLE op_clients (
    id                        TEXT    PRIMARY KEY,
    name                      TEXT    NOT NULL,
    secret_hash               BLOB,
    public                    INTEGER NOT NULL DEFAULT 0,
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL,
    allowed_groups            TEXT    NOT NULL,
    skip_consent              INTEGER NOT NULL DEFAULT 0,
    access_token_ttl_secs     INTEGER NOT NULL DEFAULT 0,
    refresh_token_ttl_secs    INTEGER NOT NULL DEFAULT 0,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);

CREATE TABLE op_keys (
    id         TEXT    PRIMARY KEY,
    alg        TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    active_at  INTEGER NOT NULL,
    retire_at  INTEGER,
    expires_at INTEGER
);

CREATE TABLE op_subjects (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    subject TEXT    NOT NULL UNIQUE
);

CREATE TABLE op_auth_requests (
    id           TEXT    PRIMARY KEY,
    client_id    TEXT    NOT NULL REFERENCES op_clients (id) ON DELETE CASCADE,
    data         TEXT    NOT NULL,
    code_hash    BLOB    UNIQUE,
    grant_id     TEXT    NOT NULL DEFAULT '',
    exchanged_at INTEGER,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX op_auth_requests_expires ON op_auth_requests (expires_at);

CREATE TABLE op_grants (
    id         TEXT    PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES op_clients (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    data       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX op_grants_session ON op_grants (session_id);
CREATE INDEX op_grants_user ON op_grants (user_id, client_id);
CREATE INDEX op_grants_expires ON op_grants (expires_at);

CREATE TABLE op_tokens (
    token_key  BLOB    PRIMARY KEY,
    grant_id   TEXT    NOT NULL REFERENCES op_grants (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX op_tokens_grant ON op_tokens (grant_id);
CREATE INDEX op_tokens_expires ON op_tokens (expires_at);

CREATE TABLE op_consents (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL REFERENCES op_clients (id) ON DELETE CASCADE,
    scopes     TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
