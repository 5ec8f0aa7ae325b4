-- Groups and forward-auth access rules (docs/access-control.md).
CREATE TABLE user_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- The rules as one ordered list; each row is one rule as JSON (gatehouse.AccessRule).
CREATE TABLE access_rules (
    position INTEGER PRIMARY KEY,
    rule     TEXT    NOT NULL
);

-- Step-up: when a second factor was added to a one-factor session.
ALTER TABLE sessions ADD COLUMN upgraded_at INTEGER;
