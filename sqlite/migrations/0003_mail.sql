-- Mail flows: pending (not yet activated) accounts, one-time links and the mail outbox.
ALTER TABLE users ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_pending ON users (pending, id);

-- Only the SHA-256 of a link's token is stored.
CREATE TABLE one_time_tokens (
    hash       BLOB    PRIMARY KEY,
    kind       TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, kind, created_at);
CREATE INDEX one_time_tokens_expires ON one_time_tokens (expires_at);

CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    to_addr         TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text_body       TEXT    NOT NULL DEFAULT '',
    html_body       TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
