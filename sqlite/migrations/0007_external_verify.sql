-- Linking an external identity by proving the email address (docs/external-login.md).
ALTER TABLE one_time_tokens ADD COLUMN data TEXT NOT NULL DEFAULT '';

CREATE TABLE oidc_pending (
    browser_hash BLOB    PRIMARY KEY,
    provider_id  TEXT    NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
    subject      TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    rd           TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX oidc_pending_expires ON oidc_pending (expires_at);
