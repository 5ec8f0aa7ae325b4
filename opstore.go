package gatehouse

import (
	"context"
	"time"
)

// OPClient is an app that signs in through gatehouse (the OpenID Provider side). Only the
// SHA-256 of a confidential client's secret is stored: the secret is 256 random bits, so a
// plain hash is as strong as a slow one and costs nothing per token request.
type OPClient struct {
	ID                     string
	Name                   string
	SecretHash             []byte // nil for public clients
	Public                 bool
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// AllowedGroups, when not empty, admits only members of one of these groups.
	AllowedGroups []string
	SkipConsent   bool
	// AccessTokenTTL and RefreshTokenTTL of zero take the provider's defaults.
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// LaunchURL, when set, lists the app on "My apps" of the users it admits: where a click
	// there goes (the app's start page, which signs in through gatehouse).
	LaunchURL string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OPKey is a signing key of the provider. The private key is sealed (package seal); the store
// never sees it in the clear.
type OPKey struct {
	ID        string
	Alg       string // "RS256" or "ES256"
	Sealed    []byte
	CreatedAt time.Time
	// ActiveAt is when the key starts signing; it is published in JWKS from CreatedAt on, so
	// relying parties know it before they see a token signed by it.
	ActiveAt time.Time
	// RetireAt is when it stops signing (a newer key took over); ExpiresAt is when it leaves
	// JWKS, after the last token it signed has expired.
	RetireAt  *time.Time
	ExpiresAt *time.Time
}

// OPAuthRequest is an authorization request between /authorize and the code exchange. Data is
// the provider's own encoding of the request and of the sign-in that completed it.
type OPAuthRequest struct {
	ID          string
	ClientID    string
	Data        []byte
	CodeHash    []byte
	GrantID     string
	ExchangedAt *time.Time
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// OPGrant is what one code exchange produced: the family of access and refresh tokens of one
// app for one gatehouse session. It ends with the session (SessionStore.RevokeSession).
type OPGrant struct {
	ID        string
	ClientID  string
	UserID    int64
	SessionID string
	Data      []byte // scopes, audience, auth time, amr: the provider's encoding
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// Kinds of OPToken.
const (
	OPAccessToken  = "access"
	OPRefreshToken = "refresh"
)

// OPToken is an access token (Key: its random id) or a refresh token (Key: SHA-256 of it).
type OPToken struct {
	Key       []byte
	GrantID   string
	Kind      string
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// OPConsent records that a user let a client have these scopes.
type OPConsent struct {
	UserID    int64
	ClientID  string
	Scopes    []string
	GrantedAt time.Time
	// ClientName is filled in for display; it is not stored.
	ClientName string
}

// OPClientInput is a client as an administrator writes it (POST and PATCH
// /api/admin/oidc/clients). Nil fields of an update are left as they are.
type OPClientInput struct {
	ClientID               *string   `json:"client_id"`
	Name                   *string   `json:"name"`
	RedirectURIs           *[]string `json:"redirect_uris"`
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris"`
	Public                 *bool     `json:"public"`
	AllowedGroups          *[]string `json:"allowed_groups"`
	SkipConsent            *bool     `json:"skip_consent"`
	AccessTokenTTLSecs     *int64    `json:"access_token_ttl_secs"`
	RefreshTokenTTLSecs    *int64    `json:"refresh_token_ttl_secs"`
	LaunchURL              *string   `json:"launch_url"`
}

// OPStore keeps the OpenID Provider's clients, keys, requests, grants, tokens and consents.
type OPStore interface {
	// CreateOPClient inserts c: EConflict (field client_id) when the id is taken.
	CreateOPClient(ctx context.Context, c *OPClient) error
	// OPClientByID returns the client; ENotFound when there is none.
	OPClientByID(ctx context.Context, id string) (*OPClient, error)
	// ListOPClients returns every client by name.
	ListOPClients(ctx context.Context) ([]*OPClient, error)
	// UpdateOPClient writes every field but ID and CreatedAt; ENotFound when unknown.
	UpdateOPClient(ctx context.Context, c *OPClient) error
	// DeleteOPClient removes the client with its requests, grants, tokens and consents.
	// ENotFound when unknown.
	DeleteOPClient(ctx context.Context, id string) error

	// OPKeys returns the keys not expired at now, oldest first.
	OPKeys(ctx context.Context, now time.Time) ([]*OPKey, error)
	// AddOPKey inserts k. When retireOthers is set, every other key of the same algorithm
	// without a RetireAt gets RetireAt = k.ActiveAt and ExpiresAt = expireOthers, in the same
	// transaction.
	AddOPKey(ctx context.Context, k *OPKey, retireOthers bool, expireOthers time.Time) error

	// OPSubject returns the user's subject, storing candidate when the user has none yet (so
	// concurrent first sign-ins agree). ENotFound when the user does not exist.
	OPSubject(ctx context.Context, userID int64, candidate string) (string, error)
	// OPUserBySubject is the reverse; ENotFound when unknown.
	OPUserBySubject(ctx context.Context, subject string) (int64, error)

	// CreateOPAuthRequest inserts r (ENotFound when the client is gone).
	CreateOPAuthRequest(ctx context.Context, r *OPAuthRequest) error
	// OPAuthRequestByID and OPAuthRequestByCode return the request whether or not it was
	// exchanged; ENotFound when unknown or expired at now.
	OPAuthRequestByID(ctx context.Context, id string, now time.Time) (*OPAuthRequest, error)
	OPAuthRequestByCode(ctx context.Context, codeHash []byte, now time.Time) (*OPAuthRequest, error)
	// UpdateOPAuthRequest replaces Data of a request not yet exchanged; ENotFound otherwise.
	UpdateOPAuthRequest(ctx context.Context, id string, data []byte) error
	// SetOPAuthCode sets the code of a request that has none and shortens its life to
	// expiresAt (a code is short-lived); ENotFound otherwise.
	SetOPAuthCode(ctx context.Context, id string, codeHash []byte, expiresAt time.Time) error
	// CompleteOPAuthRequest is UpdateOPAuthRequest and SetOPAuthCode in one write: the request
	// signed in (data) and its code, for a request neither exchanged nor given a code yet;
	// ENotFound otherwise. ev, when not nil, is appended in the same transaction (the event
	// recording the authorization), written only if the request is.
	CompleteOPAuthRequest(ctx context.Context, id string, data, codeHash []byte, expiresAt time.Time, ev *Event) error

	// CreateOPGrant inserts g and its first tokens. With authRequestID set it also marks that
	// request exchanged for g, only if it was not exchanged before: EConflict otherwise (a code
	// used twice). ENotFound when g's session is revoked or gone, so no grant outlives it.
	// g.ExpiresAt is lowered to the session's end if it is later. ev, when not nil, is appended
	// in the same transaction.
	CreateOPGrant(ctx context.Context, g *OPGrant, authRequestID string, tokens []*OPToken, ev *Event) error
	// AddOPTokens stores more tokens of a live grant; ENotFound when it is revoked or gone. ev,
	// when not nil, is appended in the same transaction.
	AddOPTokens(ctx context.Context, grantID string, tokens []*OPToken, ev *Event) error
	// OPToken returns a token and its grant; ENotFound when either is gone or the grant is
	// revoked. ConsumeOPToken does the same and marks the token used, returning it as it was
	// before (UsedAt nil on first use).
	OPToken(ctx context.Context, key []byte) (*OPToken, *OPGrant, error)
	ConsumeOPToken(ctx context.Context, key []byte, now time.Time) (*OPToken, *OPGrant, error)
	// DeleteOPToken removes one token; ENotFound when unknown.
	DeleteOPToken(ctx context.Context, key []byte) error
	// RevokeOPGrant marks the grant revoked and deletes its tokens (no error when it already was).
	RevokeOPGrant(ctx context.Context, id string, at time.Time) error

	// OPConsent returns the user's consent for the client; ENotFound when none.
	OPConsent(ctx context.Context, userID int64, clientID string) (*OPConsent, error)
	// SaveOPConsent inserts or replaces the consent.
	SaveOPConsent(ctx context.Context, c *OPConsent) error
	// ListOPConsents returns the user's consents, newest first.
	ListOPConsents(ctx context.Context, userID int64) ([]*OPConsent, error)
	// DeleteOPConsent removes the consent and revokes the user's grants for that client, in one
	// transaction; ENotFound when there was no consent and no grant.
	DeleteOPConsent(ctx context.Context, userID int64, clientID string, at time.Time) error

	// DeleteExpiredOP removes up to limit expired requests, tokens, grants and keys each,
	// returning how many rows went.
	DeleteExpiredOP(ctx context.Context, before time.Time, limit int) (int, error)
}
