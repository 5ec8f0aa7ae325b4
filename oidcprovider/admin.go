package oidcprovider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

var clientIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Bounds of per-client token lifetimes.
const (
	maxAccessTTL  = 24 * time.Hour
	maxRefreshTTL = 365 * 24 * time.Hour
)

func requireAdmin(by *auth.Principal) error {
	if by == nil || by.User.Role != gatehouse.RoleAdmin {
		return gatehouse.Errorf(gatehouse.EForbidden, "administrators only")
	}
	return nil
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkURIs accepts absolute http(s) URLs without fragments, and custom schemes for native
// apps (public clients); a redirect URI is matched exactly, never by prefix or wildcard.
func checkURIs(field string, uris []string, public bool) error {
	for _, u := range uris {
		p, err := url.Parse(u)
		if err != nil || p.Scheme == "" || u != strings.TrimSpace(u) || p.Fragment != "" || strings.Contains(u, "*") {
			return gatehouse.FieldError(field, "%q is not an absolute URL without a fragment or wildcard", u)
		}
		switch {
		case p.Scheme == "https" || p.Scheme == "http":
			if p.Host == "" {
				return gatehouse.FieldError(field, "%q has no host", u)
			}
		case !public:
			return gatehouse.FieldError(field, "%q: only http and https are allowed for a confidential client", u)
		}
	}
	return nil
}

// maxLaunchURL bounds a launch URL as the access rules bound theirs.
const maxLaunchURL = 2048

// checkLaunchURL accepts an empty launch URL (the app is not listed on My apps) or an absolute
// http(s) address with a host and no user info: it becomes a link on the users' pages, so a
// javascript: or data: address must never get there.
func checkLaunchURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(s) > maxLaunchURL ||
		strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return gatehouse.FieldError("launch_url", "the launch URL must be an http:// or https:// address such as https://app.example.com/")
	}
	return nil
}

func apply(c *gatehouse.OPClient, in gatehouse.OPClientInput) error {
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
	}
	if in.Public != nil {
		c.Public = *in.Public
	}
	if in.RedirectURIs != nil {
		c.RedirectURIs = *in.RedirectURIs
	}
	if in.PostLogoutRedirectURIs != nil {
		c.PostLogoutRedirectURIs = *in.PostLogoutRedirectURIs
	}
	if in.AllowedGroups != nil {
		c.AllowedGroups = nil
		for _, g := range *in.AllowedGroups {
			if g = strings.TrimSpace(g); g != "" {
				c.AllowedGroups = append(c.AllowedGroups, g)
			}
		}
	}
	if in.SkipConsent != nil {
		c.SkipConsent = *in.SkipConsent
	}
	if in.AccessTokenTTLSecs != nil {
		c.AccessTokenTTL = time.Duration(*in.AccessTokenTTLSecs) * time.Second
	}
	if in.RefreshTokenTTLSecs != nil {
		c.RefreshTokenTTL = time.Duration(*in.RefreshTokenTTLSecs) * time.Second
	}
	if in.LaunchURL != nil {
		c.LaunchURL = strings.TrimSpace(*in.LaunchURL)
	}
	switch {
	case c.Name == "" || len(c.Name) > 100:
		return gatehouse.FieldError("name", "name is required (at most 100 characters)")
	case len(c.RedirectURIs) == 0:
		return gatehouse.FieldError("redirect_uris", "at least one redirect URI is required")
	case c.AccessTokenTTL < 0 || c.AccessTokenTTL > maxAccessTTL:
		return gatehouse.FieldError("access_token_ttl_secs", "must be between 0 (the default, 900) and 86400")
	case c.RefreshTokenTTL < 0 || c.RefreshTokenTTL > maxRefreshTTL:
		return gatehouse.FieldError("refresh_token_ttl_secs", "must be between 0 (the default, 1209600) and 31536000")
	}
	if err := checkLaunchURL(c.LaunchURL); err != nil {
		return err
	}
	if err := checkURIs("redirect_uris", c.RedirectURIs, c.Public); err != nil {
		return err
	}
	return checkURIs("post_logout_redirect_uris", c.PostLogoutRedirectURIs, c.Public)
}

// ListClients returns every registered app.
func (p *Provider) ListClients(ctx context.Context, by *auth.Principal) ([]*gatehouse.OPClient, error) {
	if err := requireAdmin(by); err != nil {
		return nil, err
	}
	return p.store.ListOPClients(ctx)
}

// Client returns one app; ENotFound when unknown.
func (p *Provider) Client(ctx context.Context, by *auth.Principal, id string) (*gatehouse.OPClient, error) {
	if err := requireAdmin(by); err != nil {
		return nil, err
	}
	return p.store.OPClientByID(ctx, id)
}

// CreateClient registers an app. A confidential client gets a secret, returned this once:
// only its hash is kept. An empty client_id gets a random one.
func (p *Provider) CreateClient(ctx context.Context, by *auth.Principal, in gatehouse.OPClientInput, meta auth.ClientMeta) (*gatehouse.OPClient, string, error) {
	if err := requireAdmin(by); err != nil {
		return nil, "", err
	}
	c := &gatehouse.OPClient{}
	if in.ClientID != nil {
		c.ID = strings.TrimSpace(*in.ClientID)
	}
	if c.ID == "" {
		c.ID = newSecret()[:24]
	}
	if !clientIDRe.MatchString(c.ID) {
		return nil, "", gatehouse.FieldError("client_id", "use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if err := apply(c, in); err != nil {
		return nil, "", err
	}
	var secret string
	if !c.Public {
		secret = newSecret()
		c.SecretHash = sum(secret)
	}
	if err := p.store.CreateOPClient(ctx, c); err != nil {
		return nil, "", err
	}
	p.adminEvent(ctx, by, meta, "created", c.ID)
	return c, secret, nil
}

// UpdateClient changes an app. Turning a public client confidential issues a secret (returned
// once); turning it public drops the secret.
func (p *Provider) UpdateClient(ctx context.Context, by *auth.Principal, id string, in gatehouse.OPClientInput, meta auth.ClientMeta) (*gatehouse.OPClient, string, error) {
	if err := requireAdmin(by); err != nil {
		return nil, "", err
	}
	if in.ClientID != nil && *in.ClientID != id {
		return nil, "", gatehouse.FieldError("client_id", "the client id cannot be changed; register a new client")
	}
	c, err := p.store.OPClientByID(ctx, id)
	if err != nil {
		return nil, "", err
	}
	wasPublic := c.Public
	if err := apply(c, in); err != nil {
		return nil, "", err
	}
	var secret string
	switch {
	case c.Public:
		c.SecretHash = nil
	case wasPublic:
		secret = newSecret()
		c.SecretHash = sum(secret)
	}
	if err := p.store.UpdateOPClient(ctx, c); err != nil {
		return nil, "", err
	}
	p.adminEvent(ctx, by, meta, "updated", c.ID)
	return c, secret, nil
}

// RotateSecret gives a confidential client a new secret (returned once); the old one stops
// working at once.
func (p *Provider) RotateSecret(ctx context.Context, by *auth.Principal, id string, meta auth.ClientMeta) (string, error) {
	if err := requireAdmin(by); err != nil {
		return "", err
	}
	c, err := p.store.OPClientByID(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Public {
		return "", gatehouse.Errorf(gatehouse.EConflict, "a public client has no secret")
	}
	secret := newSecret()
	c.SecretHash = sum(secret)
	if err := p.store.UpdateOPClient(ctx, c); err != nil {
		return "", err
	}
	p.adminEvent(ctx, by, meta, "secret_rotated", c.ID)
	return secret, nil
}

// DeleteClient removes an app with every grant and token it holds.
func (p *Provider) DeleteClient(ctx context.Context, by *auth.Principal, id string, meta auth.ClientMeta) error {
	if err := requireAdmin(by); err != nil {
		return err
	}
	if err := p.store.DeleteOPClient(ctx, id); err != nil {
		return err
	}
	p.adminEvent(ctx, by, meta, "deleted", id)
	return nil
}

// RotateKeys publishes new signing keys at once; they sign after publish, and the old keys
// leave JWKS when the last ID token they signed has expired.
func (p *Provider) RotateKeys(ctx context.Context, by *auth.Principal, publish time.Duration, meta auth.ClientMeta) error {
	if by != nil {
		if err := requireAdmin(by); err != nil {
			return err
		}
	}
	if err := p.keys.rotate(ctx, publish, IDTokenTTL+time.Minute); err != nil {
		return err
	}
	var uid int64
	if by != nil {
		uid = by.User.ID
	}
	p.event(ctx, gatehouse.EventOIDCKeysRotated, uid, "", map[string]any{"publish_secs": int(publish / time.Second), "ip": meta.IP})
	return nil
}

// LaunchApps lists the apps of the user's "My apps": clients with a launch URL that admit the
// user (allowed_groups), by name. A client the user may not use is never listed, so the list
// shows no app that would answer with the "not allowed" page.
func (p *Provider) LaunchApps(ctx context.Context, by *auth.Principal) ([]*gatehouse.OPClient, error) {
	list, err := p.store.ListOPClients(ctx)
	if err != nil {
		return nil, err
	}
	var out []*gatehouse.OPClient
	for _, c := range list {
		if c.LaunchURL == "" {
			continue
		}
		ok, err := p.allowed(ctx, &client{c: c}, by.User.ID)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// Consents lists the apps the user allowed.
func (p *Provider) Consents(ctx context.Context, by *auth.Principal) ([]*gatehouse.OPConsent, error) {
	list, err := p.store.ListOPConsents(ctx, by.User.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		c.ClientName = c.ClientID
		if cl, err := p.store.OPClientByID(ctx, c.ClientID); err == nil {
			c.ClientName = cl.Name
		}
	}
	return list, nil
}

// RevokeConsent takes the user's consent for an app back and ends the app's tokens for them.
func (p *Provider) RevokeConsent(ctx context.Context, by *auth.Principal, clientID string, meta auth.ClientMeta) error {
	if err := p.store.DeleteOPConsent(ctx, by.User.ID, clientID, p.clock.Now()); err != nil {
		return err
	}
	e := &gatehouse.Event{Time: p.clock.Now(), Kind: gatehouse.EventOIDCConsentRevoked, UserID: &by.User.ID, SessionID: by.SessionID,
		IP: meta.IP, UserAgent: meta.UserAgent, Data: map[string]any{"client_id": clientID}}
	if err := p.store.AddEvent(context.WithoutCancel(ctx), e); err != nil {
		p.log.Error("recording event failed", "kind", e.Kind, "err", err)
	}
	return nil
}

func (p *Provider) adminEvent(ctx context.Context, by *auth.Principal, meta auth.ClientMeta, action, clientID string) {
	e := &gatehouse.Event{Time: p.clock.Now(), Kind: gatehouse.EventOIDCClientChanged, UserID: &by.User.ID, SessionID: by.SessionID,
		IP: meta.IP, UserAgent: meta.UserAgent, Data: map[string]any{"client_id": clientID, "action": action}}
	if err := p.store.AddEvent(context.WithoutCancel(ctx), e); err != nil {
		p.log.Error("recording event failed", "kind", e.Kind, "err", err)
	}
}
