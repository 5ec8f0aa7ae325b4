-- Invitations: admin-made sign-up links (docs/access-control.md, Invitations). Only the SHA-256
-- of the link's token is stored, so the database cannot hand out working links.
CREATE TABLE invitations (
    id         BIGSERIAL   PRIMARY KEY,
    token_hash BYTEA       NOT NULL UNIQUE,
    email      TEXT        NOT NULL DEFAULT '',
    max_uses   INTEGER     NOT NULL,
    uses       INTEGER     NOT NULL DEFAULT 0,
    created_by BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- The groups an invitee joins; a deleted group leaves the invitations that named it.
CREATE TABLE invitation_groups (
    invitation_id BIGINT NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    group_id      BIGINT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (invitation_id, group_id)
);
