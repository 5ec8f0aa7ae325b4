// Package app builds gatehouse from its configuration: the auth services over the store, the
// metrics, and the HTTP handler with the API and the pages. `gatehouse serve` and the test server
// (internal/testserver) both build through New, so tests exercise what production runs; they
// differ only in the Parts they hand in (a fake clock, cheaper hashing).
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/access"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/geo"
	ghttp "github.com/gatehouse/gatehouse/http"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/oidc"
	"github.com/gatehouse/gatehouse/oidcprovider"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/postgres"
	"github.com/gatehouse/gatehouse/ratelimit"
	"github.com/gatehouse/gatehouse/sqlite"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/web"
)

// OpenStore opens the configured backend.
func OpenStore(ctx context.Context, cfg *config.Config) (gatehouse.Store, error) {
	switch cfg.Database.Driver {
	case "postgres":
		return postgres.Open(ctx, cfg.Database.DSN)
	default:
		return sqlite.Open(ctx, cfg.Database.DSN)
	}
}

// Parts are what the caller has already made or wants to replace; zero fields get production's
// choice.
type Parts struct {
	// Store is the open store (required); the caller closes it.
	Store gatehouse.Store
	// Clock is nil for the system clock.
	Clock gatehouse.Clock
	// Hasher is nil for a pool with the production parameters, one worker per core but one.
	Hasher auth.Hasher
	// Limiter is nil for the one the configuration names: in memory, or Redis.
	Limiter auth.Limiter
	// Logger is nil for a discarding one.
	Logger *slog.Logger
	// GeoIP is the session-binding database ([geoip]); nil when none is configured.
	GeoIP *geo.DB
	// Detail is /readyz's detail when Limiter is given; otherwise the configured limiter's.
	Detail func() map[string]string
	// WithoutPages leaves the web pages out (tests of the API alone); serve always mounts them.
	WithoutPages bool
	// WithoutProvider leaves the OpenID Provider out (tests that do not need its keys); serve
	// always mounts it.
	WithoutProvider bool
	// Groups tells the OpenID Provider a user's groups; nil: none known (a client restricted to
	// groups admits nobody).
	Groups oidcprovider.Groups
	// Catalog is nil to build the message catalog. A catalog is never changed once built, so
	// test servers of one process share one instead of each building its own.
	Catalog *i18n.Catalog
}

// App is a built gatehouse, ready to serve.
type App struct {
	Auth *auth.App
	// Access keeps groups and access rules (forward auth's decisions).
	Access  *access.Service
	Metrics *ghttp.Metrics
	// Provider is the OpenID Provider (nil with Parts.WithoutProvider).
	Provider *oidcprovider.Provider
	Handler  http.Handler
	// Hasher is the password hasher in use (the pool's size sets serve's memory limit).
	Hasher auth.Hasher
	close  func()
}

// New builds the application for cfg over p.Store.
func New(ctx context.Context, cfg *config.Config, p Parts) (*App, error) {
	if p.Clock == nil {
		p.Clock = gatehouse.SystemClock{}
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	stats := func() (int, int) { return 0, 0 }
	// The one message catalog of the pages and the mail, built once.
	cat := p.Catalog
	if cat == nil {
		var err error
		if cat, err = i18n.New(); err != nil {
			return nil, err
		}
	}
	if p.Hasher == nil {
		p.Hasher = password.NewHasher(password.DefaultParams(), 0, 0)
	}
	if h, ok := p.Hasher.(interface{ Stats() (int, int) }); ok {
		stats = h.Stats
	}
	issuer, err := token.NewIssuer(cfg.Auth.JWTSecret, p.Clock)
	if err != nil {
		return nil, fmt.Errorf("auth.jwt_secret: %w", err)
	}
	metrics := ghttp.NewMetrics(stats, nil, nil, nil)
	lim, err := chooseLimiter(cfg, p)
	if err != nil {
		return nil, err
	}
	svc, err := Service(ctx, cfg, ServiceParts{Store: p.Store, Tokens: issuer, Clock: p.Clock, Logger: p.Logger, Observer: metrics, Hasher: p.Hasher, Limiter: lim.Limiter, GeoIP: p.GeoIP, Catalog: cat})
	if err != nil {
		lim.close()
		return nil, err
	}
	if fb := lim.fallback; fb != nil {
		metrics.WatchLimiter(func() bool { shared, _ := fb.Status(); return shared }, fb.Fallbacks)
	}
	watchCounts(metrics, p.Store, lim)
	metrics.Bind(svc.Core.Revocations().Len, svc.Core.CachedSessions, activeSessionsGauge(p.Store, p.Clock))
	// Groups and access rules: their own service; the core's feed follower keeps its caches
	// current. Its limiter only throttles access.denied events, so it stays per instance.
	acc, err := access.New(ctx, access.Deps{Store: p.Store, Limiter: ratelimit.NewMemory(p.Clock.Now), Clock: p.Clock, Logger: p.Logger, Settings: svc.Core.Settings})
	if err != nil {
		lim.close()
		return nil, fmt.Errorf("loading access rules: %w", err)
	}
	svc.Background.Follow(acc.Apply)
	if p.Groups == nil {
		// The OpenID Provider's groups claim and allowed_groups read the same cached groups.
		p.Groups = acc
	}
	var provider *oidcprovider.Provider
	var op ghttp.OIDCProvider // stays a nil interface without a provider
	if !p.WithoutProvider {
		provider, err = oidcprovider.New(ctx, oidcprovider.Deps{Catalog: cat, Store: p.Store, Core: oidcprovider.CoreOf(svc), Groups: p.Groups, Clock: p.Clock,
			Logger: p.Logger, PublicURL: cfg.PublicURL, SealSecret: cfg.Auth.MFASecretKey, TokenSecret: cfg.Auth.JWTSecret})
		if err != nil {
			lim.close()
			return nil, err
		}
		op = provider
	}
	var pages func(*http.ServeMux, ghttp.PageKit) error
	if !p.WithoutPages {
		pages = web.Pages(web.Deps{Catalog: cat, Auth: svc, Access: acc, PublicURL: cfg.PublicURL, Logger: p.Logger, AdminNotices: adminNotices(cfg), Provider: op})
	}
	srv, err := ghttp.NewServer(ghttp.Deps{
		Auth: svc, Access: acc, Logger: p.Logger, Metrics: metrics, PublicURL: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies, CookieDomain: cfg.Server.CookieDomain, MetricsToken: cfg.Server.MetricsToken,
		Ready: p.Store.Ping, Writable: p.Store.WriteCheck, Detail: lim.detail, Pages: pages, Provider: op, Catalog: cat,
	})
	if err != nil {
		lim.close()
		return nil, err
	}
	return &App{Auth: svc, Access: acc, Metrics: metrics, Provider: provider, Handler: srv, Hasher: p.Hasher, close: lim.close}, nil
}

// chooseLimiter is p.Limiter with p.Detail when given, else the configured one.
func chooseLimiter(cfg *config.Config, p Parts) (*limiter, error) {
	if p.Limiter != nil {
		return &limiter{Limiter: p.Limiter, detail: p.Detail, close: func() {}}, nil
	}
	return newLimiter(cfg, p.Clock, p.Logger)
}

// adminNotices are the configuration problems administrators see on every page.
func adminNotices(cfg *config.Config) []string {
	if m := cfg.PublicURLMismatch(); m != "" {
		return []string{m}
	}
	return nil
}

// Close releases what New opened (the Redis client); the store stays open.
func (a *App) Close() { a.close() }

// ServiceParts are the pieces of the auth services.
type ServiceParts struct {
	Store    gatehouse.Store
	Tokens   *token.Issuer // nil for commands that never sign tokens
	Clock    gatehouse.Clock
	Logger   *slog.Logger
	Observer auth.Observer
	Hasher   auth.Hasher
	Limiter  auth.Limiter
	GeoIP    *geo.DB
	// Catalog translates mail; nil builds one (the CLI's commands).
	Catalog *i18n.Catalog
}

// Service builds the auth services over an open store.
func Service(ctx context.Context, cfg *config.Config, p ServiceParts) (*auth.App, error) {
	if p.Clock == nil {
		p.Clock = gatehouse.SystemClock{}
	}
	// External sign-in seals client secrets under a key derived from auth.mfa_secret_key.
	rp, err := oidc.New(cfg.Auth.MFASecretKey, nil, p.Clock.Now)
	if err != nil {
		return nil, err
	}
	d := auth.Deps{
		Store: p.Store, Hasher: p.Hasher, Tokens: p.Tokens, Limiter: p.Limiter, Clock: p.Clock, Logger: p.Logger,
		CookieSecureDefault: !cfg.Auth.BootstrapInsecureCookies, MFASecretKey: cfg.Auth.MFASecretKey, OIDC: rp, PublicURL: cfg.PublicURL, Links: ghttp.NewLinks(cfg.PublicURL), GeoIP: p.GeoIP,
		// Only a server checks the jwt_secret fingerprint (a changed secret signs everyone
		// out); the CLI commands sign no tokens.
		CheckSecret: p.Tokens != nil,
		Catalog:     p.Catalog,
	}
	// A nil *Metrics must stay a nil interface: the services test for "no observer".
	if p.Observer != nil {
		d.Observer = p.Observer
	}
	return auth.New(ctx, d)
}

// ServiceForCLI builds the auth services for a command-line tool: the configured limiter, one
// hashing worker, no tokens. The returned function closes the limiter's connection.
func ServiceForCLI(ctx context.Context, cfg *config.Config, store gatehouse.Store, log *slog.Logger) (*auth.App, func(), error) {
	lim, err := newLimiter(cfg, gatehouse.SystemClock{}, log)
	if err != nil {
		return nil, nil, err
	}
	svc, err := Service(ctx, cfg, ServiceParts{Store: store, Logger: log, Limiter: lim.Limiter, Hasher: password.NewHasher(password.DefaultParams(), 1, 1)})
	if err != nil {
		lim.close()
		return nil, nil, err
	}
	return svc, lim.close, nil
}

// limiter is the rate limiter with what /readyz and /metrics report about it.
type limiter struct {
	auth.Limiter
	// fallback is nil without [redis] url.
	fallback *ratelimit.Fallback
	detail   func() map[string]string
	close    func()
	// redisCommands counts what is sent to Redis (nil without [redis] url).
	redisCommands *atomic.Uint64
}

// newLimiter picks Redis when [redis] url is set, so several instances share one budget, with
// this instance's memory behind it for when Redis fails.
func newLimiter(cfg *config.Config, clock gatehouse.Clock, log *slog.Logger) (*limiter, error) {
	mem := ratelimit.NewMemory(clock.Now)
	if cfg.Redis.URL == "" {
		return &limiter{Limiter: mem, close: func() {}, detail: func() map[string]string {
			return map[string]string{"rate_limits": "local (no [redis] url)"}
		}}, nil
	}
	opts, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		// Not wrapped: the parser's error quotes the whole URL, password included.
		return nil, errors.New("redis.url is not a valid Redis URL (redis://[user:password@]host:port/db)")
	}
	ratelimit.TuneClient(opts)
	c := redis.NewClient(opts)
	cc := &commandCounter{}
	c.AddHook(cc)
	fb := ratelimit.NewFallback(ratelimit.NewRedis(c), mem, clock.Now, log)
	detail := func() map[string]string {
		if shared, since := fb.Status(); !shared {
			return map[string]string{"rate_limits": "local: Redis unreachable since " + since.UTC().Format(time.RFC3339) + "; limits count on this instance only"}
		}
		return map[string]string{"rate_limits": "shared (Redis)"}
	}
	return &limiter{Limiter: fb, fallback: fb, detail: detail, close: func() { _ = c.Close() }, redisCommands: &cc.n}, nil
}

// commandCounter counts Redis commands (a pipeline counts each command; a rate-limit script is
// one).
type commandCounter struct{ n atomic.Uint64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(uint64(len(cmds)))
		return next(ctx, cmds)
	}
}

// watchCounts exports the store's statement counts and the Redis commands, when there are any.
func watchCounts(m *ghttp.Metrics, store gatehouse.Store, lim *limiter) {
	if c, ok := store.(interface{ Counts() sqlstore.Counts }); ok {
		m.WatchStore(func() (uint64, uint64, uint64) {
			n := c.Counts()
			return n.Reads, n.Writes, n.Transactions
		})
	}
	if lim.redisCommands != nil {
		m.WatchRedis(lim.redisCommands.Load)
	}
}

// Run runs the background work until ctx ends: following the change feed (woken early by
// notify when the store can say so), delivering mail, and the provider's janitor.
func (a *App) Run(ctx context.Context, notify <-chan struct{}) {
	var wg sync.WaitGroup
	wg.Go(func() { a.Auth.Background.Run(ctx, notify) })
	wg.Go(func() { a.Auth.Core.Mail().Run(ctx) })
	if a.Provider != nil {
		wg.Go(func() { a.Provider.Run(ctx) })
	}
	wg.Wait()
}

// activeSessionsGauge counts live sessions for /metrics, at most every 15 s.
func activeSessionsGauge(store gatehouse.Store, clock gatehouse.Clock) func() float64 {
	counter, ok := store.(interface {
		CountActiveSessions(ctx context.Context, now time.Time) (int, error)
	})
	if !ok {
		return func() float64 { return -1 }
	}
	var mu sync.Mutex
	var last time.Time
	var val float64
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		if now := clock.Now(); now.Sub(last) > 15*time.Second {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			n, err := counter.CountActiveSessions(ctx, now)
			cancel()
			if err == nil {
				val, last = float64(n), now
			}
		}
		return val
	}
}
