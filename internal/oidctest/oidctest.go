// Package oidctest runs a real OpenID provider on loopback for tests: discovery, JWKS, the
// authorization code flow with PKCE and signed ID tokens (github.com/oauth2-proxy/mockoidc). It
// signs in whichever user the test queued, at once, without a login form, and can misbehave
// on request to test that gatehouse refuses what it must.
package oidctest

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// User is who the provider signs in next.
type User struct {
	Subject, Email, PreferredUsername, Name string
	EmailVerified                           bool
	// UserInfoOnly puts email, name and preferred_username only in the UserInfo answer, not in
	// the ID token (as Hydra, Entra and others do unless configured otherwise).
	UserInfoOnly bool
}

// user implements mockoidc.User: unlike mockoidc's MockUser its UserInfo answer carries the
// subject (OpenID Connect Core 5.3.2 requires it) and the verified flag.
type user struct{ u User }

type profile struct {
	Email             string `json:"email,omitempty"`
	EmailVerified     bool   `json:"email_verified,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Name              string `json:"name,omitempty"`
}

func (x user) ID() string { return x.u.Subject }

func (x user) profile() profile {
	return profile{Email: x.u.Email, EmailVerified: x.u.EmailVerified, PreferredUsername: x.u.PreferredUsername, Name: x.u.Name}
}

func (x user) Userinfo([]string) ([]byte, error) {
	return json.Marshal(struct {
		Subject string `json:"sub"`
		profile
	}{x.u.Subject, x.profile()})
}

func (x user) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if x.u.UserInfoOnly {
		return base, nil
	}
	return &struct {
		*mockoidc.IDTokenClaims
		profile
	}{base, x.profile()}, nil
}

// Provider is a running test OP.
type Provider struct {
	m  *mockoidc.MockOIDC
	mu sync.Mutex
	// nonce, when set, replaces the nonce of the next authorization requests (nonce mismatch).
	nonce string
	// issuer, when set, is announced by discovery instead of the real issuer (wrong issuer).
	issuer string
	// authError, when set, makes the authorization endpoint redirect back with error=authError.
	authError string
	// authMethod is the token endpoint auth method the client is registered with.
	authMethod string
}

// Token endpoint auth methods (the client's registration at this provider).
const (
	AuthBasic = "client_secret_basic"
	AuthPost  = "client_secret_post"
)

// Start runs a provider until the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{m: m, authMethod: AuthBasic}
	if err := m.AddMiddleware(p.misbehave); err != nil {
		t.Fatal(err)
	}
	if err := startOnLoopback(m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// Issuer, ClientID and ClientSecret are what an administrator registers in gatehouse.
func (p *Provider) Issuer() string       { return p.m.Issuer() }
func (p *Provider) ClientID() string     { return p.m.ClientID }
func (p *Provider) ClientSecret() string { return p.m.ClientSecret }

// Queue makes u the user of the next authorization request.
func (p *Provider) Queue(u User) {
	p.m.QueueUser(user{u})
}

// TamperNonce makes the provider put nonce into ID tokens instead of the one it was sent.
func (p *Provider) TamperNonce(nonce string) { p.mu.Lock(); p.nonce = nonce; p.mu.Unlock() }

// AnnounceIssuer makes discovery announce another issuer ("" = the real one).
func (p *Provider) AnnounceIssuer(iss string) { p.mu.Lock(); p.issuer = iss; p.mu.Unlock() }

// RefuseNext makes the authorization endpoint answer with this OAuth error code ("" = normal).
func (p *Provider) RefuseNext(code string) { p.mu.Lock(); p.authError = code; p.mu.Unlock() }

// RegisterAuthMethod sets the token endpoint auth method the client is registered with (AuthBasic
// by default, as at Hydra and most providers). Like a real provider, the token endpoint then
// answers invalid_client to the other method.
func (p *Provider) RegisterAuthMethod(m string) { p.mu.Lock(); p.authMethod = m; p.mu.Unlock() }

// Stop shuts the provider down (provider unreachable).
func (p *Provider) Stop() { _ = p.m.Shutdown() }

func (p *Provider) misbehave(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		nonce, iss, authErr, method := p.nonce, p.issuer, p.authError, p.authMethod
		if strings.HasSuffix(r.URL.Path, mockoidc.AuthorizationEndpoint) {
			p.authError = ""
		}
		p.mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, mockoidc.TokenEndpoint):
			if !clientAuth(w, r, method) {
				return
			}
		case strings.HasSuffix(r.URL.Path, mockoidc.AuthorizationEndpoint) && authErr != "":
			back, _ := url.Parse(r.URL.Query().Get("redirect_uri"))
			q := back.Query()
			q.Set("error", authErr)
			q.Set("error_description", "the user cancelled")
			q.Set("state", r.URL.Query().Get("state"))
			back.RawQuery = q.Encode()
			http.Redirect(w, r, back.String(), http.StatusFound)
			return
		case strings.HasSuffix(r.URL.Path, mockoidc.AuthorizationEndpoint) && nonce != "":
			q := r.URL.Query()
			q.Set("nonce", nonce)
			r.URL.RawQuery = q.Encode()
		case strings.HasSuffix(r.URL.Path, mockoidc.DiscoveryEndpoint) && iss != "":
			rec := &recorder{header: http.Header{}}
			next.ServeHTTP(rec, r)
			var doc map[string]any
			_ = json.Unmarshal(rec.body, &doc)
			doc["issuer"] = iss
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(doc)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientAuth enforces the registered auth method at the token endpoint (mockoidc itself reads
// only form fields), moving Basic credentials into the form for mockoidc.
func clientAuth(w http.ResponseWriter, r *http.Request, method string) bool {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	id, secret, basic := r.BasicAuth()
	inForm := r.PostForm.Get("client_secret") != ""
	refuse := func(why string) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": why})
		return false
	}
	switch {
	case method == AuthBasic && (!basic || inForm):
		return refuse("the client is registered for client_secret_basic")
	case method == AuthPost && (basic || !inForm):
		return refuse("the client is registered for client_secret_post")
	case basic:
		// RFC 6749 2.3.1: both are form-urlencoded before Basic encoding.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		r.PostForm.Set("client_id", id)
		r.PostForm.Set("client_secret", secret)
		r.Form.Set("client_id", id)
		r.Form.Set("client_secret", secret)
	}
	return true
}

type recorder struct {
	header http.Header
	body   []byte
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(int)             {}
func (r *recorder) Write(b []byte) (int, error) { r.body = append(r.body, b...); return len(b), nil }

func startOnLoopback(m *mockoidc.MockOIDC) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	return m.Start(ln, nil)
}

// FastForward moves the provider's clock (the times in its ID tokens) forward by d, to keep in
// step with a test server whose clock a test moved.
func (p *Provider) FastForward(d time.Duration) { p.m.FastForward(d) }
