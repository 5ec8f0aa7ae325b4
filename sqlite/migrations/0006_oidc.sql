-- External OpenID Connect sign-in (docs/external-login.md).
CREATE TABLE oidc_providers (
    id                       TEXT    PRIMARY KEY,
    name                     TEXT    NOT NULL,
    issuer                   TEXT    NOT NULL,
    client_id                TEXT    NOT NULL,
    client_secret_sealed     BLOB    NOT NULL,
    scopes                   TEXT    NOT NULL,
    auto_bind_verified_email INTEGER NOT NULL DEFAULT 0,
    auto_create_users        INTEGER NOT NULL DEFAULT 0,
    enabled                  INTEGER NOT NULL DEFAULT 1,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);

CREATE TABLE external_identities (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id  TEXT    NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
    subject      TEXT    NOT NULL,
    email        TEXT    NOT NULL DEFAULT '',
    bound_at     INTEGER NOT NULL,
    last_used_at INTEGER,
    CONSTRAINT external_identities_subject UNIQUE (provider_id, subject)
);
CREATE INDEX external_identities_user ON external_identities (user_id);

CREATE TABLE oidc_flows (
    state_hash   BLOB    PRIMARY KEY,
    browser_hash BLOB    NOT NULL,
    provider_id  TEXT    NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
    nonce        TEXT    NOT NULL,
    verifier     TEXT    NOT NULL,
    rd           TEXT    NOT NULL DEFAULT '',
    link_user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX oidc_flows_expires ON oidc_flows (expires_at);
