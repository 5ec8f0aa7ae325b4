package http_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// A refresh token past auth_refresh_token_ttl_secs is refused at use, whether or not the
// cleanup job has run.
func TestRefreshTokenExpiryCheckedAtUse(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		if r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_refresh_token_ttl_secs": 120}); r.Status != 200 {
			t.Fatalf("settings: %d %s", r.Status, r.Body)
		}
		_, r := e.Login("alice", adminPW)
		e.Clock.Advance(121 * time.Second)
		if r := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": r.Str("refresh_token")}); r.Status != 401 || r.Code() != "unauthorized" {
			t.Fatalf("expired refresh token: %d %s", r.Status, r.Body)
		}
	})
}

// The reuse grace covers two tabs refreshing at once, not a thief: once the successor has been
// used, the spent token is reuse even within the grace (session ended, event).
func TestRefreshGraceOnlyWhileSuccessorUnused(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		e.Setup("alice", "alice@example.com", adminPW)
		_, r := e.Login("alice", adminPW)
		stolen := r.Str("refresh_token")
		r1 := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": stolen})
		e.Clock.Advance(time.Second)
		r2 := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": r1.Str("refresh_token")})
		if r1.Status != 200 || r2.Status != 200 {
			t.Fatalf("refreshes: %d %d", r1.Status, r2.Status)
		}
		e.Clock.Advance(time.Second)
		r3 := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": stolen})
		if r3.Status != 401 || r3.Code() != "refresh_token_reused" {
			t.Fatalf("spent token after its successor was used: %d %s", r3.Status, r3.Body)
		}
		if r := e.Bearer(r2.Str("access_token")).Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("the session survived the reuse: %d", r.Status)
		}
		if ev := adminEvents(t, e, "token.reuse_detected"); len(ev) != 1 {
			t.Fatalf("reuse events: %v", ev)
		}
	})
}

// After a refresh, the session's earlier access tokens stop working: on this instance at once,
// on another through the change feed, and after a restart.
func TestRefreshReplacesEarlierAccessTokens(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		clock := testserver.NewClock()
		e := testserver.New(t, testserver.Options{Backend: backend, Clock: clock})
		other := testserver.New(t, testserver.Options{Backend: backend, DSN: e.DSN, Clock: clock})
		e.Setup("alice", "alice@example.com", adminPW)
		_, r := e.Login("alice", adminPW)
		old := r.Str("access_token")
		if r := other.Bearer(old).Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("before the refresh: %d", r.Status)
		}
		clock.Advance(time.Second)
		r2 := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": r.Str("refresh_token")})
		if r2.Status != 200 {
			t.Fatalf("refresh: %d %s", r2.Status, r2.Body)
		}
		if r := e.Bearer(old).Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("the replaced token on this instance: %d", r.Status)
		}
		if err := other.Auth.Background.PollChanges(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r := other.Bearer(old).Do("GET", "/api/auth/verify", nil); r.Status != 401 {
			t.Fatalf("the replaced token on the other instance: %d", r.Status)
		}
		restarted := testserver.New(t, testserver.Options{Backend: backend, DSN: e.DSN, Clock: clock})
		if r := restarted.Bearer(old).Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("the replaced token after a restart: %d", r.Status)
		}
		for _, env := range []*testserver.Env{e, other, restarted} {
			if r := env.Bearer(r2.Str("access_token")).Do("GET", "/api/auth/me", nil); r.Status != 200 {
				t.Fatalf("the new token: %d %s", r.Status, r.Body)
			}
		}
	})
}
