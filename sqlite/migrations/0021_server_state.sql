-- Facts about the deployment the server checks at start: today the fingerprint of auth.jwt_secret
-- (an HMAC, never the secret), so a changed secret signs everyone out once (seeds 000 and 002).
CREATE TABLE server_state (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
