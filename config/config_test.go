package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

const (
	secretA = "file-secret-0123456789abcdefghijklmnop"
	secretB = "mfa-secret-0123456789abcdefghijklmnopq"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func ptr(s string) *string { return &s }

// write puts a config file with valid secrets plus extra into dir.
func write(t *testing.T, extra string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gatehouse.toml")
	body := "[auth]\njwt_secret = \"" + secretA + "\"\nmfa_secret_key = \"" + secretB + "\"\n" + extra
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, path string, vars map[string]string, o Overrides) *LoadResult {
	t.Helper()
	res, err := Load(path, env(vars), o, false)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return res
}

func loadErr(t *testing.T, path string, vars map[string]string, o Overrides) string {
	t.Helper()
	_, err := Load(path, env(vars), o, false)
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	return err.Error()
}

func TestCreateWritesPrivateFileWithFreshSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "gatehouse.toml")
	res, err := Load(path, env(nil), Overrides{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created {
		t.Fatal("Created = false for a new file")
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	jwt := regexp.MustCompile(`(?m)^jwt_secret = "([^"]{32,})"$`).FindSubmatch(b)
	mfa := regexp.MustCompile(`(?m)^mfa_secret_key = "([^"]{32,})"$`).FindSubmatch(b)
	if jwt == nil || mfa == nil {
		t.Fatalf("no generated secrets in:\n%s", b)
	}
	if string(jwt[1]) == string(mfa[1]) {
		t.Fatal("jwt_secret and mfa_secret_key are equal")
	}
	c := res.Config
	if c.Auth.JWTSecret != string(jwt[1]) || c.Auth.MFASecretKey != string(mfa[1]) {
		t.Fatal("the loaded secrets differ from the written ones")
	}
	if c.Path != path {
		t.Fatalf("Path = %q, want %q", c.Path, path)
	}
	for _, w := range res.Warnings {
		if strings.Contains(w, c.Auth.JWTSecret) || strings.Contains(w, c.Auth.MFASecretKey) {
			t.Fatalf("a warning holds a secret: %s", w)
		}
	}
	// Every section and key of the template is commented.
	for _, key := range []string{"listen", "public_url", "trusted_proxies", "driver", "dsn", "jwt_secret", "mfa_secret_key", "bootstrap_insecure_cookies", "hash_in_process", "city_db", "asn_db", "url", "seed_admin"} {
		if !regexp.MustCompile(`#[^\n]*\n` + key + ` = `).Match(b) {
			t.Errorf("key %s has no comment above it", key)
		}
	}

	res2, err := Load(path, env(nil), Overrides{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Created {
		t.Fatal("Created = true on the second load")
	}
	a, b2 := *res.Config, *res2.Config
	if a.Server.Listen != b2.Server.Listen || a.Auth != b2.Auth || a.Database != b2.Database || a.PublicURL.String() != b2.PublicURL.String() || !slices.Equal(a.TrustedProxies, b2.TrustedProxies) {
		t.Fatalf("second load differs:\n%+v\n%+v", a, b2)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(b) {
		t.Fatal("the second load rewrote the file")
	}
	// Defaults of a freshly created file.
	if a.Server.Listen != DefaultListen || a.PublicURL.String() != DefaultPublicURL || a.Database.Driver != "sqlite" || a.Database.DSN != DefaultSQLiteDSN {
		t.Fatalf("unexpected defaults: %+v", a)
	}
	if !slices.Equal(a.TrustedProxies, DefaultTrustedProxies()) {
		t.Fatalf("trusted proxies %v", a.TrustedProxies)
	}
	// No temporary files left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want 1", len(entries))
	}
}

func TestCreateTwiceGivesDifferentSecrets(t *testing.T) {
	var got []string
	for range 2 {
		res, err := Load(filepath.Join(t.TempDir(), "g.toml"), env(nil), Overrides{}, true)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res.Config.Auth.JWTSecret)
	}
	if got[0] == got[1] {
		t.Fatal("two new files got the same jwt_secret")
	}
}

func TestConcurrentCreateDoesNotClobber(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.toml")
	const n = 16
	var wg sync.WaitGroup
	results := make([]*LoadResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = Load(path, env(nil), Overrides{}, true) })
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("load %d: %v", i, errs[i])
		}
		if results[i].Created {
			created++
		}
		if results[i].Config.Auth.JWTSecret != results[0].Config.Auth.JWTSecret {
			t.Fatal("concurrent loads saw different secrets: the file was overwritten")
		}
	}
	if created != 1 {
		t.Fatalf("%d loads claim to have created the file, want 1", created)
	}
	res, err := Load(path, env(nil), Overrides{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.Auth.JWTSecret != results[0].Config.Auth.JWTSecret {
		t.Fatal("the file on disk differs from what the loads saw")
	}
}

func TestCreateKeepsOverridesButWritesRandomSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.toml")
	flagSecret := "flag-secret-0123456789abcdefghijklmn"
	res, err := Load(path, env(map[string]string{"GATEHOUSE__AUTH__MFA_SECRET_KEY": secretB}), Overrides{JWTSecret: &flagSecret}, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.Auth.JWTSecret != flagSecret || res.Config.Auth.MFASecretKey != secretB {
		t.Fatal("overrides lost on creation")
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), flagSecret) || strings.Contains(string(b), secretB) {
		t.Fatal("an override was written into the file")
	}
}

func TestMissingFileWithoutCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	msg := loadErr(t, path, nil, Overrides{})
	if !strings.Contains(msg, path) || !strings.Contains(msg, "does not exist") {
		t.Fatalf("error %q does not name the missing path", msg)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("the file was created although allowCreate was false")
	}
}

func TestPrecedence(t *testing.T) {
	path := write(t, "[server]\nlisten = \"127.0.0.1:1111\"\n")
	envSecret := "env-secret-0123456789abcdefghijklmnop"
	flagSecret := "flag-secret-0123456789abcdefghijklmn"
	vars := map[string]string{"GATEHOUSE__SERVER__LISTEN": "127.0.0.1:2222", "GATEHOUSE__AUTH__JWT_SECRET": envSecret}

	cases := []struct {
		name        string
		path        string
		vars        map[string]string
		o           Overrides
		listen, jwt string
	}{
		{"flag", path, vars, Overrides{Listen: ptr("127.0.0.1:3333"), JWTSecret: &flagSecret}, "127.0.0.1:3333", flagSecret},
		{"env", path, vars, Overrides{}, "127.0.0.1:2222", envSecret},
		{"file", path, nil, Overrides{}, "127.0.0.1:1111", secretA},
		{"default", write(t, ""), nil, Overrides{}, DefaultListen, secretA},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, tc.path, tc.vars, tc.o).Config
			if c.Server.Listen != tc.listen {
				t.Errorf("listen = %q, want %q", c.Server.Listen, tc.listen)
			}
			if c.Auth.JWTSecret != tc.jwt {
				t.Errorf("jwt_secret from the wrong layer")
			}
		})
	}
	// An empty environment variable counts as unset.
	c := mustLoad(t, path, map[string]string{"GATEHOUSE__SERVER__LISTEN": ""}, Overrides{}).Config
	if c.Server.Listen != "127.0.0.1:1111" {
		t.Fatalf("empty env var overrode the file: %q", c.Server.Listen)
	}
	// An explicitly empty flag is an error, not the default.
	if msg := loadErr(t, path, nil, Overrides{Listen: ptr("")}); !strings.Contains(msg, "server.listen") || !strings.Contains(msg, "--listen") {
		t.Fatalf("empty --listen: %q", msg)
	}
}

func TestEnvironmentCoversEveryKey(t *testing.T) {
	path := write(t, "")
	vars := map[string]string{
		"GATEHOUSE__SERVER__PUBLIC_URL":                "https://auth.example.com/",
		"GATEHOUSE__SERVER__TRUSTED_PROXIES":           " 10.1.0.0/16, 192.0.2.7 ,,",
		"GATEHOUSE__SERVER__COOKIE_DOMAIN":             ".Example.com",
		"GATEHOUSE__SERVER__METRICS_TOKEN":             "scrape-token-from-env-0123",
		"GATEHOUSE__DATABASE__DRIVER":                  "postgres",
		"GATEHOUSE__DATABASE__DSN":                     "postgres://u:p@db/gh",
		"GATEHOUSE__AUTH__MFA_SECRET_KEY":              "mfa-from-env-0123456789abcdefghijklm",
		"GATEHOUSE__AUTH__BOOTSTRAP_INSECURE_COOKIES":  "TRUE",
		"GATEHOUSE__GEOIP__CITY_DB":                    "/geo/city.mmdb",
		"GATEHOUSE__GEOIP__ASN_DB":                     "/geo/asn.mmdb",
		"GATEHOUSE__REDIS__URL":                        "redis://r:6379/0",
		"GATEHOUSE__DEV__SEED_ADMIN":                   "1",
		"GATEHOUSE__SOMETHING__UNRELATED_BUT_IGNORED_": "x",
	}
	res := mustLoad(t, path, vars, Overrides{})
	c := res.Config
	if c.PublicURL.String() != "https://auth.example.com" || c.Server.PublicURL != "https://auth.example.com" {
		t.Errorf("public_url %q", c.PublicURL)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("192.0.2.7/32")}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("trusted proxies %v", c.TrustedProxies)
	}
	if c.Database.Driver != "postgres" || c.Database.DSN != "postgres://u:p@db/gh" {
		t.Errorf("database %+v", c.Database)
	}
	if c.Auth.MFASecretKey != "mfa-from-env-0123456789abcdefghijklm" || !c.Auth.BootstrapInsecureCookies {
		t.Errorf("auth %+v", c.Auth)
	}
	if c.GeoIP.CityDB != "/geo/city.mmdb" || c.GeoIP.ASNDB != "/geo/asn.mmdb" || c.Redis.URL != "redis://r:6379/0" || !c.Dev.SeedAdmin {
		t.Errorf("geoip/redis/dev %+v %+v %+v", c.GeoIP, c.Redis, c.Dev)
	}
	if c.Server.CookieDomain != "example.com" {
		t.Errorf("cookie_domain %q", c.Server.CookieDomain)
	}
	if c.Server.MetricsToken != "scrape-token-from-env-0123" {
		t.Errorf("metrics_token %q", c.Server.MetricsToken)
	}
	if len(EnvVars()) != 15 {
		t.Errorf("EnvVars has %d entries", len(EnvVars()))
	}
	joined := strings.Join(res.Warnings, "\n")
	for _, key := range []string{"bootstrap_insecure_cookies", "seed_admin"} {
		if !strings.Contains(joined, key) {
			t.Errorf("no warning about %s in %q", key, joined)
		}
	}
}

func TestEnvBoolIsStrict(t *testing.T) {
	path := write(t, "")
	for _, v := range []string{"yes", "on", "2", "tru"} {
		msg := loadErr(t, path, map[string]string{"GATEHOUSE__DEV__SEED_ADMIN": v}, Overrides{})
		if !strings.Contains(msg, "GATEHOUSE__DEV__SEED_ADMIN") || !strings.Contains(msg, "boolean") {
			t.Fatalf("%q: %q", v, msg)
		}
	}
	c := mustLoad(t, path, map[string]string{"GATEHOUSE__DEV__SEED_ADMIN": "false"}, Overrides{}).Config
	if c.Dev.SeedAdmin {
		t.Fatal("false parsed as true")
	}
}

func TestUnknownKeysAndTypes(t *testing.T) {
	cases := []struct{ extra, want string }{
		{"[server]\nlisen = \"x\"\n", `"server.lisen"`},
		{"[servr]\nlisten = \"x\"\n", `"servr"`},
		{"top = 1\n", `"auth.top"`},
		{"[dev]\nseed_admin = \"yes\"\n", "dev.seed_admin"},
		{"[server]\ntrusted_proxies = \"10.0.0.0/8\"\n", "server.trusted_proxies"},
	}
	for _, tc := range cases {
		msg := loadErr(t, write(t, tc.extra), nil, Overrides{})
		if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "line ") {
			t.Errorf("%q: error %q does not name %s with its line", tc.extra, msg, tc.want)
		}
	}
	// A syntax error on a secret's line does not quote the secret.
	p := filepath.Join(t.TempDir(), "g.toml")
	if err := os.WriteFile(p, []byte("[auth]\njwt_secret = \"abc-super-secret-value-0123456789\" junk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg := loadErr(t, p, nil, Overrides{}); strings.Contains(msg, "super-secret") {
		t.Fatalf("syntax error leaks the secret: %q", msg)
	}
}

func TestSecretsValidated(t *testing.T) {
	short := "short-secret-value-123"
	p := filepath.Join(t.TempDir(), "g.toml")
	if err := os.WriteFile(p, []byte("[auth]\njwt_secret = \""+short+"\"\nmfa_secret_key = \""+secretB+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := loadErr(t, p, nil, Overrides{})
	if !strings.Contains(msg, "auth.jwt_secret") || !strings.Contains(msg, "at least 32") {
		t.Fatalf("short secret: %q", msg)
	}
	if strings.Contains(msg, short) {
		t.Fatalf("the error holds the secret: %q", msg)
	}
	// Also when it comes from the environment, which the message names.
	msg = loadErr(t, write(t, ""), map[string]string{"GATEHOUSE__AUTH__JWT_SECRET": short}, Overrides{})
	if !strings.Contains(msg, "GATEHOUSE__AUTH__JWT_SECRET") || strings.Contains(msg, short) {
		t.Fatalf("short env secret: %q", msg)
	}

	p2 := filepath.Join(t.TempDir(), "g.toml")
	if err := os.WriteFile(p2, []byte("[server]\nlisten = \":9000\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg = loadErr(t, p2, nil, Overrides{})
	if strings.Contains(msg, "auth.jwt_secret") || !strings.Contains(msg, "auth.mfa_secret_key") || !strings.Contains(msg, "required") {
		t.Fatalf("missing secrets: %q", msg)
	}
	msg = loadErr(t, p2, nil, Overrides{JWTSecret: ptr(secretA), MFASecretKey: ptr("x")})
	if !strings.Contains(msg, "auth.mfa_secret_key") || strings.Contains(msg, "auth.jwt_secret") {
		t.Fatalf("short mfa key: %q", msg)
	}
}

func TestDatabaseValidated(t *testing.T) {
	msg := loadErr(t, write(t, "[database]\ndriver = \"mysql\"\n"), nil, Overrides{})
	if !strings.Contains(msg, "database.driver") || !strings.Contains(msg, "mysql") {
		t.Fatalf("bad driver: %q", msg)
	}
	msg = loadErr(t, write(t, "[database]\ndriver = \"postgres\"\n"), nil, Overrides{})
	if !strings.Contains(msg, "database.dsn") || !strings.Contains(msg, "required") {
		t.Fatalf("postgres without dsn: %q", msg)
	}
	msg = loadErr(t, write(t, "[database]\ndsn = \"postgres://u:hunter2@db/gh\"\n"), nil, Overrides{})
	if !strings.Contains(msg, "database.driver") || strings.Contains(msg, "hunter2") {
		t.Fatalf("postgres dsn with sqlite: %q", msg)
	}
	c := mustLoad(t, write(t, "[database]\ndsn = \"/var/lib/gh.db\"\n"), nil, Overrides{}).Config
	if c.Database.Driver != "sqlite" || c.Database.DSN != "/var/lib/gh.db" {
		t.Fatalf("database %+v", c.Database)
	}
}

func TestPublicURL(t *testing.T) {
	for _, bad := range []string{"localhost:8080", "/relative", "ftp://example.com", "https://", "https://example.com/?a=b", "https://example.com/#x", "https://u:p@example.com", "http://example.com:99999", "::"} {
		msg := loadErr(t, write(t, "[server]\npublic_url = \""+bad+"\"\n"), nil, Overrides{})
		if !strings.Contains(msg, "server.public_url") {
			t.Errorf("%q: %q", bad, msg)
		}
	}
	good := map[string]string{
		"https://auth.example.com/":       "https://auth.example.com",
		"https://example.com/gatehouse//": "https://example.com/gatehouse",
		"http://127.0.0.1:8080":           "http://127.0.0.1:8080",
		"http://[::1]:8080/":              "http://[::1]:8080",
	}
	for in, want := range good {
		res := mustLoad(t, write(t, "[server]\npublic_url = \""+in+"\"\n"), nil, Overrides{})
		if got := res.Config.PublicURL.String(); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
		for _, w := range res.Warnings {
			if strings.Contains(w, "public_url") {
				t.Errorf("%q: unexpected warning %q", in, w)
			}
		}
	}
	res := mustLoad(t, write(t, "[server]\npublic_url = \"http://auth.example.com\"\n"), nil, Overrides{})
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "server.public_url") && strings.Contains(w, "https") }) {
		t.Fatalf("no warning for plain http on a public host: %q", res.Warnings)
	}
}

func TestTrustedProxies(t *testing.T) {
	c := mustLoad(t, write(t, "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\", \"2001:db8::1\", \"2001:db8:1::/48\", \"192.168.1.77/24\", \"::ffff:198.51.100.1\"]\n"), nil, Overrides{}).Config
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.0.2.1/32"),
		netip.MustParsePrefix("2001:db8::1/128"),
		netip.MustParsePrefix("2001:db8:1::/48"),
		netip.MustParsePrefix("192.168.1.0/24"),
		netip.MustParsePrefix("198.51.100.1/32"),
	}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Fatalf("got %v, want %v", c.TrustedProxies, want)
	}
	if d := mustLoad(t, write(t, "[server]\n"), nil, Overrides{}).Config; !slices.Equal(d.TrustedProxies, DefaultTrustedProxies()) {
		t.Fatalf("defaults: %v", d.TrustedProxies)
	}
	if !slices.Equal(c.Server.TrustedProxies, []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::1", "2001:db8:1::/48", "192.168.1.77/24", "::ffff:198.51.100.1"}) {
		t.Fatal("the raw list changed")
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0", ""} {
		msg := loadErr(t, write(t, "[server]\ntrusted_proxies = [\""+bad+"\"]\n"), nil, Overrides{})
		if !strings.Contains(msg, "server.trusted_proxies") {
			t.Errorf("%q: %q", bad, msg)
		}
	}
	defaults := DefaultTrustedProxies()
	for _, a := range []string{"127.0.0.1", "::1", "127.5.5.5"} {
		if !slices.ContainsFunc(defaults, func(p netip.Prefix) bool { return p.Contains(netip.MustParseAddr(a)) }) {
			t.Errorf("%s not trusted by default", a)
		}
	}
	// A LAN client or a container neighbour is not a proxy unless the operator says so.
	for _, a := range []string{"8.8.8.8", "172.32.0.1", "2001:db8::1", "10.2.3.4", "172.20.0.1", "192.168.0.9", "fd00::1", "169.254.1.1", "fe80::1"} {
		if slices.ContainsFunc(defaults, func(p netip.Prefix) bool { return p.Contains(netip.MustParseAddr(a)) }) {
			t.Errorf("%s trusted by default", a)
		}
	}
}

func TestListenValidated(t *testing.T) {
	for _, bad := range []string{"8080", "localhost", "127.0.0.1:http", "127.0.0.1:70000", "[::1]"} {
		msg := loadErr(t, write(t, "[server]\nlisten = \""+bad+"\"\n"), nil, Overrides{})
		if !strings.Contains(msg, "server.listen") {
			t.Errorf("%q: %q", bad, msg)
		}
	}
	for _, good := range []string{":8080", "0.0.0.0:80", "[::]:443", "127.0.0.1:0"} {
		mustLoad(t, write(t, "[server]\nlisten = \""+good+"\"\n"), nil, Overrides{})
	}
}

func TestWorldReadableFileWarns(t *testing.T) {
	path := write(t, "")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	res := mustLoad(t, path, nil, Overrides{})
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "readable") && strings.Contains(w, path) }) {
		t.Fatalf("no warning for mode 0644: %q", res.Warnings)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if res := mustLoad(t, path, nil, Overrides{}); len(res.Warnings) != 0 {
		t.Fatalf("unexpected warnings: %q", res.Warnings)
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Server.Listen != DefaultListen || c.PublicURL.String() != DefaultPublicURL || c.Database.DSN != DefaultSQLiteDSN || len(c.TrustedProxies) == 0 {
		t.Fatalf("Default() = %+v", c)
	}
}

func TestCookieDomain(t *testing.T) {
	for _, ok := range []struct{ public, domain, want string }{
		{"https://auth.example.com", "example.com", "example.com"},
		{"https://auth.example.com", ".EXAMPLE.com", "example.com"},
		{"https://example.com", "example.com", "example.com"},
		{"https://a.b.example.co.uk", "b.example.co.uk", "b.example.co.uk"},
	} {
		c := mustLoad(t, write(t, "[server]\npublic_url = \""+ok.public+"\"\ncookie_domain = \""+ok.domain+"\"\n"), nil, Overrides{}).Config
		if c.Server.CookieDomain != ok.want {
			t.Errorf("%s with %s: %q, want %q", ok.public, ok.domain, c.Server.CookieDomain, ok.want)
		}
	}
	for _, bad := range []struct{ public, domain, why string }{
		{"https://auth.example.com", "other.org", "not"},
		{"https://auth.example.com", "ample.com", "not"},
		{"https://auth.example.com", "com", "public suffix"},
		{"https://auth.example.co.uk", "co.uk", "public suffix"},
		{"https://192.0.2.1", "192.0.2.1", "IP address"},
		{"https://auth.example.com", "example.com:443", "domain name"},
	} {
		msg := loadErr(t, write(t, "[server]\npublic_url = \""+bad.public+"\"\ncookie_domain = \""+bad.domain+"\"\n"), nil, Overrides{})
		if !strings.Contains(msg, "server.cookie_domain") || !strings.Contains(msg, bad.why) {
			t.Errorf("%s with %s: %q", bad.public, bad.domain, msg)
		}
	}
}

// Seed 002: a file without jwt_secret starts with a random secret, a new one at each start, and
// a warning; the file is not changed. (A missing file is written with persistent secrets:
// TestCreatesFile.)
func TestMissingJWTSecretIsRandomPerStart(t *testing.T) {
	p := filepath.Join(t.TempDir(), "g.toml")
	body := []byte("[auth]\nmfa_secret_key = \"" + secretB + "\"\n")
	if err := os.WriteFile(p, body, 0o600); err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for range 2 {
		res, err := Load(p, nil, Overrides{}, true)
		if err != nil {
			t.Fatal(err)
		}
		c := res.Config
		if len(c.Auth.JWTSecret) < MinSecretLength || !c.JWTSecretRandom {
			t.Fatalf("random secret: %d characters, random %v", len(c.Auth.JWTSecret), c.JWTSecretRandom)
		}
		warned := false
		for _, w := range res.Warnings {
			if strings.Contains(w, "auth.jwt_secret is not set") && strings.Contains(w, "every restart signs everyone out") {
				warned = true
			}
			if strings.Contains(w, c.Auth.JWTSecret) {
				t.Fatal("a warning holds the secret")
			}
		}
		if !warned {
			t.Fatalf("no warning: %q", res.Warnings)
		}
		secrets = append(secrets, c.Auth.JWTSecret)
	}
	if secrets[0] == secrets[1] {
		t.Fatal("two starts got the same random secret")
	}
	if b, _ := os.ReadFile(p); string(b) != string(body) {
		t.Fatalf("the file was changed: %s", b)
	}
	// Set anywhere (here by the environment), it is used and nothing is said.
	res, err := Load(p, env(map[string]string{"GATEHOUSE__AUTH__JWT_SECRET": secretA}), Overrides{}, true)
	if err != nil || res.Config.Auth.JWTSecret != secretA || res.Config.JWTSecretRandom || len(res.Warnings) != 0 {
		t.Fatalf("configured secret: %v %v %q", err, res.Config.JWTSecretRandom, res.Warnings)
	}
}
