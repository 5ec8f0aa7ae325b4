-- Recent authentication ("sudo mode", docs/api.md): when the user last confirmed it was them in a session.
ALTER TABLE sessions ADD COLUMN reauth_at INTEGER;
