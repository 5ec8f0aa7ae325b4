-- An app's launch address (docs/oidc-provider.md, "My apps"): when set, the client is listed on
-- the My apps of the users it admits. Empty: not listed.
ALTER TABLE op_clients ADD COLUMN launch_url TEXT NOT NULL DEFAULT '';

-- The sign-in method of a session whose second factor was added later (step-up): auth_method
-- then names the second factor, and this keeps the first, so an app's amr lists both
-- (docs/oidc-provider.md, claims). Empty for sessions never stepped up.
ALTER TABLE sessions ADD COLUMN first_auth_method TEXT NOT NULL DEFAULT '';
