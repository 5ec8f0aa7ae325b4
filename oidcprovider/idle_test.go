package oidcprovider_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
)

// A gatehouse session that reaches its idle timeout takes the app's tokens with it at that
// moment: nothing else (no browser coming back, no janitor) has to look at the session first.
// Using gatehouse keeps the session, and so the app's tokens, alive.
func TestIdleSessionEndsTheAppsTokensAtOnce(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		x := newRP(t, backend, options{skipConsent: true})
		if r := x.admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_session_idle_timeout_secs": 300}); r.Status != http.StatusOK {
			t.Fatalf("setting the idle timeout: %d %s", r.Status, r.Body)
		}
		v := oauth2.GenerateVerifier()
		tok, err := x.exchange(x.authorize(x.admin, "s", "n", v), v)
		if err != nil {
			t.Fatal(err)
		}
		introspect := func(token string) any {
			c := x.e.Client()
			r := c.Form("/oauth2/introspect", url.Values{"token": {token}}, "Authorization", basic("app", x.cfg.ClientSecret))
			if r.Status != http.StatusOK {
				t.Fatalf("introspect: %d %s", r.Status, r.Body)
			}
			return r.JSON["active"]
		}

		// Four minutes on, the user uses gatehouse; four more, the session is 4 minutes idle.
		x.e.Clock.Advance(4 * time.Minute)
		if me := x.admin.Do("GET", "/api/auth/me", nil); me.Status != http.StatusOK {
			t.Fatalf("me: %d", me.Status)
		}
		x.e.Clock.Advance(4 * time.Minute)
		if _, err := x.userinfo(tok.AccessToken); err != nil {
			t.Fatalf("userinfo while the session is in use: %v", err)
		}
		if got := introspect(tok.AccessToken); got != true {
			t.Fatalf("introspection while the session is in use: %v", got)
		}

		// Past the idle timeout, with no request to gatehouse in between: every use is refused.
		x.e.Clock.Advance(2 * time.Minute)
		if got := introspect(tok.AccessToken); got != false {
			t.Fatalf("introspection after the idle timeout: active=%v", got)
		}
		if _, err := x.userinfo(tok.AccessToken); err == nil {
			t.Fatal("userinfo answered after the idle timeout")
		}
		if _, err := x.refresh(tok.RefreshToken); err == nil {
			t.Fatal("a refresh token worked after the idle timeout")
		}
		// And the session itself was ended then, with the reason, not left for later.
		es, _, err := x.e.Store.ListEvents(context.Background(), gatehouse.EventFilter{Kind: gatehouse.EventLogout, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].Data["reason"] != gatehouse.ReasonIdleTimeout || x.e.Clock.Now().Sub(es[0].Time) > time.Millisecond {
			t.Fatalf("the session was not ended for idle_timeout at the check: %+v", es)
		}
	})
}

// The absolute end of a session ends the app's tokens the same way.
func TestSessionMaxLifetimeEndsTheAppsTokens(t *testing.T) {
	x := newRP(t, "sqlite", options{skipConsent: true})
	if r := x.admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_session_max_lifetime_secs": 3600, "auth_session_idle_timeout_secs": 7200}); r.Status != http.StatusOK {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	// The lifetime applies to sessions started after the change.
	admin, _ := x.e.Login("admin", "correct horse battery")
	v := oauth2.GenerateVerifier()
	tok, err := x.exchange(x.authorize(admin, "s", "n", v), v)
	if err != nil {
		t.Fatal(err)
	}
	x.e.Clock.Advance(59 * time.Minute)
	next, err := x.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh inside the lifetime: %v", err)
	}
	x.e.Clock.Advance(2 * time.Minute)
	if _, err := x.refresh(next.RefreshToken); err == nil {
		t.Fatal("refresh past the session's absolute end")
	}
}
