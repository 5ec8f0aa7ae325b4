package oidcprovider_test

import (
	"bytes"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/oidcprovider"
)

// TestMain installs the provider's log router as the program does (cmd/gatehouse's main).
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(oidcprovider.LogRouter(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	code := m.Run()
	testdb.Drain()
	os.Exit(code)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// What the protocol library logs while gatehouse serves reaches the logger gatehouse was given,
// and no credential the app or the user sent or received is in it.
func TestProtocolLogsGoToTheInjectedLoggerWithoutSecrets(t *testing.T) {
	var buf lockedBuffer
	x := newRP(t, "sqlite", options{skipConsent: true, log: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	x.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams // the secret travels in the form
	v := oauth2.GenerateVerifier()
	code := x.authorize(x.admin, "s", "n", v)
	tok, err := x.exchange(code, v)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{x.cfg.ClientSecret, code, v, tok.AccessToken, tok.RefreshToken, tok.Extra("id_token").(string)}
	// Errors the library logs: a replayed code, a wrong secret, a reused refresh token, a bad
	// authorization request.
	if _, err := x.exchange(code, v); err == nil {
		t.Fatal("code replay accepted")
	}
	good := x.cfg.ClientSecret
	code2 := x.authorize(x.admin, "s", "n", v)
	secrets = append(secrets, code2)
	x.cfg.ClientSecret = "not-" + good
	if _, err := x.exchange(code2, v); err == nil {
		t.Fatal("wrong secret accepted")
	}
	x.cfg.ClientSecret = good
	if _, err := x.refresh(tok.RefreshToken); err == nil {
		t.Fatal("refresh of a revoked grant accepted")
	}
	x.admin.Do("GET", "/oauth2/authorize?"+url.Values{"client_id": {"app"}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid"}, "code_challenge": {"x"}, "code_challenge_method": {"plain"}, "state": {"st"}}.Encode(), nil)

	logged := buf.String()
	if !strings.Contains(logged, `"msg":"request error"`) || !strings.Contains(logged, "invalid_grant") || !strings.Contains(logged, "invalid_client") {
		t.Fatalf("the library's errors did not reach the injected logger:\n%s", logged)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(logged, s) {
			t.Fatalf("a credential (%.6s...) reached the log:\n%s", s, logged)
		}
	}
}
