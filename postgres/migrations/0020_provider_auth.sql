-- Per-provider token endpoint auth method and allowed email domains (docs/external-login.md).
-- Existing providers get client_secret_basic, the method RFC 6749 makes mandatory for servers.
ALTER TABLE oidc_providers ADD COLUMN token_auth_method TEXT NOT NULL DEFAULT 'client_secret_basic';
ALTER TABLE oidc_providers ADD COLUMN allowed_email_domains TEXT NOT NULL DEFAULT '';
