-- The site logo uploaded on the branding page (docs/settings.md); at most one row. The runtime
-- setting site_logo names the version pages link to.
CREATE TABLE site_logo (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    content_type TEXT    NOT NULL,
    data         BLOB    NOT NULL,
    updated_at   INTEGER NOT NULL
);
