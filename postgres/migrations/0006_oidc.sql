-- External OpenID Connect sign-in (docs/external-login.md).
CREATE TABLE oidc_providers (
    id                       TEXT    PRIMARY KEY,
    name                     TEXT    NOT NULL,
    issuer                   TEXT    NOT NULL,
    client_id                TEXT    NOT NULL,
    client_secret_sealed     BYTEA   NOT NULL,
    scopes                   TEXT    NOT NULL,
    auto_bind_verified_email BOOLEAN NOT NULL DEFAULT FALSE,
    auto_create_users        BOOLEAN NOT NULL DEFAULT FALSE,
    enabled                  BOOLEAN NOT NULL DEFAULT TRUE,
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL
);

CREATE TABLE external_identities (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id  TEXT    NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
    subject      TEXT    NOT NULL,
    email        TEXT    NOT NULL DEFAULT '',
    bound_at     TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    CONSTRAINT external_identities_subject UNIQUE (provider_id, subject)
);
CREATE INDEX external_identities_user ON external_identities (user_id);

CREATE TABLE oidc_flows (
    state_hash   BYTEA   PRIMARY KEY,
    browser_hash BYTEA   NOT NULL,
    provider_id  TEXT    NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
    nonce        TEXT    NOT NULL,
    verifier     TEXT    NOT NULL,
    rd           TEXT    NOT NULL DEFAULT '',
    link_user_id BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_flows_expires ON oidc_flows (expires_at);
