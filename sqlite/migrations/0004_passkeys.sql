-- WebAuthn passkeys. Times are INTEGER microseconds since the Unix epoch, UTC.

-- The WebAuthn user handle of each user: random bytes, never the numeric id, so an authenticator
-- reveals nothing about the account and discoverable sign-in finds the user by exact bytes.
CREATE TABLE passkey_users (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle  BLOB    NOT NULL UNIQUE
);

CREATE TABLE passkeys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   BLOB    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    credential      BLOB    NOT NULL,
    sign_count      INTEGER NOT NULL DEFAULT 0,
    backup_eligible INTEGER NOT NULL DEFAULT 0,
    backup_state    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
);
CREATE INDEX passkeys_user ON passkeys (user_id, id);

-- Started ceremonies, keyed by the SHA-256 of the id the browser holds; single use.
CREATE TABLE passkey_ceremonies (
    id_hash    BLOB    PRIMARY KEY,
    kind       TEXT    NOT NULL,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    data       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX passkey_ceremonies_expires ON passkey_ceremonies (expires_at);
