-- Mail templates edited in the admin console (docs/mail.md); a kind without a row uses the
-- built-in template.
CREATE TABLE mail_templates (
    kind       TEXT    PRIMARY KEY,
    subject    TEXT    NOT NULL,
    text_body  TEXT    NOT NULL,
    html_body  TEXT    NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
