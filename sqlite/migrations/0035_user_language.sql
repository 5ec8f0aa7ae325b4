-- The account's preferred language ("en", "de"; '' when none was chosen): its mail is written
-- in it (i18n, docs/pages.md).
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
