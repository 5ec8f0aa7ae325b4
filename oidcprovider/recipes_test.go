package oidcprovider_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// recipe is what one app of docs/oidc-provider.md's recipes does as a relying party: the scopes
// it asks for, how it sends its secret, whether it uses PKCE and refresh tokens, and where it
// reads the claims it maps (the ID token, or userinfo for apps configured with a userinfo URL).
type recipe struct {
	name     string
	scopes   []string
	post     bool // client_secret_post (else client_secret_basic)
	pkce     bool
	refresh  bool
	userinfo bool // reads its claims from userinfo, not the ID token
	groups   bool // maps the groups claim
}

// The recipes' settings, as each app's documentation names them (checked 2026-12-03).
var recipes = []recipe{
	// --scope, --code-challenge-method=S256, --oidc-groups-claim, --cookie-refresh.
	{name: "oauth2-proxy", scopes: []string{"openid", "email", "profile", "groups", "offline_access"}, pkce: true, refresh: true, groups: true},
	// [auth.generic_oauth] scopes, use_pkce, use_refresh_token, api_url with login/name/email/groups_attribute_path.
	{name: "Grafana", scopes: []string{"openid", "profile", "email", "groups", "offline_access"}, pkce: true, refresh: true, userinfo: true, groups: true},
	// OpenID Connect auto discovery, additional scopes, group claim name: ID token and userinfo.
	{name: "Gitea/Forgejo", scopes: []string{"openid", "profile", "email", "groups"}, groups: true},
	// user_oidc sends client_id and client_secret in the token request's body.
	{name: "Nextcloud user_oidc", scopes: []string{"openid", "email", "profile", "groups"}, post: true, userinfo: true, groups: true},
	// Token endpoint auth method client_secret_post (the default), PKCE, claims from userinfo.
	{name: "Immich", scopes: []string{"openid", "email", "profile"}, post: true, pkce: true, userinfo: true},
	// Auth style "In Params", no PKCE, Resource URL = userinfo, User identifier preferred_username.
	{name: "Portainer", scopes: []string{"openid", "profile", "email", "groups"}, post: true, userinfo: true, groups: true},
}

func TestRecipes(t *testing.T) {
	x := newRP(t, "sqlite", options{groups: map[string][]string{"admin": {"grafana-admins", "staff"}}})
	for _, rc := range recipes {
		t.Run(rc.name, func(t *testing.T) {
			cfg := x.cfg
			cfg.Scopes = rc.scopes
			cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
			if rc.post {
				cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
			}
			v := oauth2.GenerateVerifier()
			var authOpts, exOpts []oauth2.AuthCodeOption
			if rc.pkce {
				authOpts, exOpts = []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(v)}, []oauth2.AuthCodeOption{oauth2.VerifierOption(v)}
			}
			page, back := x.follow(x.admin, cfg.AuthCodeURL("st", authOpts...))
			if back == nil && page.Status == http.StatusOK && strings.Contains(string(page.Body), `value="allow"`) {
				page, back = x.consent(x.admin, page, "allow")
			}
			if back == nil || back.Query().Get("code") == "" {
				t.Fatalf("no code: %v %d %s", back, page.Status, page.Body)
			}
			tok, err := cfg.Exchange(x.ctx, back.Query().Get("code"), exOpts...)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			var c claims
			if rc.userinfo {
				info, err := x.provider.UserInfo(x.ctx, oauth2.StaticTokenSource(tok))
				if err != nil {
					t.Fatalf("userinfo: %v", err)
				}
				if err := info.Claims(&c); err != nil {
					t.Fatal(err)
				}
			} else {
				raw, _ := tok.Extra("id_token").(string)
				id, err := x.provider.Verifier(&oidc.Config{ClientID: "app"}).Verify(x.ctx, raw)
				if err != nil {
					t.Fatalf("ID token: %v", err)
				}
				if err := id.Claims(&c); err != nil {
					t.Fatal(err)
				}
			}
			if c.PreferredUsername != "admin" || c.Email != "admin@example.com" || c.Name == "" {
				t.Fatalf("claims the recipe maps: %+v", c)
			}
			if rc.groups != slices.Contains(c.Groups, "grafana-admins") {
				t.Fatalf("groups (asked: %v): %v", rc.groups, c.Groups)
			}
			if rc.refresh {
				if tok.RefreshToken == "" {
					t.Fatal("no refresh token for offline_access")
				}
				next, err := cfg.TokenSource(x.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
				if err != nil || next.AccessToken == "" {
					t.Fatalf("refresh: %v", err)
				}
			} else if tok.RefreshToken != "" {
				t.Fatal("a refresh token without offline_access")
			}
		})
	}
}
