-- The groups a user created through an external provider joins (docs/external-login.md):
-- group ids separated by spaces, so renaming a group keeps the default.
ALTER TABLE oidc_providers ADD COLUMN default_group_ids TEXT NOT NULL DEFAULT '';
