-- The Unicode TR39 confusable skeleton of each username (gatehouse.UsernameSkeleton), unique, so
-- "alice" and a look-alike (Cyrillic "аlice", "alıce") cannot both exist. Rows from before this
-- migration are NULL: the server fills them at start and reports, never changes, names whose
-- skeletons collide (those rows keep NULL until an administrator renames one of them).
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
CREATE UNIQUE INDEX users_username_skeleton ON users (username_skeleton);
