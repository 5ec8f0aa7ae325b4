package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/geo"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/oidc"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/token"
)

// Core is what every feature service shares: the store, clock, limits, events and settings
// snapshot, and the session machinery (starting and ending sessions, the request check with its
// session and user caches, the revocation set and the change-feed follower). Feature services
// (SignIn, Account, Admin, Mail, Providers) hold a *Core and reach each other only through it.
// It is safe for concurrent use.
type Core struct {
	store   gatehouse.Store
	hasher  Hasher
	tokens  *token.Issuer
	limiter Limiter
	clock   gatehouse.Clock
	log     *slog.Logger
	obs     Observer
	mail    *mail.Outbox
	public  *url.URL
	links   Links
	geo     *geo.DB

	// Shared kits: each groups what several feature services need from one area.
	accounts  *accountKit
	binding   *bindingRules
	limits    *rateLimits
	devices   *devices
	mfa       *mfaKit
	passkeys  *passkeyKit
	providers *providerDir

	cookieSecureDefault bool
	settingsBox         *seal.Box // seals write-only settings; nil without mfa_secret_key
	settings            atomic.Pointer[gatehouse.Settings]
	hasUsers            atomic.Bool // once true it stays true: the last admin cannot be deleted

	revoked  *token.Revocations
	pending  *revokeQueue // revocations the store has not taken yet (revokequeue.go)
	sessions *sessionCache
	users    *userCache
	// bearerSeen: session id -> *atomic.Int64 of the last recorded use by an access token.
	bearerSeen sync.Map
	// sidOwner: session id -> owner's user id (int64), for checkOwner; pruned with bearerSeen.
	sidOwner sync.Map
	// notBefore: session id -> Unix ms of its latest refresh (int64); access tokens issued before
	// it are refused. Followed across instances through ChangeSessionRefreshed (refresh.go).
	notBefore sync.Map

	// bg keeps the caches above current outside requests (follow.go); App.Background.
	bg *Background
}

// bindingRules are the pure parts of session binding: GeoIP lookups and the comparison rules.
type bindingRules struct{ geo *geo.DB }

// rateLimits are the token buckets of sign-in, MFA, re-authentication and mail, and how a refusal
// is recorded.
type rateLimits struct {
	core    *Core
	limiter Limiter
	log     *slog.Logger
	obs     Observer

	mu       sync.Mutex
	inflight map[string]int // attempts between reserve and release, by bucket key
}

// mfaKit opens sealed TOTP secrets and checks codes, for sign-in, re-authentication and account.
type mfaKit struct {
	core   *Core
	mfaBox *seal.Box // nil when no mfa_secret_key is configured
	store  gatehouse.Store
	clock  gatehouse.Clock
	log    *slog.Logger
}

// passkeyKit is the WebAuthn relying party and its ceremonies, for sign-in and account.
type passkeyKit struct {
	pk    passkeys
	store gatehouse.Store
	clock gatehouse.Clock
}

// providerDir reads external providers for sign-in, and the OIDC relying party.
type providerDir struct {
	core   *Core
	rp     *oidc.RelyingParty
	store  gatehouse.Store
	log    *slog.Logger
	public *url.URL
	links  Links
}

// NewCore builds the Core, creates missing runtime settings with their defaults, loads them and
// the revocation set. Call Run to follow changes and flush last-seen times.
func NewCore(ctx context.Context, d Deps) (*Core, error) {
	if d.Clock == nil {
		d.Clock = gatehouse.SystemClock{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Observer == nil {
		d.Observer = nopObserver{}
	}
	if d.Links == nil {
		return nil, errors.New("auth.Deps.Links is required (http.NewLinks)")
	}
	s := &Core{
		store: d.Store, hasher: d.Hasher, tokens: d.Tokens, limiter: d.Limiter,
		clock: d.Clock, log: d.Logger, obs: d.Observer, public: d.PublicURL, links: d.Links, geo: d.GeoIP,
		cookieSecureDefault: d.CookieSecureDefault,
		settingsBox:         newSettingsBox(d.MFASecretKey),
		revoked:             token.NewRevocations(),
		pending:             newRevokeQueue(),
		sessions:            newSessionCache(),
		users:               newUserCache(),
	}
	s.bg = &Background{c: s}
	s.accounts = &accountKit{core: s, store: d.Store, clock: d.Clock}
	s.binding = &bindingRules{geo: d.GeoIP}
	s.limits = &rateLimits{core: s, limiter: d.Limiter, log: d.Logger, obs: d.Observer, inflight: map[string]int{}}
	s.devices = newDevices(d.MFASecretKey, d.Clock)
	s.mfa = &mfaKit{core: s, mfaBox: newMFABox(d.MFASecretKey), store: d.Store, clock: d.Clock, log: d.Logger}
	s.passkeys = &passkeyKit{pk: newPasskeys(d.PublicURL), store: d.Store, clock: d.Clock}
	s.providers = &providerDir{core: s, rp: d.OIDC, store: d.Store, log: d.Logger, public: d.PublicURL, links: d.Links}
	s.mail = mail.New(mail.Deps{Store: d.Store, Settings: s.Settings, Clock: d.Clock, Logger: d.Logger, PublicURL: d.PublicURL, SealKey: d.MFASecretKey, Catalog: d.Catalog})
	if err := s.store.InitSettings(ctx, gatehouse.SettingDefaults(d.CookieSecureDefault)); err != nil {
		return nil, err
	}
	if err := s.mail.LoadTemplates(ctx); err != nil {
		return nil, err
	}
	s.sealStoredSecrets(ctx)
	s.reportUsernameCollisions(ctx)
	if err := s.reloadSettings(ctx); err != nil {
		return nil, err
	}
	s.warnBindingWithoutDB()
	if d.CheckSecret {
		if err := s.checkSecret(ctx); err != nil {
			return nil, err
		}
	}
	// Everything already in the feed is applied before the first request is served, so a token
	// revoked before a restart stays revoked after it.
	if err := s.bg.PollChanges(ctx); err != nil {
		return nil, err
	}
	return s, nil
}
