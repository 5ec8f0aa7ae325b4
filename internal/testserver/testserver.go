// Package testserver starts a complete gatehouse (real store, real hashing pool, real HTTP
// server on loopback) for tests, with a clock the test moves.
package testserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/access"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/geo"
	ghttp "github.com/gatehouse/gatehouse/http"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/oidcprovider"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/postgres"
	"github.com/gatehouse/gatehouse/sqlite"
)

// Clock is a clock tests move by hand.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at a fixed, realistic time.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)} }

// Now returns the current fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves time forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// FastParams are Argon2id parameters small enough for tests that hash often; tests about hashing
// cost use password.DefaultParams.
func FastParams() password.Params {
	p := password.DefaultParams()
	p.Memory, p.Time = 64, 1
	return p
}

// Backends lists the store backends to run a test against: SQLite always, PostgreSQL when
// GATEHOUSE_TEST_POSTGRES_DSN is set or required.
func Backends() []string {
	b := []string{"sqlite"}
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") != "" || testdb.Required("postgres") {
		b = append(b, "postgres")
	}
	return b
}

// NewDSN returns a fresh database for the backend, holding every migration and no rows.
func NewDSN(t testing.TB, backend string) string {
	if backend == "postgres" {
		return testdb.PostgresDSN(t)
	}
	return sqliteDSN(t)
}

// migratedSQLite is a SQLite file holding every migration, built once per test binary; each
// test gets a copy. Migrating a new file was a tenth of the CPU of a test that starts a server.
var migratedSQLite = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "gatehouse-sqlite-template-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gatehouse.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		return nil, err
	}
	// Closing checkpoints the write-ahead log into the file, so the file alone is the database.
	if err := db.Close(); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
})

func sqliteDSN(t testing.TB) string {
	t.Helper()
	b, err := migratedSQLite()
	if err != nil {
		t.Fatalf("building the SQLite template: %v", err)
	}
	path := testdb.SQLitePath(t)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// catalog is the message catalog of every test server of this process; a catalog is never
// changed once built.
var catalog = sync.OnceValues(i18n.New)

func sharedCatalog(t testing.TB) *i18n.Catalog {
	t.Helper()
	c, err := catalog()
	if err != nil {
		t.Fatalf("building the message catalog: %v", err)
	}
	return c
}

// OpenStore opens a store of the backend at dsn and closes it when the test ends.
func OpenStore(t testing.TB, backend, dsn string) gatehouse.Store {
	t.Helper()
	var (
		s   gatehouse.Store
		err error
	)
	if backend == "postgres" {
		s, err = postgres.Open(context.Background(), dsn)
	} else {
		s, err = sqlite.Open(context.Background(), dsn)
	}
	if err != nil {
		t.Fatalf("opening %s store: %v", backend, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Options adjust a test server.
type Options struct {
	Backend string // "sqlite" (default) or "postgres"
	// DSN reuses a database (a second instance, or a restart); empty means a fresh one.
	DSN            string
	Clock          *Clock
	Params         *password.Params
	Workers, Queue int
	Hasher         auth.Hasher
	Limiter        auth.Limiter
	// MetricsToken is server.metrics_token.
	MetricsToken string
	// WrapStore, when set, wraps the store the server uses (failure injection).
	WrapStore func(gatehouse.Store) gatehouse.Store
	// Detail is /readyz's detail (serve reports the rate limiter's state there).
	Detail         func() map[string]string
	TrustedProxies []netip.Prefix
	PublicURL      string
	Secret         string
	Logger         *slog.Logger
	// Web mounts the web pages (package web), as serve does.
	Web bool
	// Localhost serves under http://localhost:PORT instead of 127.0.0.1: a WebAuthn relying
	// party ID must be a domain name, so passkey tests need it.
	Localhost bool
	// Follow runs the service's background loop (change feed, last-seen flush) like serve does.
	Follow bool
	// MFASecretKey is [auth] mfa_secret_key (empty means MFASecretKey): TOTP and external
	// provider secrets are sealed under keys derived from it. Restart with another value to see
	// what a changed key does.
	MFASecretKey string
	// CookieDomain is server.cookie_domain.
	CookieDomain string
	// MailLoop runs the mail delivery loop like serve does; without it tests deliver with
	// Auth.Mail().Tick.
	MailLoop bool
	// GeoIP is the session-binding database ([geoip]); nil means none configured.
	GeoIP *geo.DB
	// Provider mounts the OpenID Provider (package oidcprovider), as serve does; Groups is its
	// group lookup (nil: none).
	Provider bool
	Groups   oidcprovider.Groups
}

// Env is a running gatehouse.
type Env struct {
	T       testing.TB
	Backend string
	DSN     string
	Store   gatehouse.Store
	Auth    *auth.App
	Access  *access.Service
	Clock   *Clock
	Server  *httptest.Server
	URL     string
	Public  *url.URL
	Metrics *ghttp.Metrics
	// Provider is the OpenID Provider when Options.Provider is set.
	Provider *oidcprovider.Provider
}

// Secret is the default signing secret of test servers; instances sharing it accept each other's
// tokens, like instances sharing one configuration.
const Secret = "test-secret-0123456789abcdefghij"

// MFASecretKey is the default auth.mfa_secret_key of test servers.
const MFASecretKey = "test-mfa-key-0123456789abcdefghij"

// New starts a server; it stops when the test ends.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	if o.Backend == "" {
		o.Backend = "sqlite"
	}
	if o.DSN == "" {
		o.DSN = NewDSN(t, o.Backend)
	}
	if o.Clock == nil {
		o.Clock = NewClock()
	}
	if o.Secret == "" {
		o.Secret = Secret
	}
	if o.MFASecretKey == "" {
		o.MFASecretKey = MFASecretKey
	}
	store := OpenStore(t, o.Backend, o.DSN)
	if o.WrapStore != nil {
		store = o.WrapStore(store)
	}
	var hasher auth.Hasher = o.Hasher
	if hasher == nil {
		p := FastParams()
		if o.Params != nil {
			p = *o.Params
		}
		// Tests that race several sign-ins or setups test the store, not the pool: unless a test
		// sizes the pool itself, it has room for them (the production default, one worker per
		// core but one, is a single worker on a 2-core machine).
		workers, queue := o.Workers, o.Queue
		if workers == 0 && queue == 0 {
			workers, queue = 4, 16
		}
		hasher = password.NewHasher(p, workers, queue)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e := &Env{T: t, Backend: o.Backend, DSN: o.DSN, Store: store, Clock: o.Clock}
	// The public URL must be known before the service and the server start, so listen first.
	ts := httptest.NewUnstartedServer(nil)
	e.URL = "http://" + ts.Listener.Addr().String()
	if o.Localhost {
		e.URL = "http://localhost:" + strconv.Itoa(ts.Listener.Addr().(*net.TCPAddr).Port)
	}
	pub := o.PublicURL
	if pub == "" {
		pub = e.URL
	}
	trusted := o.TrustedProxies
	if trusted == nil {
		trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	cfg := loadConfig(t, o, ts.Listener.Addr().String(), pub, trusted)
	a, err := app.New(context.Background(), cfg, app.Parts{Store: store, Clock: o.Clock, Hasher: hasher, Limiter: o.Limiter, Detail: o.Detail, Logger: log, GeoIP: o.GeoIP, WithoutPages: !o.Web,
		Groups: o.Groups, WithoutProvider: !o.Provider, Catalog: sharedCatalog(t)})
	if err != nil {
		t.Fatalf("starting gatehouse: %v", err)
	}
	t.Cleanup(a.Close)
	e.Public = cfg.PublicURL
	svc := a.Auth
	e.Auth, e.Access, e.Metrics, e.Provider = svc, a.Access, a.Metrics, a.Provider
	ts.Config.Handler = a.Handler
	ts.Start()
	if o.Follow {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { svc.Background.Run(ctx, nil); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	if o.MailLoop {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { svc.Core.Mail().Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	e.Server = ts
	t.Cleanup(ts.Close)
	return e
}

// loadConfig writes the test server's gatehouse.toml and loads it as serve does, so the derived
// settings (public URL, trusted proxies, cookie domain) come from the same rules.
func loadConfig(t testing.TB, o Options, listen, pub string, trusted []netip.Prefix) *config.Config {
	t.Helper()
	var proxies []string
	for _, p := range trusted {
		proxies = append(proxies, strconv.Quote(p.String()))
	}
	toml := fmt.Sprintf(`[server]
listen = %s
public_url = %s
trusted_proxies = [%s]
cookie_domain = %s
metrics_token = %s

[database]
driver = %s
dsn = %s

[auth]
jwt_secret = %s
mfa_secret_key = %s
bootstrap_insecure_cookies = true
`, strconv.Quote(listen), strconv.Quote(pub), strings.Join(proxies, ", "), strconv.Quote(o.CookieDomain), strconv.Quote(o.MetricsToken), strconv.Quote(o.Backend), strconv.Quote(o.DSN), strconv.Quote(o.Secret), strconv.Quote(o.MFASecretKey))
	path := filepath.Join(t.TempDir(), "gatehouse.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := config.Load(path, func(string) string { return "" }, config.Overrides{}, false)
	if err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	return res.Config
}

// Client is an HTTP client with its own cookie jar (one browser).
type Client struct {
	E      *Env
	HTTP   *http.Client
	Header http.Header // sent with every request
}

// Client returns a new client that does not follow redirects.
func (e *Env) Client() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{E: e, Header: http.Header{}, HTTP: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Response is a decoded answer.
type Response struct {
	t      testing.TB
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// apiError is the "error" of a JSON error answer; every field is empty for any other answer, so
// a test comparing a code fails instead of stopping on a body that is not an error.
func (r *Response) apiError() (e struct {
	Code    string `json:"code"`
	Field   string `json:"field"`
	Message string `json:"message"`
}) {
	var v struct {
		Error *json.RawMessage `json:"error"`
	}
	if json.Unmarshal(r.Body, &v) == nil && v.Error != nil {
		_ = json.Unmarshal(*v.Error, &e) // an "error" that is not an object leaves e empty
	}
	return e
}

// Code returns error.code of a JSON error answer.
func (r *Response) Code() string { return r.apiError().Code }

// Field returns error.field of a JSON error answer.
func (r *Response) Field() string { return r.apiError().Field }

// Message returns error.message of a JSON error answer.
func (r *Response) Message() string { return r.apiError().Message }

// Str returns a top-level string field.
func (r *Response) Str(k string) string { s, _ := r.JSON[k].(string); return s }

// Do sends a request; body is JSON-encoded unless it is a string or []byte (sent as is).
func (c *Client) Do(method, path string, body any, hdr ...string) *Response {
	c.E.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.E.URL+path, rd)
	if err != nil {
		c.E.T.Fatal(err)
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.E.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := &Response{t: c.E.T, Status: resp.StatusCode, Header: resp.Header, Body: b}
	_ = json.Unmarshal(b, &r.JSON)
	return r
}

// Bearer returns a client that sends the access token instead of cookies.
func (e *Env) Bearer(access string) *Client {
	c := e.Client()
	c.HTTP.Jar = nil
	c.Header.Set("Authorization", "Bearer "+access)
	return c
}

// Setup creates the first administrator through the API and returns the signed-in client and
// the response.
func (e *Env) Setup(username, email, pw string) (*Client, *Response) {
	e.T.Helper()
	c := e.Client()
	r := c.Do("POST", "/api/setup/admin", map[string]string{"username": username, "email": email, "password": pw})
	if r.Status != http.StatusCreated {
		e.T.Fatalf("setup: %d %s", r.Status, r.Body)
	}
	return c, r
}

// Login signs in a new client and returns it with the response; it fails the test unless 200.
func (e *Env) Login(login, pw string) (*Client, *Response) {
	e.T.Helper()
	c := e.Client()
	r := c.Do("POST", "/api/auth/login", map[string]any{"login": login, "password": pw})
	if r.Status != http.StatusOK {
		e.T.Fatalf("login %s: %d %s", login, r.Status, r.Body)
	}
	return c, r
}

// CreateUser creates a user through the admin API.
func (e *Env) CreateUser(admin *Client, username, email, pw, role string) int64 {
	e.T.Helper()
	r := admin.Do("POST", "/api/admin/users", map[string]string{"username": username, "email": email, "password": pw, "role": role})
	if r.Status != http.StatusCreated {
		e.T.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	return r.ID()
}

// NewClockAtNow starts a fake clock at the real current time (to check tokens a real server made).
func NewClockAtNow() *Clock { return &Clock{t: time.Now()} }

// Form posts an HTML form (application/x-www-form-urlencoded), as a browser without JavaScript.
func (c *Client) Form(path string, vals url.Values, hdr ...string) *Response {
	c.E.T.Helper()
	return c.Do("POST", path, []byte(vals.Encode()), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, hdr...)...)
}
