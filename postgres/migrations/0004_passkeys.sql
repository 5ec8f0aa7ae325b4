-- WebAuthn passkeys. Times are TIMESTAMPTZ, written in UTC with microsecond precision.

-- The WebAuthn user handle of each user: random bytes, never the numeric id, so an authenticator
-- reveals nothing about the account and discoverable sign-in finds the user by exact bytes.
CREATE TABLE passkey_users (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle  BYTEA  NOT NULL UNIQUE
);

CREATE TABLE passkeys (
    id              BIGSERIAL PRIMARY KEY,
    user_id         BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   BYTEA   NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    credential      BYTEA   NOT NULL,
    sign_count      BIGINT  NOT NULL DEFAULT 0,
    backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL,
    last_used_at    TIMESTAMPTZ
);
CREATE INDEX passkeys_user ON passkeys (user_id, id);

-- Started ceremonies, keyed by the SHA-256 of the id the browser holds; single use.
CREATE TABLE passkey_ceremonies (
    id_hash    BYTEA  PRIMARY KEY,
    kind       TEXT   NOT NULL,
    user_id    BIGINT REFERENCES users (id) ON DELETE CASCADE,
    data       BYTEA  NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX passkey_ceremonies_expires ON passkey_ceremonies (expires_at);
