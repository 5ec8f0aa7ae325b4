package oidcprovider_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// These tests drive a running gatehouse as a relying party would: discovery, the browser's
// authorization request through gatehouse's own session, and the back channel with
// github.com/coreos/go-oidc and golang.org/x/oauth2. They run on SQLite and on PostgreSQL.

const redirectURI = "http://127.0.0.1:9/callback"

type rp struct {
	t        *testing.T
	e        *testserver.Env
	admin    *testserver.Client
	cfg      oauth2.Config
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	ctx      context.Context
}

type options struct {
	public        bool
	skipConsent   bool
	allowedGroups []string
	groups        map[string][]string // username -> groups
	log           *slog.Logger
	localhost     bool // serve on localhost: passkeys need a domain name
}

type groupsByName struct {
	e      **testserver.Env
	groups map[string][]string
}

func (g groupsByName) UserGroups(ctx context.Context, uid int64) ([]string, error) {
	u, err := (*g.e).Store.UserByID(ctx, uid)
	if err != nil {
		return nil, err
	}
	return g.groups[u.Username], nil
}

func newRP(t *testing.T, backend string, o options) *rp {
	t.Helper()
	var env *testserver.Env
	so := testserver.Options{Backend: backend, Provider: true, Web: true, Clock: testserver.NewClockAtNow(), Logger: o.log, Localhost: o.localhost}
	if o.groups != nil {
		so.Groups = groupsByName{&env, o.groups}
	}
	env = testserver.New(t, so)
	admin, _ := env.Setup("admin", "admin@example.com", "correct horse battery")
	body := map[string]any{"client_id": "app", "name": "Test App", "redirect_uris": []string{redirectURI},
		"post_logout_redirect_uris": []string{"http://127.0.0.1:9/bye"}, "public": o.public, "skip_consent": o.skipConsent}
	if o.allowedGroups != nil {
		body["allowed_groups"] = o.allowedGroups
	}
	r := admin.Do("POST", "/api/admin/oidc/clients", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("creating the client: %d %s", r.Status, r.Body)
	}
	secret := r.Str("client_secret")
	if o.public != (secret == "") {
		t.Fatalf("public=%v but client_secret=%q", o.public, secret)
	}
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, env.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	x := &rp{t: t, e: env, admin: admin, provider: p, ctx: ctx,
		verifier: p.Verifier(&oidc.Config{ClientID: "app"}),
		cfg: oauth2.Config{ClientID: "app", ClientSecret: secret, RedirectURL: redirectURI, Scopes: []string{oidc.ScopeOpenID, "profile", "email", "groups", oidc.ScopeOfflineAccess},
			Endpoint: oauth2.Endpoint{AuthURL: p.Endpoint().AuthURL, TokenURL: p.Endpoint().TokenURL, AuthStyle: oauth2.AuthStyleInHeader}}}
	if o.public {
		x.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return x
}

// follow walks redirects inside gatehouse and stops at the first answer that is not a redirect
// to gatehouse: a page, or the redirect to the app.
func (x *rp) follow(c *testserver.Client, u string) (*testserver.Response, *url.URL) {
	x.t.Helper()
	for range 10 {
		path := strings.TrimPrefix(u, x.e.URL)
		r := c.Do("GET", path, nil)
		loc := r.Header.Get("Location")
		if r.Status < 300 || r.Status > 399 || loc == "" {
			return r, nil
		}
		next, err := url.Parse(loc)
		if err != nil {
			x.t.Fatal(err)
		}
		if next.Host != "" && "http://"+next.Host != x.e.URL {
			return r, next
		}
		if next.Host == "" {
			loc = x.e.URL + loc
		}
		u = loc
	}
	x.t.Fatal("too many redirects")
	return nil, nil
}

// toApp follows the redirect r answered with until it leaves gatehouse for the app, and returns
// the app's address (a completed request goes to the app at once, without op's callback page).
func (x *rp) toApp(c *testserver.Client, r *testserver.Response) *url.URL {
	x.t.Helper()
	loc := r.Header.Get("Location")
	if r.Status < 300 || r.Status > 399 || loc == "" {
		x.t.Fatalf("want a redirect: %d %s", r.Status, r.Body)
	}
	next, err := url.Parse(loc)
	if err != nil {
		x.t.Fatal(err)
	}
	if next.Host != "" && "http://"+next.Host != x.e.URL {
		return next
	}
	if next.Host == "" {
		loc = x.e.URL + loc
	}
	_, back := x.follow(c, loc)
	return back
}

var hiddenID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// consent answers the consent page with action.
func (x *rp) consent(c *testserver.Client, page *testserver.Response, action string) (*testserver.Response, *url.URL) {
	x.t.Helper()
	m := hiddenID.FindSubmatch(page.Body)
	if m == nil {
		x.t.Fatalf("no consent form in %d %s", page.Status, page.Body)
	}
	r := c.Form("/oauth2/login", url.Values{"id": {string(m[1])}, "action": {action}})
	if r.Status < 300 || r.Status > 399 {
		return r, nil
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		x.t.Fatal(err)
	}
	if loc.Host != "" && "http://"+loc.Host != x.e.URL {
		return r, loc
	}
	return x.follow(c, r.Header.Get("Location"))
}

// authorize runs the browser part and returns the code (failing unless one came back).
func (x *rp) authorize(c *testserver.Client, state, nonce, verifier string, extra ...oauth2.AuthCodeOption) string {
	x.t.Helper()
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}, extra...)
	page, back := x.follow(c, x.cfg.AuthCodeURL(state, opts...))
	if back == nil && page.Status == http.StatusOK && strings.Contains(string(page.Body), `value="allow"`) {
		page, back = x.consent(c, page, "allow")
	}
	if back == nil {
		x.t.Fatalf("no redirect to the app; last answer %d %s", page.Status, page.Body)
	}
	q := back.Query()
	if q.Get("error") != "" || q.Get("state") != state || q.Get("code") == "" {
		x.t.Fatalf("redirect to the app: %s", back)
	}
	return q.Get("code")
}

func (x *rp) exchange(code, verifier string) (*oauth2.Token, error) {
	return x.cfg.Exchange(x.ctx, code, oauth2.VerifierOption(verifier))
}

func (x *rp) verify(tok *oauth2.Token, nonce string) *oidc.IDToken {
	x.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	id, err := x.verifier.Verify(x.ctx, raw)
	if err != nil {
		x.t.Fatalf("ID token: %v", err)
	}
	if id.Nonce != nonce {
		x.t.Fatalf("nonce %q, want %q", id.Nonce, nonce)
	}
	return id
}

func (x *rp) userinfo(access string) (*oidc.UserInfo, error) {
	return x.provider.UserInfo(x.ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access, TokenType: "Bearer"}))
}

func (x *rp) refresh(rt string) (*oauth2.Token, error) {
	return x.cfg.TokenSource(x.ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}).Token()
}

func forBackends(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range testserver.Backends() {
		t.Run(b, func(t *testing.T) { fn(t, b) })
	}
}

type claims struct {
	Email             string   `json:"email"`
	EmailVerified     bool     `json:"email_verified"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
	ACR               string   `json:"acr"`
	AMR               []string `json:"amr"`
}

func TestCodeFlowWithPKCE(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		x := newRP(t, backend, options{groups: map[string][]string{"admin": {"staff", "ops"}}})
		verifier := oauth2.GenerateVerifier()
		code := x.authorize(x.admin, "state-1", "nonce-1", verifier)
		tok, err := x.exchange(code, verifier)
		if err != nil {
			t.Fatalf("code exchange: %v", err)
		}
		id := x.verify(tok, "nonce-1")
		if _, err := strconv.ParseInt(id.Subject, 10, 64); err == nil || len(id.Subject) < 32 {
			t.Fatalf("sub %q is a bare number or too short; want a per-user UUID", id.Subject)
		}
		var c claims
		if err := id.Claims(&c); err != nil {
			t.Fatal(err)
		}
		if c.Email != "admin@example.com" || c.PreferredUsername != "admin" || strings.Join(c.Groups, ",") != "staff,ops" ||
			c.ACR != "1fa" || strings.Join(c.AMR, ",") != "pwd" {
			t.Fatalf("ID token claims: %+v", c)
		}
		info, err := x.userinfo(tok.AccessToken)
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		if info.Subject != id.Subject || info.Email != "admin@example.com" {
			t.Fatalf("userinfo: %+v", info)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token for offline_access")
		}

		// Refresh rotates: a new refresh token, a new ID token for the same subject.
		next, err := x.refresh(tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken {
			t.Fatal("refresh did not rotate the tokens")
		}
		if id2 := x.verify(next, ""); id2.Subject != id.Subject {
			t.Fatalf("refreshed ID token for %q, want %q", id2.Subject, id.Subject)
		}
		if _, err := x.userinfo(next.AccessToken); err != nil {
			t.Fatalf("userinfo with the refreshed token: %v", err)
		}

		// The same code again: refused, and the tokens of the first exchange die.
		if _, err := x.exchange(code, verifier); err == nil {
			t.Fatal("a code was exchanged twice")
		}
		if _, err := x.userinfo(next.AccessToken); err == nil {
			t.Fatal("tokens of a replayed code still work")
		}
		if _, err := x.refresh(next.RefreshToken); err == nil {
			t.Fatal("the refresh token of a replayed code still works")
		}
	})
}

func TestRefreshReuseRevokesTheGrant(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		x := newRP(t, backend, options{skipConsent: true})
		v := oauth2.GenerateVerifier()
		tok, err := x.exchange(x.authorize(x.admin, "s", "n", v), v)
		if err != nil {
			t.Fatal(err)
		}
		next, err := x.refresh(tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		x.e.Clock.Advance(time.Minute) // past the grace for racing refreshes
		if _, err := x.refresh(tok.RefreshToken); err == nil {
			t.Fatal("a used refresh token worked again")
		}
		if _, err := x.refresh(next.RefreshToken); err == nil {
			t.Fatal("after a reuse, the thief's or the owner's newer token still works")
		}
		r := x.admin.Do("GET", "/api/admin/events?kind=token.reuse_detected", nil)
		if !strings.Contains(string(r.Body), `"client_id":"app"`) {
			t.Fatalf("no token.reuse_detected event naming the client: %s", r.Body)
		}
	})
}

func TestSignOutEndsTheAppsTokens(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		x := newRP(t, backend, options{skipConsent: true})
		v := oauth2.GenerateVerifier()
		tok, err := x.exchange(x.authorize(x.admin, "s", "n", v), v)
		if err != nil {
			t.Fatal(err)
		}
		if r := x.admin.Do("POST", "/api/auth/logout", nil); r.Status >= 300 {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		if _, err := x.userinfo(tok.AccessToken); err == nil {
			t.Fatal("the app's access token outlived the gatehouse session")
		}
		if _, err := x.refresh(tok.RefreshToken); err == nil {
			t.Fatal("the app's refresh token outlived the gatehouse session")
		}
	})
}

// A code whose sign-in ended before the exchange gives no tokens: the grant's write refuses it
// (its transaction reads the session), and no oidc.token_issued is recorded.
func TestCodeOfAnEndedSignInGivesNoTokens(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		x := newRP(t, backend, options{skipConsent: true})
		v := oauth2.GenerateVerifier()
		code := x.authorize(x.admin, "s", "n", v)
		if r := x.admin.Do("POST", "/api/auth/logout", nil); r.Status >= 300 {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		tok, err := x.exchange(code, v)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || tok != nil || strings.Contains(string(re.Body), "access_token") {
			t.Fatalf("exchange after sign-out: token %v, error %v", tok, err)
		}
		es, _, err := x.e.Store.ListEvents(x.ctx, gatehouse.EventFilter{Kind: gatehouse.EventOIDCTokenIssued, Limit: 10})
		if err != nil || len(es) != 0 {
			t.Fatalf("oidc.token_issued recorded for a refused exchange: %v %v", es, err)
		}
	})
}

func TestDiscoveryAndKeys(t *testing.T) {
	x := newRP(t, "sqlite", options{})
	var d struct {
		Issuer          string   `json:"issuer"`
		JWKS            string   `json:"jwks_uri"`
		Revocation      string   `json:"revocation_endpoint"`
		Introspection   string   `json:"introspection_endpoint"`
		EndSession      string   `json:"end_session_endpoint"`
		Algs            []string `json:"id_token_signing_alg_values_supported"`
		AuthMethods     []string `json:"token_endpoint_auth_methods_supported"`
		ChallengeMethod []string `json:"code_challenge_methods_supported"`
	}
	if err := x.provider.Claims(&d); err != nil {
		t.Fatal(err)
	}
	if d.Issuer != x.e.URL || d.JWKS != x.e.URL+"/oauth2/jwks" || d.Revocation == "" || d.Introspection == "" || d.EndSession == "" {
		t.Fatalf("discovery: %+v", d)
	}
	if strings.Join(d.Algs, ",") != "RS256,ES256" || !strings.Contains(strings.Join(d.AuthMethods, ","), "client_secret_post") ||
		strings.Join(d.ChallengeMethod, ",") != "S256" {
		t.Fatalf("discovery: %+v", d)
	}
	r := x.e.Client().Do("GET", "/oauth2/jwks", nil)
	var set struct {
		Keys []struct {
			Kid, Kty, Alg, Use string
			D                  string `json:"d"`
		} `json:"keys"`
	}
	if err := jsonUnmarshal(r.Body, &set); err != nil || len(set.Keys) != 2 {
		t.Fatalf("jwks: %v %s", err, r.Body)
	}
	for _, k := range set.Keys {
		if k.D != "" {
			t.Fatal("JWKS publishes a private key")
		}
	}
}
