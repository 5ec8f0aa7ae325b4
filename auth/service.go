// Package auth holds gatehouse's use cases: first-admin setup, sign-in, refresh, logout, the
// request check, account and admin actions. It knows nothing of HTTP; the http package and the
// CLI both call it.
package auth

import (
	"context"
	"github.com/gatehouse/gatehouse/i18n"
	"log/slog"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/geo"
	"github.com/gatehouse/gatehouse/oidc"
	"github.com/gatehouse/gatehouse/token"
)

// Hasher is the bounded Argon2id pool (package password).
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, phc string) (ok, needsRehash bool, err error)
	// VerifyTrusted is Verify for a sign-in from a known device: it has places of the pool kept
	// for it, and goes first.
	VerifyTrusted(ctx context.Context, pw, phc string) (ok, needsRehash bool, err error)
	VerifyDummy(ctx context.Context, pw string) error
	// Saturated reports a full queue, so a sign-in flood is refused before any database work.
	Saturated() bool
	// Prepare readies the pool for a hash expected soon (the sign-in page was opened), in the
	// background; it must return at once.
	Prepare()
}

// Limiter is a token-bucket rate limiter keyed by string (package ratelimit).
type Limiter interface {
	Allow(ctx context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error)
	// Peek reports whether need tokens are there without taking any.
	Peek(ctx context.Context, key string, need, burst int, every time.Duration) (bool, time.Duration, error)
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

// Deps are what New needs to build the Core and every service.
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
	// Links builds every address auth hands out (mail links, OIDC callbacks); required.
	Links Links
	// GeoIP answers session-binding lookups ([geoip]); nil when no database is configured.
	GeoIP *geo.DB
	// CheckSecret makes NewCore compare the fingerprint of Tokens' secret with the one recorded
	// in the database, and sign everyone out when it changed (see checkSecret). The server sets
	// it; CLI commands, which issue no tokens, do not.
	CheckSecret bool
	// Catalog translates the mail (package i18n); nil builds one.
	Catalog *i18n.Catalog
}

// ClientMeta describes the client of a request, for events and session records.
type ClientMeta struct {
	IP        string
	UserAgent string
	// Method and Path of the request, for the event of a broken session binding.
	Method, Path string
	// Language is what the request asks for (a code or an Accept-Language list): an account it
	// creates for someone else (an administrator's, an external sign-in's) gets the best match.
	Language string
}

// RefreshGrace is how long a refresh token that was just used may be presented again (concurrent
// tabs racing to refresh) without being treated as stolen.
const RefreshGrace = 10 * time.Second

// App is every service of package auth, built by New over one Core. http/, web/ and cmd/ take it
// whole; each service only sees the Core and its own Deps.
type App struct {
	Core *Core
	// Background follows the change feed and flushes last-seen times: run its Run.
	Background *Background
	SignIn     *SignIn
	Account    *Account
	Admin      *Admin
	Mail       *Mail
	Providers  *Providers
}

// New builds the Core (see NewCore) and every feature service over it. Call Background.Run to
// follow changes and flush last-seen times.
func New(ctx context.Context, d Deps) (*App, error) {
	c, err := NewCore(ctx, d)
	if err != nil {
		return nil, err
	}
	m := NewMail(MailDeps{Core: c})
	return &App{
		Core:       c,
		Background: c.bg,
		SignIn:     NewSignIn(SignInDeps{Core: c}),
		Account:    NewAccount(AccountDeps{Core: c}),
		Admin:      NewAdmin(AdminDeps{Core: c, Activation: m}),
		Mail:       m,
		Providers:  NewProviders(ProvidersDeps{Core: c}),
	}, nil
}
