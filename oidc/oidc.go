// Package oidc is gatehouse's OpenID Connect relying party: discovery, the authorization code
// flow with PKCE, ID token verification (github.com/coreos/go-oidc/v3 and golang.org/x/oauth2),
// and the sealing of client secrets at rest. It knows nothing of users or sessions.
package oidc

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// secretInfo separates this key from every other key derived from auth.mfa_secret_key.
const secretInfo = "gatehouse oidc client secret"

// sealVersion prefixes sealed secrets so the scheme can change later.
const sealVersion = 1

// ErrUnseal means a client secret could not be decrypted: auth.mfa_secret_key changed.
var ErrUnseal = errors.New("the client secret cannot be decrypted: auth.mfa_secret_key has changed since it was saved; enter the client secret again")

// Token endpoint authentication methods (OpenID Connect Core 9): how the client secret reaches
// the provider's token endpoint.
const (
	// AuthBasic sends the client id and secret in an HTTP Basic Authorization header. RFC 6749
	// 2.3.1 makes it the method every server must support, and it is the default of Hydra,
	// Keycloak, authentik and most others.
	AuthBasic = "client_secret_basic"
	// AuthPost sends them as form fields in the request body.
	AuthPost = "client_secret_post"
)

// AuthMethods are the token endpoint auth methods gatehouse can use, the default first.
var AuthMethods = []string{AuthBasic, AuthPost}

// Config is one provider as the relying party needs it.
type Config struct {
	Issuer, ClientID, ClientSecret, RedirectURL string
	Scopes                                      []string
	// AuthMethod is AuthBasic or AuthPost; "" means AuthBasic.
	AuthMethod string
}

// Claims are the ID token claims gatehouse uses.
type Claims struct {
	Subject           string
	Email             string
	EmailVerified     bool
	PreferredUsername string
	Name              string
}

// Error is a failure of the provider or of its answer; Reason is a short machine-readable word
// for events, ProviderError what the provider itself said, if anything.
type Error struct {
	Reason        string
	ProviderError string
	Err           error
}

func (e *Error) Error() string {
	if e.ProviderError != "" {
		return fmt.Sprintf("%s: %v (provider said: %s)", e.Reason, e.Err, e.ProviderError)
	}
	return fmt.Sprintf("%s: %v", e.Reason, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// RelyingParty talks to OpenID providers. It is safe for concurrent use.
type RelyingParty struct {
	aead   cipher.AEAD
	client *http.Client
	now    func() time.Time
}

// New derives the sealing key from secretKey (auth.mfa_secret_key) with HKDF-SHA256. client
// is used for every request to providers (nil: a client with a 10 second timeout); now is
// the clock ID tokens are checked against.
func New(secretKey string, client *http.Client, now func() time.Time) (*RelyingParty, error) {
	if secretKey == "" {
		return nil, errors.New("oidc: an empty secret key")
	}
	key, err := hkdf.Key(sha256.New, []byte(secretKey), nil, secretInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if client == nil {
		// Redirects are not followed: discovery, JWKS and token requests go to the addresses
		// the provider documents, and a redirect (say to a cloud metadata address, or from
		// https down to http) is refused rather than fetched on an administrator's say-so.
		client = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("the provider answered with a redirect; gatehouse does not follow redirects from OpenID providers (use the issuer URL the provider documents)")
		}}
	}
	if now == nil {
		now = time.Now
	}
	return &RelyingParty{aead: aead, client: client, now: now}, nil
}

// Seal encrypts a client secret. The provider id is authenticated data, so a sealed secret
// copied onto another provider's row does not open.
func (rp *RelyingParty) Seal(providerID, secret string) ([]byte, error) {
	nonce := make([]byte, rp.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{sealVersion}, nonce...)
	return rp.aead.Seal(out, nonce, []byte(secret), []byte(providerID)), nil
}

// Open decrypts a sealed client secret; ErrUnseal when the key changed or the data is damaged.
func (rp *RelyingParty) Open(providerID string, sealed []byte) (string, error) {
	ns := rp.aead.NonceSize()
	if len(sealed) < 1+ns || sealed[0] != sealVersion {
		return "", ErrUnseal
	}
	pt, err := rp.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(providerID))
	if err != nil {
		return "", ErrUnseal
	}
	return string(pt), nil
}

func (rp *RelyingParty) ctx(ctx context.Context) context.Context {
	return gooidc.ClientContext(ctx, rp.client)
}

// discover fetches the provider's discovery document. go-oidc refuses a document whose issuer
// differs from the configured one. Nothing is cached: sign-ins are rare next to the requests
// gatehouse checks, and a fresh document always has the provider's current endpoints and keys.
func (rp *RelyingParty) discover(ctx context.Context, issuer string) (*gooidc.Provider, error) {
	p, err := gooidc.NewProvider(rp.ctx(ctx), issuer)
	if err != nil {
		return nil, &Error{Reason: "discovery_failed", Err: err}
	}
	return p, nil
}

// Check runs discovery for issuer, for validating a provider before it is saved.
func (rp *RelyingParty) Check(ctx context.Context, issuer string) error {
	_, err := rp.discover(ctx, issuer)
	return err
}

// oauth2Config builds the oauth2 configuration with the provider's configured auth method as an
// explicit AuthStyle. It is never guessed from discovery: a provider lists every method it
// supports, but each client is registered for one, and sending another fails
// (invalid_client). AutoDetect is not used either: it retries a refused exchange with the other
// style, sending the secret twice and hiding the real error.
func (rp *RelyingParty) oauth2Config(p *gooidc.Provider, c Config) *oauth2.Config {
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if c.AuthMethod == AuthPost {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	scopes := c.Scopes
	if !slices.Contains(scopes, gooidc.ScopeOpenID) {
		scopes = append([]string{gooidc.ScopeOpenID}, scopes...)
	}
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: ep, RedirectURL: c.RedirectURL, Scopes: scopes}
}

// AuthCodeURL discovers the provider and returns where to send the browser: the authorization
// endpoint with state, nonce and the S256 challenge of verifier.
func (rp *RelyingParty) AuthCodeURL(ctx context.Context, c Config, state, nonce, verifier string) (string, error) {
	p, err := rp.discover(ctx, c.Issuer)
	if err != nil {
		return "", err
	}
	return rp.oauth2Config(p, c).AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// NewVerifier returns a fresh PKCE code verifier.
func NewVerifier() string { return oauth2.GenerateVerifier() }

// Exchange redeems the code with the PKCE verifier and verifies the ID token: signature by the
// provider's JWKS, issuer, audience (the client id), expiry, and that its nonce is ours.
func (rp *RelyingParty) Exchange(ctx context.Context, c Config, code, verifier, nonce string) (*Claims, error) {
	p, err := rp.discover(ctx, c.Issuer)
	if err != nil {
		return nil, err
	}
	tok, err := rp.oauth2Config(p, c).Exchange(rp.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		e := &Error{Reason: "token_exchange_failed", Err: err}
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			e.ProviderError = re.ErrorCode
			if re.ErrorDescription != "" {
				e.ProviderError += ": " + re.ErrorDescription
			}
		}
		return nil, e
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, &Error{Reason: "no_id_token", Err: errors.New("the token response has no id_token")}
	}
	idt, err := p.VerifierContext(rp.ctx(ctx), &gooidc.Config{ClientID: c.ClientID, Now: rp.now}).Verify(rp.ctx(ctx), raw)
	if err != nil {
		return nil, &Error{Reason: "id_token_invalid", Err: err}
	}
	if idt.Nonce == "" || idt.Nonce != nonce {
		return nil, &Error{Reason: "nonce_mismatch", Err: errors.New("the ID token's nonce is not the one sent with this sign-in")}
	}
	var cl rawClaims
	if err := idt.Claims(&cl); err != nil {
		return nil, &Error{Reason: "id_token_invalid", Err: err}
	}
	if idt.Subject == "" {
		return nil, &Error{Reason: "id_token_invalid", Err: errors.New("the ID token has no subject")}
	}
	out := cl.claims(idt.Subject)
	if (out.Email == "" || out.Name == "") && p.UserInfoEndpoint() != "" {
		// Without an email the sign-in cannot match or create an account, so a failed UserInfo
		// request fails it; a missing name alone is not worth refusing a valid ID token for.
		// A UserInfo answer about another subject is always refused.
		var oe *Error
		if err := rp.fillFromUserInfo(ctx, p, tok, out); err != nil && (out.Email == "" || errors.As(err, &oe) && oe.Reason == "userinfo_invalid") {
			return nil, err
		}
	}
	return out, nil
}

// rawClaims are the claims gatehouse reads, as the ID token or UserInfo carries them.
type rawClaims struct {
	Email             string          `json:"email"`
	EmailVerified     json.RawMessage `json:"email_verified"`
	PreferredUsername string          `json:"preferred_username"`
	Name              string          `json:"name"`
}

func (cl rawClaims) claims(subject string) *Claims {
	return &Claims{Subject: subject, Email: cl.Email, EmailVerified: truthy(cl.EmailVerified),
		PreferredUsername: cl.PreferredUsername, Name: cl.Name}
}

// fillFromUserInfo completes claims the ID token left out from the UserInfo endpoint: many
// providers (Hydra, Keycloak with some mappers, Entra, Pocket ID) put email and name only there
// unless configured otherwise. Claims the ID token has are kept; the email and its verified flag
// are taken together, never one from each source. UserInfo's subject must be the ID token's
// (OpenID Connect Core 5.3.2), or the answer is refused: it could belong to someone else.
func (rp *RelyingParty) fillFromUserInfo(ctx context.Context, p *gooidc.Provider, tok *oauth2.Token, c *Claims) error {
	ui, err := p.UserInfo(rp.ctx(ctx), oauth2.StaticTokenSource(tok))
	if err != nil {
		return &Error{Reason: "userinfo_failed", Err: err}
	}
	if ui.Subject != c.Subject {
		return &Error{Reason: "userinfo_invalid", Err: fmt.Errorf("the UserInfo answer is for subject %q, not the ID token's %q", ui.Subject, c.Subject)}
	}
	var cl rawClaims
	if err := ui.Claims(&cl); err != nil {
		return &Error{Reason: "userinfo_invalid", Err: err}
	}
	u := cl.claims(ui.Subject)
	if c.Email == "" {
		c.Email, c.EmailVerified = u.Email, u.EmailVerified
	}
	if c.Name == "" {
		c.Name = u.Name
	}
	if c.PreferredUsername == "" {
		c.PreferredUsername = u.PreferredUsername
	}
	return nil
}

// truthy reads email_verified, which some providers send as the string "true".
func truthy(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		v, _ := strconv.ParseBool(s)
		return v
	}
	return false
}
