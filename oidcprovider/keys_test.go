package oidcprovider_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

func jwksKids(t *testing.T, x *rp) []string {
	t.Helper()
	r := x.e.Client().Do("GET", "/oauth2/jwks", nil)
	var set jose.JSONWebKeySet
	if err := jsonUnmarshal(r.Body, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

func idTokenKid(t *testing.T, x *rp) string {
	t.Helper()
	v := oauth2.GenerateVerifier()
	tok, err := x.exchange(x.authorize(x.admin, "s", "n", v), v)
	if err != nil {
		t.Fatal(err)
	}
	x.verify(tok, "n")
	raw, _ := tok.Extra("id_token").(string)
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.KeyID
}

// Rotation publishes the new keys at once, signs with them after the publish delay, and keeps
// the old ones in JWKS until the ID tokens they signed have expired.
func TestKeyRotation(t *testing.T) {
	x := newRP(t, "sqlite", options{skipConsent: true})
	before := jwksKids(t, x)
	oldKid := idTokenKid(t, x)
	if r := x.admin.Do("POST", "/api/admin/oidc/keys/rotate", map[string]any{"publish_secs": 600}); r.Status != http.StatusOK {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	during := jwksKids(t, x)
	if len(during) != 4 {
		t.Fatalf("JWKS during rotation has %d keys, want 4 (old and new of each algorithm)", len(during))
	}
	if kid := idTokenKid(t, x); kid != oldKid {
		t.Fatal("the new key signed before its publish delay")
	}
	x.e.Clock.Advance(11 * time.Minute)
	newKid := idTokenKid(t, x)
	if newKid == oldKid || !slices.Contains(during, newKid) {
		t.Fatalf("after the delay the ID token is signed by %s (old %s, published %v)", newKid, oldKid, during)
	}
	if !slices.Contains(jwksKids(t, x), oldKid) {
		t.Fatal("the old key left JWKS while ID tokens it signed are still valid")
	}
	x.e.Clock.Advance(2 * time.Hour)
	after := jwksKids(t, x)
	if len(after) != 2 || slices.Contains(after, oldKid) || slices.Equal(after, before) {
		t.Fatalf("JWKS after the old keys expired: %v (before %v)", after, before)
	}
	r := x.admin.Do("GET", "/api/admin/events?kind=oidc.keys_rotated", nil)
	if r.Status != http.StatusOK || len(r.Events().Items) != 1 {
		t.Fatalf("events: %s", r.Body)
	}
}

// Keys sealed under another mfa_secret_key do not open: the server starts, says so, and makes
// new keys.
func TestKeysUnderAnotherSecret(t *testing.T) {
	x := newRP(t, "sqlite", options{skipConsent: true})
	old := jwksKids(t, x)
	e2 := testserver.New(t, testserver.Options{DSN: x.e.DSN, Provider: true, MFASecretKey: "another-mfa-key-0123456789abcdefghij"})
	r := e2.Client().Do("GET", "/oauth2/jwks", nil)
	var set jose.JSONWebKeySet
	if err := jsonUnmarshal(r.Body, &set); err != nil || len(set.Keys) != 2 {
		t.Fatalf("jwks under another key: %v %s", err, r.Body)
	}
	for _, k := range set.Keys {
		if slices.Contains(old, k.KeyID) {
			t.Fatal("a key sealed under another secret was published")
		}
	}
}
