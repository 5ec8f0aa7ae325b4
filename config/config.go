// Package config loads gatehouse's static configuration: the gatehouse.toml file, the
// GATEHOUSE__SECTION__KEY environment variables and the command-line flags, in that order of
// increasing precedence, over built-in defaults. On first start it writes the file with fresh
// random secrets.
//
// Errors and warnings name keys, environment variables and flags, never the value of a secret or of
// the database DSN.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"golang.org/x/net/publicsuffix"
)

// Defaults of the keys that have one.
const (
	DefaultListen    = "127.0.0.1:8080"
	DefaultPublicURL = "http://localhost:8080"
	DefaultDriver    = "sqlite"
	DefaultSQLiteDSN = "data/gatehouse.db"

	// MinSecretLength is the minimum length of auth.jwt_secret and auth.mfa_secret_key.
	MinSecretLength = 32
)

// EnvPrefix starts every environment variable read by Load.
const EnvPrefix = "GATEHOUSE__"

// Server is the [server] section.
type Server struct {
	Listen         string   `toml:"listen"`
	PublicURL      string   `toml:"public_url"`
	TrustedProxies []string `toml:"trusted_proxies"`
	// CookieDomain widens the session cookie to a parent domain, so apps on sibling subdomains
	// behind forward auth receive it; empty keeps it to the public URL's host.
	CookieDomain string `toml:"cookie_domain"`
	// HashInProcess runs password hashes in the server's own process instead of a worker
	// process (password.Process): for hosts that forbid starting one.
	HashInProcess bool `toml:"hash_in_process"`
	// MetricsToken is the bearer token /metrics asks of scrapers that are not a direct loopback
	// peer; empty means /metrics answers loopback only.
	MetricsToken string `toml:"metrics_token"`
}

// Database is the [database] section.
type Database struct {
	Driver string `toml:"driver"`
	DSN    string `toml:"dsn"`
}

// Auth is the [auth] section.
type Auth struct {
	JWTSecret                string `toml:"jwt_secret"`
	MFASecretKey             string `toml:"mfa_secret_key"`
	BootstrapInsecureCookies bool   `toml:"bootstrap_insecure_cookies"`
}

// GeoIP is the [geoip] section.
type GeoIP struct {
	CityDB string `toml:"city_db"`
	ASNDB  string `toml:"asn_db"`
}

// Redis is the [redis] section.
type Redis struct {
	URL string `toml:"url"`
}

// Dev is the [dev] section.
type Dev struct {
	SeedAdmin bool `toml:"seed_admin"`
}

// Config is the effective static configuration.
type Config struct {
	Server   Server   `toml:"server"`
	Database Database `toml:"database"`
	Auth     Auth     `toml:"auth"`
	GeoIP    GeoIP    `toml:"geoip"`
	Redis    Redis    `toml:"redis"`
	Dev      Dev      `toml:"dev"`

	// Derived by Load, not read from TOML.

	// PublicURL is server.public_url parsed, without a trailing slash.
	PublicURL *url.URL `toml:"-"`
	// TrustedProxies is server.trusted_proxies parsed (bare addresses become /32 or /128), or
	// DefaultTrustedProxies when the list is empty.
	TrustedProxies []netip.Prefix `toml:"-"`
	// Path is the absolute path of the file the configuration was loaded from.
	Path string `toml:"-"`
	// JWTSecretRandom is true when auth.jwt_secret was set nowhere and a random one was made for
	// this run (seed 002): every restart then signs everyone out.
	JWTSecretRandom bool `toml:"-"`
}

// Overrides are the command-line flags; nil means the flag was not given.
type Overrides struct {
	Listen, PublicURL, JWTSecret, MFASecretKey *string
}

// LoadResult is what Load found.
type LoadResult struct {
	Config *Config
	// Created is true when this call wrote the file.
	Created bool
	// Warnings are problems worth logging that do not stop the server. They never hold secrets.
	Warnings []string
	// NoFile is true when the file does not exist and the configuration came from the
	// environment and flags alone (both secrets were given there, so no file was written).
	NoFile bool
	// Sources names where each key's value came from: "file", "environment variable NAME",
	// "file named by environment variable NAME_FILE" or "flag --NAME"; absent means default.
	Sources map[string]string
}

// DefaultTrustedProxies are the ranges trusted when server.trusted_proxies is empty: loopback
// only. Private ranges are not trusted by default: a LAN client, a container neighbour or the
// client of a balancer that rewrites source addresses would then pick its own address with
// X-Forwarded-For and step around every per-address limit. Operators list their proxies.
func DefaultTrustedProxies() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
	}
}

// Default returns the configuration with every default applied and derived fields set. Its secrets
// are empty, so it does not pass validation on its own.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	c.PublicURL, _ = url.Parse(DefaultPublicURL)
	c.TrustedProxies = DefaultTrustedProxies()
	return c
}

func (c *Config) applyDefaults() {
	if c.Server.Listen == "" {
		c.Server.Listen = DefaultListen
	}
	if c.Server.PublicURL == "" {
		c.Server.PublicURL = DefaultPublicURL
	}
	if c.Database.Driver == "" {
		c.Database.Driver = DefaultDriver
	}
	// PostgreSQL has no default DSN: a SQLite path would be meaningless there.
	if c.Database.DSN == "" && c.Database.Driver == "sqlite" {
		c.Database.DSN = DefaultSQLiteDSN
	}
}

// Load reads the configuration file at path, applies the environment (through getenv) and the
// flags in o, fills in defaults and validates the result.
//
// When the file does not exist and allowCreate is true, it is written first (mode 0600, never
// overwriting a file another process created meanwhile) with fresh random secrets; flags and
// environment still win over the values written. When it does not exist and allowCreate is false,
// Load fails.
func Load(path string, getenv func(string) string, o Overrides, allowCreate bool) (*LoadResult, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	res := &LoadResult{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && secretsOutsideFile(getenv, o) {
		// Both secrets come from the environment or flags (a container, a Kubernetes Secret):
		// a file of fresh secrets would be overridden anyway, and the filesystem may be
		// read-only. Run from the environment alone.
		data, err, res.NoFile = nil, nil, true
	}
	if errors.Is(err, os.ErrNotExist) {
		if !allowCreate {
			return nil, fmt.Errorf("configuration file %s does not exist; run `gatehouse serve` once to create it, or pass --config", path)
		}
		if db := existingDatabase(getenv); db != "" {
			return nil, fmt.Errorf("configuration file %s does not exist, but a database does at %s: it belongs to another configuration, "+
				"whose mfa_secret_key encrypts its TOTP secrets, so a new file with new secrets would break them; "+
				"pass --config with that configuration's path, or move the database away to start afresh", path, db)
		}
		res.Created, err = create(path)
		if err != nil {
			return nil, err
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading configuration file %s: %w", path, unwrapPathError(err))
	}

	c := &Config{Path: path}
	if err := decode(data, c); err != nil {
		return nil, fmt.Errorf("configuration file %s: %w", path, err)
	}
	src := sources{}
	src.fromFile(c)
	if err := applyEnv(c, getenv, src); err != nil {
		return nil, err
	}
	c.applyDefaults()
	applyFlags(c, o, src)
	c.followListen(src)
	if c.Auth.JWTSecret == "" {
		// Seed 002: without a configured secret, one is made per start. The file exists (a
		// missing one was just written with persistent secrets), so this is a deliberate choice
		// of its owner; the warning says what it costs.
		if c.Auth.JWTSecret, err = NewSecret(); err != nil {
			return nil, fmt.Errorf("generating a random auth.jwt_secret: %w", err)
		}
		c.JWTSecretRandom = true
		res.Warnings = append(res.Warnings, fmt.Sprintf("auth.jwt_secret is not set (in %s, %s or --jwt-secret): a random secret was made for this run only, so every restart signs everyone out; set it to keep sessions across restarts",
			path, field{key: "auth.jwt_secret"}.env()))
	}
	if err := c.validate(src); err != nil {
		return nil, fmt.Errorf("configuration %s: %w", path, err)
	}

	res.Sources = src
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("configuration file %s holds secrets but is readable by other users (mode %04o); run chmod 600 on it", path, st.Mode().Perm()))
	}
	res.Warnings = append(res.Warnings, c.warnings()...)
	res.Config = c
	return res, nil
}

// unwrapPathError drops the *os.PathError wrapper whose path the message already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var typeErrRe = regexp.MustCompile(`^cannot decode TOML (\S+) into .* of type (\S+)$`)

// decode reads TOML strictly. Messages are built from the key and position only: the library's
// contextual rendering quotes the document, which may hold secrets.
func decode(data []byte, c *Config) error {
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(c)
	if err == nil {
		return nil
	}
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		msgs := make([]string, 0, len(strict.Errors))
		for i := range strict.Errors {
			e := &strict.Errors[i]
			line, _ := e.Position()
			what := "unknown key"
			if strings.HasSuffix(e.Error(), "missing table") {
				what = "unknown section"
			}
			msgs = append(msgs, fmt.Sprintf("line %d: %s %q", line, what, strings.Join(e.Key(), ".")))
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if m := typeErrRe.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("wrong type: got a TOML %s, want %s", m[1], tomlType(m[2]))
		}
		if key := strings.Join(de.Key(), "."); key != "" {
			return fmt.Errorf("line %d: %s: %s", line, key, msg)
		}
		return fmt.Errorf("line %d, column %d: %s", line, col, msg)
	}
	// Other errors (e.g. a value out of range) carry no document excerpt.
	return err
}

func tomlType(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "bool":
		return "a boolean (true or false)"
	case "[]string":
		return "an array of strings"
	}
	return goType
}

// sources records where each key's value came from, for error messages.
type sources map[string]string

func (s sources) of(key string) string {
	if v, ok := s[key]; ok {
		return v
	}
	return "default"
}

func (s sources) fromFile(c *Config) {
	for _, f := range fields(c) {
		if !f.isZero() {
			s[f.key] = "file"
		}
	}
}

// field is one TOML key bound to its place in Config.
type field struct {
	key    string // section.key
	str    *string
	list   *[]string
	flag   *bool
	secret bool
}

func (f field) env() string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(f.key, ".", "__"))
}

func (f field) isZero() bool {
	switch {
	case f.str != nil:
		return *f.str == ""
	case f.list != nil:
		return len(*f.list) == 0
	default:
		return !*f.flag
	}
}

func fields(c *Config) []field {
	return []field{
		{key: "server.listen", str: &c.Server.Listen},
		{key: "server.public_url", str: &c.Server.PublicURL},
		{key: "server.trusted_proxies", list: &c.Server.TrustedProxies},
		{key: "server.cookie_domain", str: &c.Server.CookieDomain},
		{key: "server.metrics_token", str: &c.Server.MetricsToken, secret: true},
		{key: "server.hash_in_process", flag: &c.Server.HashInProcess},
		{key: "database.driver", str: &c.Database.Driver},
		{key: "database.dsn", str: &c.Database.DSN, secret: true},
		{key: "auth.jwt_secret", str: &c.Auth.JWTSecret, secret: true},
		{key: "auth.mfa_secret_key", str: &c.Auth.MFASecretKey, secret: true},
		{key: "auth.bootstrap_insecure_cookies", flag: &c.Auth.BootstrapInsecureCookies},
		{key: "geoip.city_db", str: &c.GeoIP.CityDB},
		{key: "geoip.asn_db", str: &c.GeoIP.ASNDB},
		{key: "redis.url", str: &c.Redis.URL, secret: true},
		{key: "dev.seed_admin", flag: &c.Dev.SeedAdmin},
	}
}

// EnvVars lists every environment variable Load reads, with the key it sets.
func EnvVars() map[string]string {
	m := map[string]string{}
	for _, f := range fields(&Config{}) {
		m[f.env()] = f.key
	}
	return m
}

// applyEnv applies every non-empty GATEHOUSE__SECTION__KEY variable.
func applyEnv(c *Config, getenv func(string) string, src sources) error {
	for _, f := range fields(c) {
		name := f.env()
		v, from, err := envValue(name, getenv)
		if err != nil {
			return err
		}
		if v == "" {
			continue
		}
		switch {
		case f.str != nil:
			*f.str = v
		case f.list != nil:
			var items []string
			for _, it := range strings.Split(v, ",") {
				if it = strings.TrimSpace(it); it != "" {
					items = append(items, it)
				}
			}
			*f.list = items
		default:
			b, err := parseBool(v)
			if err != nil {
				return fmt.Errorf("environment variable %s: %q is not a boolean; use true or false", name, v)
			}
			*f.flag = b
		}
		src[f.key] = from
	}
	return nil
}

// parseBool accepts true/false (any case) and 1/0, nothing else.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, errors.New("not a boolean")
}

func applyFlags(c *Config, o Overrides, src sources) {
	if o.Listen != nil {
		c.Server.Listen = *o.Listen
		src["server.listen"] = "flag --listen"
	}
	if o.PublicURL != nil {
		c.Server.PublicURL = *o.PublicURL
		src["server.public_url"] = "flag --public-url"
	}
	if o.JWTSecret != nil {
		c.Auth.JWTSecret = *o.JWTSecret
		src["auth.jwt_secret"] = "flag --jwt-secret"
	}
	if o.MFASecretKey != nil {
		c.Auth.MFASecretKey = *o.MFASecretKey
		src["auth.mfa_secret_key"] = "flag --mfa-secret-key"
	}
}

// validate checks every key, sets the derived fields and returns all problems at once.
func (c *Config) validate(src sources) error {
	var errs []string
	bad := func(key, format string, args ...any) {
		where := ""
		if s := src.of(key); s != "file" {
			where = " (from " + s + ")"
		}
		errs = append(errs, key+where+": "+fmt.Sprintf(format, args...))
	}

	if err := checkListen(c.Server.Listen); err != nil {
		bad("server.listen", "%v", err)
	}

	if u, err := parsePublicURL(c.Server.PublicURL); err != nil {
		bad("server.public_url", "%v", err)
	} else {
		c.PublicURL = u
		c.Server.PublicURL = u.String()
	}

	if c.Server.CookieDomain != "" && c.PublicURL != nil {
		d, err := checkCookieDomain(c.Server.CookieDomain, c.PublicURL.Hostname())
		if err != nil {
			bad("server.cookie_domain", "%v", err)
		} else {
			c.Server.CookieDomain = d
		}
	}

	c.TrustedProxies = nil
	for _, s := range c.Server.TrustedProxies {
		p, err := parsePrefix(s)
		if err != nil {
			bad("server.trusted_proxies", "%q is neither an IP address nor a CIDR range such as 10.0.0.0/8", s)
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	if len(c.Server.TrustedProxies) == 0 {
		c.TrustedProxies = DefaultTrustedProxies()
	}

	switch c.Database.Driver {
	case "sqlite":
		if c.Database.DSN == "" {
			bad("database.dsn", "must not be empty")
		} else if l := strings.ToLower(c.Database.DSN); strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://") {
			bad("database.dsn", "looks like a PostgreSQL URL but database.driver is \"sqlite\"; set database.driver = \"postgres\"")
		}
	case "postgres":
		if c.Database.DSN == "" {
			bad("database.dsn", "is required when database.driver is \"postgres\" (e.g. postgres://user:password@host:5432/gatehouse)")
		}
	default:
		bad("database.driver", "%q is not supported; use \"sqlite\" or \"postgres\"", c.Database.Driver)
	}

	checkSecret := func(key, value string) {
		switch {
		case value == "":
			bad(key, "is required; set it in the file or in %s (at least %d random characters)", field{key: key}.env(), MinSecretLength)
		case len(value) < MinSecretLength:
			bad(key, "must be at least %d characters (it has %d)", MinSecretLength, len(value))
		}
	}
	checkSecret("auth.jwt_secret", c.Auth.JWTSecret)
	checkSecret("auth.mfa_secret_key", c.Auth.MFASecretKey)
	if t := c.Server.MetricsToken; t != "" && len(t) < 16 {
		bad("server.metrics_token", "must be at least 16 characters (it has %d), or empty for loopback-only metrics", len(t))
	}

	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func checkListen(s string) error {
	if s == "" {
		return errors.New("must not be empty; use host:port such as 127.0.0.1:8080")
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8080, or :8080 for every interface)", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port number (0-65535)", s)
	}
	return nil
}

// checkCookieDomain normalises server.cookie_domain and refuses what browsers would refuse or
// what would hand the cookie to strangers: an IP address, a public suffix (com, co.uk, github.io),
// or a domain the public URL is not in (the browser would drop the cookie).
func checkCookieDomain(d, publicHost string) (string, error) {
	d = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(d), "."), "."))
	host := strings.ToLower(publicHost)
	switch {
	case d == "" || strings.ContainsAny(d, "/:@ "):
		return "", fmt.Errorf("%q is not a domain name such as example.com", d)
	case net.ParseIP(d) != nil:
		return "", fmt.Errorf("%q is an IP address; a cookie can be widened only to a domain name", d)
	case host != d && !strings.HasSuffix(host, "."+d):
		return "", fmt.Errorf("the public URL's host %s is not %s or under it, so browsers would refuse the cookie", host, d)
	}
	if suffix, _ := publicsuffix.PublicSuffix(d); suffix == d {
		return "", fmt.Errorf("%q is a public suffix: the cookie would go to every site under it", d)
	}
	return d, nil
}

func parsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid URL", s)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q must be an absolute http:// or https:// URL", s)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host", s)
	case u.User != nil:
		return nil, fmt.Errorf("must not contain user information")
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("%q must not have a query", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return nil, fmt.Errorf("%q must not have a fragment", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q has an invalid port", s)
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// parsePrefix accepts a CIDR range or a bare address (a /32 or /128).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (c *Config) warnings() []string {
	var w []string
	if m := c.PublicURLMismatch(); m != "" {
		w = append(w, m)
	}
	if c.PublicURL != nil && c.PublicURL.Scheme == "http" && !isLocalHost(c.PublicURL.Hostname()) {
		w = append(w, fmt.Sprintf("server.public_url %s uses plain http on a non-local host; serve gatehouse over https so session cookies can be Secure", c.PublicURL.Redacted()))
	}
	if c.Auth.BootstrapInsecureCookies {
		w = append(w, "auth.bootstrap_insecure_cookies is on: session cookies start without the Secure flag; use it only for a first plain-http trial")
	}
	if c.Dev.SeedAdmin {
		w = append(w, "dev.seed_admin is on: a development administrator admin@admin.com / admin is created when no user exists; never enable it in production")
	}
	return w
}

func isLocalHost(h string) bool {
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

// existingDatabase names the SQLite file the configuration would use when the configuration file
// is missing (the default path, or the environment's), if that file exists: a mistyped --config
// must not create new secrets beside a database made with others.
func existingDatabase(getenv func(string) string) string {
	c := &Config{}
	if err := applyEnv(c, getenv, sources{}); err != nil {
		return ""
	}
	c.applyDefaults()
	if c.Database.Driver != "sqlite" {
		return ""
	}
	p := strings.TrimPrefix(c.Database.DSN, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	return ""
}

// followListen keeps the generated public_url pointing at this server when only the listen
// address was changed: with "serve --listen 127.0.0.1:18101" and the untouched default
// http://localhost:8080, every link and redirect would lead to a dead address. A public_url
// given by flag or environment, or any other value, is the operator's and is left alone.
func (c *Config) followListen(src sources) {
	if c.Server.PublicURL != DefaultPublicURL || c.Server.Listen == DefaultListen {
		return
	}
	if s := src.of("server.public_url"); s != "default" && s != "file" {
		return
	}
	host, port, err := net.SplitHostPort(c.Server.Listen)
	if err != nil || port == "" || port == "0" {
		return
	}
	if a, err := netip.ParseAddr(host); host == "" || (err == nil && (a.IsUnspecified() || a.IsLoopback())) {
		host = "localhost"
	}
	c.Server.PublicURL = "http://" + net.JoinHostPort(host, port)
	src["server.public_url"] = "server.listen (the default public_url follows the listen address)"
}

// PublicURLMismatch says why server.public_url cannot reach this server when it names this
// machine (localhost or a loopback address) on another port than server.listen; "" when they
// agree or a proxy may sit between them. Shown at start and to administrators in the console.
func (c *Config) PublicURLMismatch() string {
	if c.PublicURL == nil || !isLocalHost(c.PublicURL.Hostname()) {
		return ""
	}
	_, lport, err := net.SplitHostPort(c.Server.Listen)
	if err != nil || lport == "0" {
		return ""
	}
	pport := c.PublicURL.Port()
	if pport == "" {
		pport = map[string]string{"http": "80", "https": "443"}[c.PublicURL.Scheme]
	}
	if pport == lport {
		return ""
	}
	return fmt.Sprintf("server.public_url %s names this machine on port %s, but gatehouse listens on %s: links, redirects and passkeys will lead to an address it does not answer; set server.public_url (or --public-url) to the address people open",
		c.PublicURL.Redacted(), pport, c.Server.Listen)
}
