package oidcprovider_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The ways a sign-in through gatehouse must fail (the negative cases).

func TestWrongRedirectURIIsNotFollowed(t *testing.T) {
	x := newRP(t, "sqlite", options{skipConsent: true})
	cfg := x.cfg
	cfg.RedirectURL = "https://evil.example.com/callback"
	page, back := x.follow(x.admin, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if back != nil {
		t.Fatalf("redirected to %s for an unregistered redirect URI", back)
	}
	if page.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", page.Status, page.Body)
	}
}

func TestPKCE(t *testing.T) {
	x := newRP(t, "sqlite", options{skipConsent: true})
	v := oauth2.GenerateVerifier()
	code := x.authorize(x.admin, "s", "n", v)
	if _, err := x.cfg.Exchange(x.ctx, code); err == nil {
		t.Fatal("a code bound to a PKCE challenge was exchanged without the verifier")
	}
	code = x.authorize(x.admin, "s", "n", v)
	if _, err := x.exchange(code, oauth2.GenerateVerifier()); err == nil {
		t.Fatal("a code was exchanged with the wrong verifier")
	}
	// "plain" protects nothing against a code seen in transit: refused outright.
	page, back := x.follow(x.admin, x.cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", v), oauth2.SetAuthURLParam("code_challenge_method", "plain")))
	if back == nil || back.Query().Get("error") != "invalid_request" {
		t.Fatalf("plain PKCE: %v %d %s", back, page.Status, page.Body)
	}
}

func TestPublicClientNeedsPKCE(t *testing.T) {
	x := newRP(t, "sqlite", options{public: true, skipConsent: true})
	_, back := x.follow(x.admin, x.cfg.AuthCodeURL("s"))
	if back == nil || back.Query().Get("error") != "invalid_request" || !strings.Contains(back.Query().Get("error_description"), "PKCE") {
		t.Fatalf("a public client without PKCE got %v", back)
	}
	v := oauth2.GenerateVerifier()
	tok, err := x.exchange(x.authorize(x.admin, "s", "n", v), v)
	if err != nil {
		t.Fatalf("public client with PKCE: %v", err)
	}
	x.verify(tok, "n")
}

func TestExpiredCode(t *testing.T) {
	x := newRP(t, "sqlite", options{skipConsent: true})
	v := oauth2.GenerateVerifier()
	code := x.authorize(x.admin, "s", "n", v)
	x.e.Clock.Advance(2 * time.Minute)
	if _, err := x.exchange(code, v); err == nil {
		t.Fatal("a code two minutes old was exchanged")
	}
}

func TestWrongClientSecret(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		x := newRP(t, backend, options{skipConsent: true})
		v := oauth2.GenerateVerifier()
		code := x.authorize(x.admin, "s", "n", v)
		good := x.cfg.ClientSecret
		// Change the last character (to another one: a secret may end in "0").
		last := "0"
		if strings.HasSuffix(good, "0") {
			last = "1"
		}
		x.cfg.ClientSecret = good[:len(good)-1] + last
		if _, err := x.exchange(code, v); err == nil || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("wrong secret: %v", err)
		}
		// client_secret_post works as well as basic.
		x.cfg.ClientSecret = good
		x.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		if _, err := x.exchange(x.authorize(x.admin, "s", "n", v), v); err != nil {
			t.Fatalf("client_secret_post: %v", err)
		}
		r := x.admin.Do("GET", "/api/admin/events?kind=oidc.failed", nil)
		if !strings.Contains(string(r.Body), "invalid_client_secret") {
			t.Fatalf("no oidc.failed event for the wrong secret: %s", r.Body)
		}
	})
}

func TestSecretRotation(t *testing.T) {
	x := newRP(t, "sqlite", options{skipConsent: true})
	r := x.admin.Do("POST", "/api/admin/oidc/clients/app/secret", nil)
	if r.Status != http.StatusOK || r.Str("client_secret") == "" {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	v := oauth2.GenerateVerifier()
	if _, err := x.exchange(x.authorize(x.admin, "s", "n", v), v); err == nil {
		t.Fatal("the old secret still works after rotation")
	}
	x.cfg.ClientSecret = r.Str("client_secret")
	if _, err := x.exchange(x.authorize(x.admin, "s", "n", v), v); err != nil {
		t.Fatalf("the new secret: %v", err)
	}
	// The secret is never shown again.
	if g := x.admin.Do("GET", "/api/admin/oidc/clients/app", nil); strings.Contains(string(g.Body), "secret") {
		t.Fatalf("client answer mentions a secret: %s", g.Body)
	}
}

func TestDisabledUser(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		x := newRP(t, backend, options{skipConsent: true})
		id := x.e.CreateUser(x.admin, "bob", "bob@example.com", "bob's long password", "user")
		bob, _ := x.e.Login("bob", "bob's long password")
		v := oauth2.GenerateVerifier()
		tok, err := x.exchange(x.authorize(bob, "s", "n", v), v)
		if err != nil {
			t.Fatal(err)
		}
		if r := x.admin.Do("PATCH", "/api/admin/users/"+itoa(id), map[string]any{"disabled": true}); r.Status != http.StatusOK {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		if _, err := x.userinfo(tok.AccessToken); err == nil {
			t.Fatal("a disabled user's access token still answers userinfo")
		}
		if _, err := x.refresh(tok.RefreshToken); err == nil {
			t.Fatal("a disabled user's refresh token still works")
		}
		// The browser is signed out: a new authorization goes to the login page.
		page, back := x.follow(bob, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
		if back != nil || !strings.Contains(string(page.Body), "password") {
			t.Fatalf("a disabled user's browser got %v / %d", back, page.Status)
		}
	})
}

func TestAllowedGroups(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		x := newRP(t, backend, options{allowedGroups: []string{"staff"}, groups: map[string][]string{"admin": {"staff"}, "bob": {"guests"}}})
		x.e.CreateUser(x.admin, "bob", "bob@example.com", "bob's long password", "user")
		bob, _ := x.e.Login("bob", "bob's long password")
		page, back := x.follow(bob, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if back != nil || page.Status != http.StatusForbidden || !strings.Contains(string(page.Body), "may not use") {
			t.Fatalf("a user outside the allowed groups got %v / %d %s", back, page.Status, page.Body)
		}
		v := oauth2.GenerateVerifier()
		if _, err := x.exchange(x.authorize(x.admin, "s", "n", v), v); err != nil {
			t.Fatalf("a member of the allowed group: %v", err)
		}
	})
}

func TestAllowedGroupsWithoutGroupsRefusesEveryone(t *testing.T) {
	x := newRP(t, "sqlite", options{allowedGroups: []string{"staff"}})
	page, back := x.follow(x.admin, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if back != nil || page.Status != http.StatusForbidden {
		t.Fatalf("with no group lookup a restricted client let someone in: %v / %d", back, page.Status)
	}
}

func TestPromptNone(t *testing.T) {
	x := newRP(t, "sqlite", options{})
	v := oauth2.GenerateVerifier()
	// No session.
	_, back := x.follow(x.e.Client(), x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("prompt", "none")))
	if back == nil || back.Query().Get("error") != "login_required" || back.Query().Get("state") != "s" {
		t.Fatalf("prompt=none without a session: %v", back)
	}
	// A session, but no consent yet.
	_, back = x.follow(x.admin, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("prompt", "none")))
	if back == nil || back.Query().Get("error") != "consent_required" {
		t.Fatalf("prompt=none without consent: %v", back)
	}
	// After consent, prompt=none answers silently.
	x.authorize(x.admin, "s", "n", v)
	_, back = x.follow(x.admin, x.cfg.AuthCodeURL("s2", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("prompt", "none")))
	if back == nil || back.Query().Get("code") == "" {
		t.Fatalf("prompt=none with session and consent: %v", back)
	}
}

func TestConsentDeniedAndRevoked(t *testing.T) {
	x := newRP(t, "sqlite", options{})
	page, _ := x.follow(x.admin, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if !strings.Contains(string(page.Body), "Test App") || !strings.Contains(string(page.Body), "your email address") {
		t.Fatalf("consent page does not name the app and the claims: %s", page.Body)
	}
	_, back := x.consent(x.admin, page, "deny")
	if back == nil || back.Query().Get("error") != "access_denied" {
		t.Fatalf("denied consent: %v", back)
	}
	v := oauth2.GenerateVerifier()
	tok, err := x.exchange(x.authorize(x.admin, "s", "n", v), v)
	if err != nil {
		t.Fatal(err)
	}
	r := x.admin.Do("GET", "/api/account/apps", nil)
	if !strings.Contains(string(r.Body), `"client_id":"app"`) {
		t.Fatalf("apps: %s", r.Body)
	}
	if r := x.admin.Do("DELETE", "/api/account/apps/app", nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if _, err := x.refresh(tok.RefreshToken); err == nil {
		t.Fatal("the app's refresh token survived the revoked consent")
	}
	if r := x.admin.Do("GET", "/api/admin/events?kind=oidc.consent_revoked", nil); !strings.Contains(string(r.Body), `"client_id":"app"`) {
		t.Fatalf("no oidc.consent_revoked event: %s", r.Body)
	}
	// Consent is asked again.
	page, _ = x.follow(x.admin, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	if !strings.Contains(string(page.Body), `value="allow"`) {
		t.Fatalf("after revoking, consent was not asked again: %d", page.Status)
	}
}

func TestPromptLoginAsksToConfirm(t *testing.T) {
	x := newRP(t, "sqlite", options{skipConsent: true})
	x.e.Clock.Advance(time.Second)
	v := oauth2.GenerateVerifier()
	page, back := x.follow(x.admin, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("prompt", "login")))
	if back != nil || !strings.Contains(string(page.Body), "Confirm it") {
		t.Fatalf("prompt=login did not ask to confirm: %v %d", back, page.Status)
	}
	id := string(hiddenID.FindSubmatch(page.Body)[1])
	if r := x.admin.Form("/oauth2/login", url.Values{"id": {id}, "action": {"confirm"}, "password": {"wrong password!"}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("a wrong password confirmed: %d", r.Status)
	}
	r := x.admin.Form("/oauth2/login", url.Values{"id": {id}, "action": {"confirm"}, "password": {"correct horse battery"}})
	back = x.toApp(x.admin, r)
	if back == nil || back.Query().Get("code") == "" {
		t.Fatalf("after confirming: %v", back)
	}
	tok, err := x.exchange(back.Query().Get("code"), v)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AuthTime int64 `json:"auth_time"`
	}
	if err := x.verify(tok, "").Claims(&c); err != nil || time.Since(time.Unix(c.AuthTime, 0)) > time.Minute {
		t.Fatalf("auth_time %v is not the confirmation (%v)", time.Unix(c.AuthTime, 0), err)
	}
}

func TestEndSession(t *testing.T) {
	x := newRP(t, "sqlite", options{skipConsent: true})
	v := oauth2.GenerateVerifier()
	tok, err := x.exchange(x.authorize(x.admin, "s", "n", v), v)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	// An unregistered post-logout URI is refused, and nobody is signed out.
	r := x.admin.Do("GET", "/oauth2/end_session?id_token_hint="+raw+"&post_logout_redirect_uri="+url.QueryEscape("https://evil.example.com/"), nil)
	if r.Status == http.StatusFound && strings.Contains(r.Header.Get("Location"), "evil") {
		t.Fatal("followed an unregistered post_logout_redirect_uri")
	}
	if _, err := x.userinfo(tok.AccessToken); err != nil {
		t.Fatal("a refused logout signed the user out")
	}
	r = x.admin.Do("GET", "/oauth2/end_session?id_token_hint="+raw+"&state=z&post_logout_redirect_uri="+url.QueryEscape("http://127.0.0.1:9/bye"), nil)
	if r.Status != http.StatusFound || r.Header.Get("Location") != "http://127.0.0.1:9/bye?state=z" {
		t.Fatalf("end_session: %d %s", r.Status, r.Header.Get("Location"))
	}
	if _, err := x.userinfo(tok.AccessToken); err == nil {
		t.Fatal("RP-initiated logout left the app's token working")
	}
	if me := x.admin.Do("GET", "/api/auth/me", nil); me.Status != http.StatusUnauthorized {
		t.Fatalf("the gatehouse session survived RP-initiated logout: %d", me.Status)
	}
}

func TestIntrospectionAndRevocation(t *testing.T) {
	x := newRP(t, "sqlite", options{skipConsent: true})
	v := oauth2.GenerateVerifier()
	tok, err := x.exchange(x.authorize(x.admin, "s", "n", v), v)
	if err != nil {
		t.Fatal(err)
	}
	introspect := func(token string) map[string]any {
		c := x.e.Client()
		c.HTTP.Jar = nil
		req := url.Values{"token": {token}}
		r := c.Form("/oauth2/introspect", req, "Authorization", basic("app", x.cfg.ClientSecret))
		if r.Status != http.StatusOK {
			t.Fatalf("introspect: %d %s", r.Status, r.Body)
		}
		return r.JSON
	}
	if got := introspect(tok.AccessToken); got["active"] != true || got["client_id"] != "app" {
		t.Fatalf("introspection of a live token: %v", got)
	}
	c := x.e.Client()
	r := c.Form("/oauth2/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, "Authorization", basic("app", x.cfg.ClientSecret))
	if r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if _, err := x.refresh(tok.RefreshToken); err == nil {
		t.Fatal("a revoked refresh token works")
	}
	if got := introspect(tok.AccessToken); got["active"] != false {
		t.Fatalf("revoking the refresh token left its access token active: %v", got)
	}
}
