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

	"github.com/oauth2-proxy/mockoidc"
)

// User is who the provider signs in next.
type User struct {
	Subject, Email, PreferredUsername string
	EmailVerified                     bool
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
}

// Start runs a provider until the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{m: m}
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
	p.m.QueueUser(&mockoidc.MockUser{Subject: u.Subject, Email: u.Email, EmailVerified: u.EmailVerified, PreferredUsername: u.PreferredUsername})
}

// TamperNonce makes the provider put nonce into ID tokens instead of the one it was sent.
func (p *Provider) TamperNonce(nonce string) { p.mu.Lock(); p.nonce = nonce; p.mu.Unlock() }

// AnnounceIssuer makes discovery announce another issuer ("" = the real one).
func (p *Provider) AnnounceIssuer(iss string) { p.mu.Lock(); p.issuer = iss; p.mu.Unlock() }

// RefuseNext makes the authorization endpoint answer with this OAuth error code ("" = normal).
func (p *Provider) RefuseNext(code string) { p.mu.Lock(); p.authError = code; p.mu.Unlock() }

// Stop shuts the provider down (provider unreachable).
func (p *Provider) Stop() { _ = p.m.Shutdown() }

func (p *Provider) misbehave(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		nonce, iss, authErr := p.nonce, p.issuer, p.authError
		if strings.HasSuffix(r.URL.Path, mockoidc.AuthorizationEndpoint) {
			p.authError = ""
		}
		p.mu.Unlock()
		switch {
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
