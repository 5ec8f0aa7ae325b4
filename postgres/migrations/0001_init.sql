-- Times are TIMESTAMPTZ, written in UTC with microsecond precision.
CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    username       TEXT    NOT NULL UNIQUE,
    email          TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL DEFAULT '',
    role           TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    mfa_enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash  TEXT    NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    id             TEXT    PRIMARY KEY,
    user_id        BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash     BYTEA    NOT NULL UNIQUE,
    auth_method    TEXT    NOT NULL,
    ip             TEXT    NOT NULL DEFAULT '',
    user_agent     TEXT    NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    stay_signed_in BOOLEAN NOT NULL DEFAULT FALSE,
    binding        TEXT,
    access_exp_max TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    revoke_reason  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE refresh_tokens (
    hash       BYTEA    PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Feed IDs come from a sequence and are never reused.
CREATE TABLE changes (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    subject    TEXT    NOT NULL DEFAULT '',
    at         TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX changes_expires ON changes (expires_at);

-- No foreign key on user_id: the audit trail outlives the account.
CREATE TABLE events (
    id         BIGSERIAL PRIMARY KEY,
    time       TIMESTAMPTZ NOT NULL,
    kind       TEXT    NOT NULL,
    user_id    BIGINT,
    session_id TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    data       TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_user ON events (user_id, id);
CREATE INDEX events_kind ON events (kind, id);

CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
