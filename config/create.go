package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// template is the file written on first start. Both %s are replaced by fresh random secrets.
const template = `# gatehouse static configuration, written on first start.
#
# Precedence, highest first: command-line flag > environment variable > this file > default.
# Every key also has an environment variable GATEHOUSE__<SECTION>__<KEY>, e.g.
# GATEHOUSE__AUTH__JWT_SECRET or GATEHOUSE__SERVER__TRUSTED_PROXIES=10.0.0.0/8,192.168.0.0/16.
# This file holds secrets: keep it readable by the gatehouse user only (mode 0600) and back it up.
# Day-to-day rules (token lifetimes, registration, mail, ...) are runtime settings in the database.

[server]
# Address to listen on, host:port. ":8080" listens on every interface.
listen = "127.0.0.1:8080"
# The URL users reach gatehouse at. Used for every link in mail, for the WebAuthn RP ID and origin
# and for OIDC redirect URIs; the Host header is never trusted. Use https:// in production.
public_url = "http://localhost:8080"
# Reverse proxies (CIDR ranges or single addresses) whose X-Forwarded-For header is believed.
# Empty = loopback only. List your proxies (a Docker network, a Kubernetes pod range, a CDN's
# ranges); X-Forwarded-For is then read right to left up to the first address not listed.
trusted_proxies = []
# Widen the session cookie to a parent domain (e.g. "example.com") when the apps behind forward
# auth live on other subdomains than gatehouse. Empty = only the public URL's host.
cookie_domain = ""
# Bearer token a Prometheus scraper sends to /metrics (at least 16 characters). Empty = /metrics
# answers only direct connections from loopback (no forwarding headers); everyone else gets 401.
metrics_token = ""
# Hash passwords in the server's own process instead of a worker process it starts (the same
# program, run as "gatehouse hash-worker" at a lower priority, so a sign-in flood does not slow
# the request checks). Set true only where starting a process is forbidden.
hash_in_process = false

[database]
# "sqlite" (embedded, the default) or "postgres" (several instances can share one database).
driver = "sqlite"
# The SQLite file path (relative to the working directory), or a PostgreSQL URL such as
# "postgres://gatehouse:password@127.0.0.1:5432/gatehouse?sslmode=disable".
dsn = "data/gatehouse.db"

[auth]
# Signs access tokens. Changing it signs everyone out at the next start: every session, refresh
# token, access token and mailed link stops working. At least 32 characters.
jwt_secret = "%s"
# Encrypts stored TOTP secrets and external providers' client secrets. Keep it: if it changes,
# existing MFA enrollments and provider secrets cannot be decrypted any more. At least 32
# characters.
mfa_secret_key = "%s"
# Only the initial value of the runtime setting auth_cookie_secure (false => cookies are Secure).
# Set true only for a first trial over plain http.
bootstrap_insecure_cookies = false

[geoip]
# MaxMind-format .mmdb with city/country/continent/location, for session GeoIP binding and events.
city_db = ""
# MaxMind-format .mmdb with autonomous_system_number/organization, for session network binding.
asn_db = ""

[redis]
# Optional Redis URL (redis://host:6379/0) to share rate-limit state between several instances.
# Empty = in-memory limits per instance.
url = ""

[dev]
# DEVELOPMENT ONLY: when no user exists, creates admin@admin.com with password "admin".
seed_admin = false
`

// Template returns the commented configuration file with the given secrets.
func Template(jwtSecret, mfaSecretKey string) string {
	return fmt.Sprintf(template, jwtSecret, mfaSecretKey)
}

// NewSecret returns 32 random bytes, base64url-encoded without padding (43 characters).
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// create writes a fresh configuration file at path unless one appears meanwhile. It reports
// whether this call created it. The content is written to a private temporary file first and then
// hard-linked into place, which fails rather than overwrites if path exists, so a concurrent
// reader never sees a half-written file. Where hard links are unsupported it falls back to
// creating path itself with O_CREATE|O_EXCL.
func create(path string) (bool, error) {
	jwt, err := NewSecret()
	if err != nil {
		return false, fmt.Errorf("generating auth.jwt_secret: %w", err)
	}
	mfa, err := NewSecret()
	if err != nil {
		return false, fmt.Errorf("generating auth.mfa_secret_key: %w", err)
	}
	content := []byte(Template(jwt, mfa))
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("creating the directory of configuration file %s: %w", path, unwrapPathError(err))
	}

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*")
	if err == nil {
		tmpName := tmp.Name()
		defer os.Remove(tmpName)
		if err := writeClose(tmp, content); err != nil {
			return false, fmt.Errorf("writing configuration file %s: %w", path, err)
		}
		err = os.Link(tmpName, path)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, os.ErrExist):
			return false, nil // another process won the race; load its file
		}
		// Hard links unsupported here: fall through to O_EXCL.
	}

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("creating configuration file %s: %w", path, unwrapPathError(err))
	}
	if err := writeClose(f, content); err != nil {
		_ = os.Remove(path)
		return false, fmt.Errorf("writing configuration file %s: %w", path, err)
	}
	return true, nil
}

func writeClose(f *os.File, content []byte) error {
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
