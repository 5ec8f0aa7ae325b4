-- Invitations: admin-made sign-up links (docs/access-control.md, Invitations). Only the SHA-256
-- of the link's token is stored, so the database cannot hand out working links.
CREATE TABLE invitations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash BLOB    NOT NULL UNIQUE,
    email      TEXT    NOT NULL DEFAULT '',
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- The groups an invitee joins; a deleted group leaves the invitations that named it.
CREATE TABLE invitation_groups (
    invitation_id INTEGER NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    group_id      INTEGER NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (invitation_id, group_id)
);
