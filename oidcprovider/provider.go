// Package oidcprovider makes gatehouse an OpenID Provider for apps (docs/oidc-provider.md). The
// protocol is github.com/zitadel/oidc/v3's certified op package; this package is its storage,
// its login and consent pages, and the admin use cases for clients and keys. It is a front end
// of the gatehouse session (DESIGN.md section 8): an authorization uses the signed-in session,
// and every grant is a row tied to it, so whatever ends the session ends the app's tokens.
package oidcprovider

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"github.com/gatehouse/gatehouse/i18n"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	ghttp "github.com/gatehouse/gatehouse/http"
)

// Groups tells which groups a user is in (the access rules' groups). Until groups exist it may
// be nil: a client restricted to groups then admits nobody, never everybody.
type Groups interface {
	UserGroups(ctx context.Context, userID int64) ([]string, error)
}

// Core is what the provider needs of the gatehouse session core.
type Core interface {
	// SessionStands reports whether a gatehouse session stands now (not revoked, not past its
	// absolute end or idle timeout), ending it if a limit has passed.
	SessionStands(ctx context.Context, sid string) bool
	// Logout ends the principal's session (RP-initiated logout).
	Logout(ctx context.Context, p *auth.Principal, meta auth.ClientMeta) error
	// Reauthenticate confirms it is the user (password, or a code when MFA is on) in the
	// current session: prompt=login and max_age use it.
	Reauthenticate(ctx context.Context, p *auth.Principal, password, code string, meta auth.ClientMeta) (*auth.ReauthStatus, error)
	// StepUpState tells which second factors the user could add to the session (acr_values=2fa
	// goes through the access rules' step-up page).
	StepUpState(ctx context.Context, p *auth.Principal) (*auth.StepUpState, error)
	// Settings are the runtime settings now (the pages' branding).
	Settings() *gatehouse.Settings
}

// Deps are what the provider needs.
type Deps struct {
	Store  gatehouse.Store
	Core   Core
	Groups Groups // nil until groups exist
	Clock  gatehouse.Clock
	Logger *slog.Logger
	// PublicURL is the issuer.
	PublicURL *url.URL
	// SealSecret is auth.mfa_secret_key: signing keys are sealed under a key derived from it.
	SealSecret string
	// TokenSecret is auth.jwt_secret: opaque access tokens are encrypted under a key derived
	// from it, so changing it ends every app's access token as it ends gatehouse's own.
	TokenSecret string
	// Catalog translates the provider's pages (package i18n); nil builds one.
	Catalog *i18n.Catalog
}

// Paths of the provider. Discovery names them; nothing else should rely on them.
const (
	pathPrefix    = "/oauth2/"
	loginPath     = "/oauth2/login"
	authorizePath = "oauth2/authorize"
	callbackPath  = "/oauth2/authorize/callback"
)

// Provider is the OpenID Provider.
type Provider struct {
	store  gatehouse.Store
	core   Core
	groups Groups
	clock  gatehouse.Clock
	log    *slog.Logger
	public *url.URL
	keys   *keyRing
	op     *op.Provider
	cat    *i18n.Catalog
	pages  map[string]*template.Template
	kit    ghttp.PageKit

	failMu   sync.Mutex
	failSeen map[string]time.Time // client id + reason -> last failure event

	subMu    sync.RWMutex
	subjects map[int64]string // user id -> subject (Provider.subject)
}

// maxSubjects bounds the subjects kept in memory; when full the map starts again empty.
const maxSubjects = 100_000

// subject is the user's subject, made on first use. A user's subject never changes and user
// ids are never reused (AUTOINCREMENT, identity columns), so once read it is kept: every
// sign-in through the provider would otherwise read it again.
func (p *Provider) subject(ctx context.Context, uid int64) (string, error) {
	p.subMu.RLock()
	sub, ok := p.subjects[uid]
	p.subMu.RUnlock()
	if ok {
		return sub, nil
	}
	sub, err := p.store.OPSubject(ctx, uid, newSubject())
	if err != nil {
		return "", err
	}
	p.subMu.Lock()
	if len(p.subjects) >= maxSubjects {
		p.subjects = map[int64]string{}
	}
	p.subjects[uid] = sub
	p.subMu.Unlock()
	return sub, nil
}

// New builds the provider and creates its signing keys on first start.
func New(ctx context.Context, d Deps) (*Provider, error) {
	if d.Clock == nil {
		d.Clock = gatehouse.SystemClock{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	keys, err := newKeyRing(d.Store, d.SealSecret, d.Clock, d.Logger)
	if err != nil {
		return nil, err
	}
	if err := keys.ensure(ctx); err != nil {
		return nil, err
	}
	if d.Catalog == nil {
		if d.Catalog, err = i18n.New(); err != nil {
			return nil, err
		}
	}
	pages, err := parsePages(d.Catalog)
	if err != nil {
		return nil, err
	}
	p := &Provider{store: d.Store, core: d.Core, groups: d.Groups, clock: d.Clock, log: d.Logger, public: d.PublicURL,
		keys: keys, failSeen: map[string]time.Time{}, subjects: map[int64]string{}, cat: d.Catalog, pages: pages}
	key, err := hkdf.Key(sha256.New, []byte(d.TokenSecret), nil, "gatehouse oidc provider access tokens", 32)
	if err != nil {
		return nil, err
	}
	cfg := &op.Config{
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		DefaultLogoutRedirectURI: "/login?signed_out=1",
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess, ScopeGroups},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "c_hash",
			"name", "preferred_username", "email", "email_verified", "groups"},
	}
	copy(cfg.CryptoKey[:], key)
	issuer := d.PublicURL.String()
	opts := []op.Option{
		op.WithCustomAuthEndpoint(op.NewEndpoint(authorizePath)),
		op.WithCustomTokenEndpoint(op.NewEndpoint("oauth2/token")),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint("oauth2/introspect")),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint("oauth2/userinfo")),
		op.WithCustomRevocationEndpoint(op.NewEndpoint("oauth2/revoke")),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint("oauth2/end_session")),
		op.WithCustomKeysEndpoint(op.NewEndpoint("oauth2/jwks")),
		op.WithCustomDeviceAuthorizationEndpoint(op.NewEndpoint("oauth2/device_authorization")),
	}
	if d.PublicURL.Scheme == "http" {
		// Trial setups on plain HTTP (and tests); the issuer is still exactly public_url.
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(cfg, storage{p}, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("starting the OpenID Provider: %w", err)
	}
	return p, nil
}

// Mount registers the protocol endpoints and the provider's pages on mux. kit gives them the
// session cookie and CSRF rules of the rest of gatehouse.
func (p *Provider) Mount(mux *http.ServeMux, kit ghttp.PageKit) error {
	p.kit = kit
	handle := func(pattern string, h http.Handler) { mux.Handle(pattern, p.withLogger(h)) }
	handle("GET /.well-known/openid-configuration", p.op)
	handle(pathPrefix, p.op)
	handle("/"+authorizePath, http.HandlerFunc(p.authorize))
	handle("GET "+loginPath, http.HandlerFunc(p.loginPage))
	handle("POST "+loginPath, http.HandlerFunc(p.loginSubmit))
	handle("POST "+loginPath+"/continue", http.HandlerFunc(p.loginContinue))
	handle(callbackPath, http.HandlerFunc(p.callback))
	handle("/oauth2/end_session", http.HandlerFunc(p.endSessionHandler))
	handle("/oauth2/device_authorization", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "device authorization is not supported", http.StatusNotFound)
	}))
	return nil
}

// Run removes expired requests, tokens, grants and keys until ctx ends.
func (p *Provider) Run(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for {
				n, err := p.store.DeleteExpiredOP(ctx, p.clock.Now(), 1000)
				if err != nil {
					p.log.Error("deleting expired provider rows failed", "err", err)
				}
				if err != nil || n == 0 {
					break
				}
			}
		}
	}
}

func (p *Provider) loginURL(id string) string { return loginPath + "?id=" + url.QueryEscape(id) }

func (p *Provider) client(ctx context.Context, id string) (*client, error) {
	m := memoOf(ctx)
	if c := m.client(id); c != nil {
		return c, nil
	}
	row, err := p.store.OPClientByID(ctx, id)
	if err != nil {
		return nil, err
	}
	c := &client{c: row, loginURL: p.loginURL}
	m.putClient(id, c)
	return c, nil
}

// requestMemo keeps what one request has read: op asks for the same client several times while
// answering one request (seven reads in one code flow, three of them in the token exchange),
// and for the user of a subject the request's grant or authorization request already names.
// It lives only as long as the request, so an administrator's change to a client is seen by
// the next request, on every instance.
type requestMemo struct {
	mu       sync.Mutex
	clients  map[string]*client
	subjects map[string]int64 // subject -> user id, from rows that store both
	created  *authRequest     // the request op stored in this request (authorize)
}

func (m *requestMemo) putCreated(a *authRequest) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.created = a
}

func (m *requestMemo) createdRequest() *authRequest {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.created
}

type requestMemoKey struct{}

// memoOf is the request's memo; nil (which remembers nothing) outside the provider's handlers.
func memoOf(ctx context.Context) *requestMemo {
	m, _ := ctx.Value(requestMemoKey{}).(*requestMemo)
	return m
}

func (m *requestMemo) client(id string) *client {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.clients[id]
}

func (m *requestMemo) putClient(id string, c *client) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.clients == nil {
		m.clients = map[string]*client{}
	}
	m.clients[id] = c
}

// user is the user id of subject, if a row read in this request named both (0 otherwise).
func (m *requestMemo) user(subject string) int64 {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.subjects[subject]
}

// putUser records that subject is uid: both come from one row (a grant, or a request signed in
// by complete, which stored the subject it had just read for that user).
func (m *requestMemo) putUser(subject string, uid int64) {
	if m == nil || subject == "" || uid == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subjects == nil {
		m.subjects = map[string]int64{}
	}
	m.subjects[subject] = uid
}

func (p *Provider) authRequest(ctx context.Context, id string) (*authRequest, error) {
	row, err := p.store.OPAuthRequestByID(ctx, id, p.clock.Now())
	if err != nil {
		return nil, err
	}
	if row.ExchangedAt != nil {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "authorization request already used")
	}
	return decodeAuthRequest(row)
}

// sessionLive reports whether the gatehouse session behind a grant still stands: not revoked on
// any instance, not past its absolute end, not idle past the idle timeout. It is asked on every
// use of a grant (refresh, userinfo, introspection), so the grant ends the moment a limit passes.
// An app's use of its tokens does not keep the session alive: only the user's own use does.
func (p *Provider) sessionLive(ctx context.Context, sid string) bool {
	return p.core.SessionStands(ctx, sid)
}

// liveAccessToken returns the grant of an access token that is neither expired nor revoked and
// whose session stands.
func (p *Provider) liveAccessToken(ctx context.Context, id string) (*grant, error) {
	t, row, err := p.store.OPToken(ctx, []byte(id))
	if err != nil || t.Kind != gatehouse.OPAccessToken || !p.clock.Now().Before(t.ExpiresAt) || !p.sessionLive(ctx, row.SessionID) {
		return nil, oidc.ErrInvalidRequest().WithDescription("the access token is not active")
	}
	return decodeGrant(row)
}

// userinfo fills the claims of the scopes. sub is a per-user random UUID (op_subjects), never
// the numeric id, so apps cannot enumerate accounts or tell how many there are.
// uid is the subject's user when the caller holds a row naming both; 0 looks it up.
func (p *Provider) userinfo(ctx context.Context, info *oidc.UserInfo, uid int64, subject string, scopes []string) error {
	if uid == 0 {
		uid = memoOf(ctx).user(subject)
	}
	if uid == 0 {
		var err error
		if uid, err = p.store.OPUserBySubject(ctx, subject); err != nil {
			return err
		}
	}
	u, err := p.store.UserByID(ctx, uid)
	if err != nil {
		return err
	}
	if u.Disabled {
		return gatehouse.Errorf(gatehouse.EAccountDisabled, "account disabled")
	}
	info.Subject = subject
	for _, s := range scopes {
		switch s {
		case oidc.ScopeProfile:
			info.Name = u.DisplayName()
			info.PreferredUsername = u.Username
		case oidc.ScopeEmail:
			info.Email = u.Email
			info.EmailVerified = oidc.Bool(u.EmailVerified)
		case ScopeGroups:
			groups, err := p.userGroups(ctx, u.ID)
			if err != nil {
				return err
			}
			info.AppendClaims("groups", groups)
		}
	}
	return nil
}

func (p *Provider) userGroups(ctx context.Context, uid int64) ([]string, error) {
	if p.groups == nil {
		return []string{}, nil
	}
	g, err := p.groups.UserGroups(ctx, uid)
	if g == nil {
		g = []string{}
	}
	return g, err
}

// allowed reports whether the user may use the client: a client restricted to groups admits
// only their members, and nobody when group membership cannot be told.
func (p *Provider) allowed(ctx context.Context, c *client, uid int64) (bool, error) {
	if len(c.c.AllowedGroups) == 0 {
		return true, nil
	}
	if p.groups == nil {
		return false, nil
	}
	groups, err := p.groups.UserGroups(ctx, uid)
	if err != nil {
		return false, err
	}
	for _, g := range groups {
		if slices.Contains(c.c.AllowedGroups, g) {
			return true, nil
		}
	}
	return false, nil
}

// newEvent is an event of the provider, for a write that stores it in its own transaction.
func (p *Provider) newEvent(kind string, uid int64, sid string, data map[string]any) *gatehouse.Event {
	e := &gatehouse.Event{Time: p.clock.Now(), Kind: kind, SessionID: sid, Data: data}
	if uid != 0 {
		e.UserID = &uid
	}
	return e
}

func (p *Provider) event(ctx context.Context, kind string, uid int64, sid string, data map[string]any) {
	if err := p.store.AddEvent(context.WithoutCancel(ctx), p.newEvent(kind, uid, sid, data)); err != nil {
		p.log.Error("recording event failed", "kind", kind, "err", err)
	}
}

// failure records an oidc.failed event naming the client. Failures without a signed-in user (a
// wrong client secret) are recorded at most once a minute per client and reason: they cost an
// attacker nothing and must not fill the audit trail.
func (p *Provider) failure(ctx context.Context, clientID string, uid int64, reason string, extra map[string]any) {
	if uid == 0 {
		key := clientID + "|" + reason
		now := p.clock.Now()
		p.failMu.Lock()
		last, seen := p.failSeen[key]
		if seen && now.Sub(last) < time.Minute {
			p.failMu.Unlock()
			return
		}
		if len(p.failSeen) > 10000 {
			clear(p.failSeen)
		}
		p.failSeen[key] = now
		p.failMu.Unlock()
	}
	data := map[string]any{"client_id": clientID, "reason": reason}
	for k, v := range extra {
		data[k] = v
	}
	p.event(ctx, gatehouse.EventOIDCFailed, uid, "", data)
}

var _ ghttp.OIDCProvider = (*Provider)(nil)

// appCore adapts the auth services to Core: the session core, and the account service's
// re-authentication.
type appCore struct {
	*auth.Core
	account *auth.Account
}

func (c appCore) Reauthenticate(ctx context.Context, p *auth.Principal, password, code string, meta auth.ClientMeta) (*auth.ReauthStatus, error) {
	return c.account.Reauthenticate(ctx, p, password, code, meta)
}

func (c appCore) StepUpState(ctx context.Context, p *auth.Principal) (*auth.StepUpState, error) {
	return c.account.StepUpState(ctx, p)
}

// CoreOf is the Core of the auth services.
func CoreOf(a *auth.App) Core { return appCore{Core: a.Core, account: a.Account} }
