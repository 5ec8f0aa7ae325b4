package oidcprovider

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse/gatehouse"
)

// Token lifetimes when a client sets none.
const (
	DefaultAccessTokenTTL  = 15 * time.Minute
	DefaultRefreshTokenTTL = 14 * 24 * time.Hour
	IDTokenTTL             = time.Hour
	// codeTTL is how long an authorization code may wait for its exchange.
	codeTTL = time.Minute
	// requestTTL is how long a user may take to sign in and consent.
	requestTTL = 30 * time.Minute
)

// client is a registered app as the op package sees it.
type client struct {
	c        *gatehouse.OPClient
	loginURL func(id string) string
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                    { return c.c.ID }
func (c *client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType: a public client (a browser or native app) has no secret and
// must use PKCE; the native rules also admit loopback redirects on any port (RFC 8252).
func (c *client) ApplicationType() op.ApplicationType {
	if c.c.Public {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() oidc.AuthMethod {
	if c.c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c *client) LoginURL(id string) string            { return c.loginURL(id) }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return IDTokenTTL }
func (c *client) DevMode() bool                        { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) IsScopeAllowed(scope string) bool     { return scope == ScopeGroups }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) accessTTL() time.Duration {
	if c.c.AccessTokenTTL > 0 {
		return c.c.AccessTokenTTL
	}
	return DefaultAccessTokenTTL
}

func (c *client) refreshTTL() time.Duration {
	if c.c.RefreshTokenTTL > 0 {
		return c.c.RefreshTokenTTL
	}
	return DefaultRefreshTokenTTL
}

// ScopeGroups asks for the groups claim.
const ScopeGroups = "groups"
