-- An app's launch address (docs/oidc-provider.md, "My apps"): when set, the client is listed on
-- the My apps of the users it admits. Empty: not listed.
ALTER TABLE op_clients ADD COLUMN launch_url TEXT NOT NULL DEFAULT '';
