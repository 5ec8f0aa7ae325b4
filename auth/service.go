// Package auth holds gatehouse's use cases: first-admin setup, sign-in, refresh, logout, the
// request check, account and admin actions. It knows nothing of HTTP; the http package and the
// CLI both call it.
package auth

import (
	"context"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/geo"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/oidc"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/token"
)

// Hasher is the bounded Argon2id pool (package password).
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, phc string) (ok, needsRehash bool, err error)
	VerifyDummy(ctx context.Context, pw string) error
	// Saturated reports a full queue, so a sign-in flood is refused before any database work.
	Saturated() bool
}

// Limiter is a token-bucket rate limiter keyed by string (package ratelimit).
type Limiter interface {
	Allow(ctx context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error)
	// Peek reports whether a token is there without taking it.
	Peek(ctx context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error)
	Reset(ctx context.Context, key string) error
}

// Observer receives counts for metrics. All methods must be cheap and safe for concurrent use.
type Observer interface {
	SignIn(outcome string)
	Revoked(reason string)
}

type nopObserver struct{}

func (nopObserver) SignIn(string)  {}
func (nopObserver) Revoked(string) {}

// Deps are what a Service needs.
type Deps struct {
	Store    gatehouse.Store
	Hasher   Hasher
	Tokens   *token.Issuer
	Limiter  Limiter
	Clock    gatehouse.Clock
	Logger   *slog.Logger
	Observer Observer
	// CookieSecureDefault is the initial value of auth_cookie_secure ([auth] bootstrap_insecure_cookies).
	CookieSecureDefault bool
	// MFASecretKey is [auth] mfa_secret_key: TOTP secrets are sealed under a key derived from
	// it. Empty leaves MFA unavailable (commands that never touch it).
	MFASecretKey string
	// OIDC is the relying party for external sign-in (nil: external providers are unavailable).
	OIDC *oidc.RelyingParty
	// PublicURL is server.public_url: the WebAuthn relying party ID and origin, every link in
	// mail and the OIDC redirect URIs come from it, never from a request.
	PublicURL *url.URL
	// GeoIP answers session-binding lookups ([geoip]); nil when no database is configured.
	GeoIP *geo.DB
}

// ClientMeta describes the client of a request, for events and session records.
type ClientMeta struct {
	IP        string
	UserAgent string
	// Method and Path of the request, for the event of a broken session binding.
	Method, Path string
}

// Service implements every use case. It is safe for concurrent use.
type Service struct {
	store   gatehouse.Store
	hasher  Hasher
	tokens  *token.Issuer
	limiter Limiter
	clock   gatehouse.Clock
	log     *slog.Logger
	obs     Observer
	mfaBox  *seal.Box // nil when no mfa_secret_key is configured
	pk      passkeys
	mail    *mail.Outbox
	rp      *oidc.RelyingParty
	public  *url.URL
	geo     *geo.DB

	cookieSecureDefault bool
	settings            atomic.Pointer[gatehouse.Settings]
	hasUsers            atomic.Bool // once true it stays true: the last admin cannot be deleted

	revoked  *token.Revocations
	sessions *sessionCache
	users    *userCache
	// bearerSeen: session id -> *atomic.Int64 of the last recorded use by an access token.
	bearerSeen sync.Map

	feedMu     sync.Mutex // one feed poll at a time
	lastChange int64
	// followers are features that keep caches of their own (access rules, groups); each gets
	// every feed row after the core has applied it.
	followers []func(context.Context, gatehouse.Change)
}

// Follow registers f for every change-feed row applied from now on. Call it before Run.
func (s *Service) Follow(f func(context.Context, gatehouse.Change)) {
	s.feedMu.Lock()
	s.followers = append(s.followers, f)
	s.feedMu.Unlock()
}

// RefreshGrace is how long a refresh token that was just used may be presented again (concurrent
// tabs racing to refresh) without being treated as stolen.
const RefreshGrace = 10 * time.Second

// New builds a Service, creates missing runtime settings with their defaults, loads them and
// the revocation set. Call Run to follow changes and flush last-seen times.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Clock == nil {
		d.Clock = gatehouse.SystemClock{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Observer == nil {
		d.Observer = nopObserver{}
	}
	s := &Service{
		store: d.Store, hasher: d.Hasher, tokens: d.Tokens, limiter: d.Limiter,
		clock: d.Clock, log: d.Logger, obs: d.Observer, rp: d.OIDC, public: d.PublicURL, geo: d.GeoIP,
		cookieSecureDefault: d.CookieSecureDefault,
		revoked:             token.NewRevocations(),
		sessions:            newSessionCache(),
		users:               newUserCache(),
		mfaBox:              newMFABox(d.MFASecretKey),
		pk:                  newPasskeys(d.PublicURL),
	}
	s.mail = mail.New(mail.Deps{Store: d.Store, Settings: s.Settings, Clock: d.Clock, Logger: d.Logger, PublicURL: d.PublicURL})
	if err := s.store.InitSettings(ctx, gatehouse.SettingDefaults(d.CookieSecureDefault)); err != nil {
		return nil, err
	}
	if err := s.reloadSettings(ctx); err != nil {
		return nil, err
	}
	s.warnBindingWithoutDB()
	// Everything already in the feed is applied before the first request is served, so a token
	// revoked before a restart stays revoked after it.
	if err := s.PollChanges(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Settings returns the current runtime settings snapshot.
func (s *Service) Settings() *gatehouse.Settings { return s.settings.Load() }

// CookieSecureDefault is the bootstrap default of auth_cookie_secure.
func (s *Service) CookieSecureDefault() bool { return s.cookieSecureDefault }

// Revocations exposes the revoked-session set (metrics).
func (s *Service) Revocations() *token.Revocations { return s.revoked }

// CachedSessions is the number of sessions in the request-check cache (metrics).
func (s *Service) CachedSessions() int { return s.sessions.len() }

func (s *Service) reloadSettings(ctx context.Context) error {
	raw, err := s.store.Settings(ctx)
	if err != nil {
		return err
	}
	st, warnings := gatehouse.NewSettings(raw, s.cookieSecureDefault)
	for _, w := range warnings {
		s.log.Warn(w)
	}
	s.settings.Store(st)
	return nil
}

// throttledEvent records an event that anyone can cause without credentials (an unknown state
// or challenge token): at most one per kind and client address a minute, so such requests, which
// cost an attacker nothing, cannot fill the audit trail or hold the database's writer.
func (s *Service) throttledEvent(ctx context.Context, kind string, meta ClientMeta, data map[string]any) {
	if ok, _, err := s.limiter.Allow(ctx, "event|"+kind+"|"+ipBucket(meta.IP), 1, time.Minute); err == nil && ok {
		s.event(ctx, kind, 0, "", meta, data)
	}
}

// event records an audit event; failures are logged, never returned, so that auditing cannot
// turn a sign-in into an error after the fact.
func (s *Service) event(ctx context.Context, kind string, userID int64, sid string, meta ClientMeta, data map[string]any) {
	e := &gatehouse.Event{Time: s.clock.Now(), Kind: kind, SessionID: sid, IP: meta.IP, UserAgent: meta.UserAgent, Data: data}
	if userID != 0 {
		e.UserID = &userID
	}
	if err := s.store.AddEvent(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("recording event failed", "kind", kind, "err", err)
	}
}
