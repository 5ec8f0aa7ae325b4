package http_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		e.Setup("alice", "alice@example.com", adminPW)
		laptop, _ := e.Login("alice", adminPW)
		phone, _ := e.Login("alice", adminPW)
		r := laptop.Do("GET", "/api/account/sessions", nil)
		items := r.Sessions().Items
		if len(items) != 3 { // setup, laptop, phone
			t.Fatalf("sessions: %s", r.Body)
		}
		current := 0
		for _, it := range items {
			if it.Current {
				current++
			}
		}
		if current != 1 {
			t.Fatalf("current marked %d times", current)
		}
		if r := laptop.Do("POST", "/api/account/password", map[string]string{"current_password": "wrong", "new_password": "a new password"}); r.Status != 401 || r.Field() != "current_password" {
			t.Fatalf("wrong current: %d %s", r.Status, r.Body)
		}
		if r := laptop.Do("POST", "/api/account/password", map[string]string{"current_password": adminPW, "new_password": "short"}); r.Status != 400 || r.Field() != "new_password" {
			t.Fatalf("short new: %d %s", r.Status, r.Body)
		}
		if r := laptop.Do("POST", "/api/account/password", map[string]string{"current_password": adminPW, "new_password": "a new password"}); r.Status != 204 {
			t.Fatalf("change: %d %s", r.Status, r.Body)
		}
		if r := laptop.Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("own session after change: %d", r.Status)
		}
		if r := phone.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("other session after change: %d", r.Status)
		}
		if r := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "alice", "password": adminPW}); r.Status != 401 {
			t.Fatalf("old password: %d", r.Status)
		}
		e.Login("alice", "a new password")
	})
}

func TestRevokeOwnSessions(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	bob := e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	_ = bob
	a1, _ := e.Login("alice", adminPW)
	b1, _ := e.Login("bob", "bob password 1")
	bobSessions := b1.Do("GET", "/api/account/sessions", nil).Sessions().Items
	if len(bobSessions) == 0 {
		t.Fatal("bob has no sessions")
	}
	bobSID := bobSessions[0].ID
	// Another user's session id is simply not found.
	if r := a1.Do("DELETE", "/api/account/sessions/"+bobSID, nil); r.Status != 404 {
		t.Fatalf("revoking someone else's session: %d", r.Status)
	}
	if r := b1.Do("GET", "/api/auth/me", nil); r.Status != 200 {
		t.Fatal("bob's session was ended by alice")
	}
	a2, _ := e.Login("alice", adminPW)
	if r := a1.Do("POST", "/api/account/sessions/sign-out-others", nil); r.Status != 200 || testserver.Decode[struct {
		Ended int `json:"ended"`
	}](r).Ended != 2 {
		t.Fatalf("sign out others: %d %s", r.Status, r.Body)
	}
	for _, c := range []*testserver.Client{admin, a2} {
		if r := c.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("other session survived: %d", r.Status)
		}
	}
	if r := a1.Do("GET", "/api/auth/me", nil); r.Status != 200 {
		t.Fatal("current session ended")
	}
}

func TestIdleTimeoutAndMaxLifetime(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_session_idle_timeout_secs": 3600, "auth_session_max_lifetime_secs": 4 * 3600})

		idle, _ := e.Login("alice", adminPW)
		busy, _ := e.Login("alice", adminPW)
		for range 7 { // 3.5 hours of activity every 30 minutes
			e.Clock.Advance(30 * time.Minute)
			if r := busy.Do("GET", "/api/auth/me", nil); r.Status != 200 {
				t.Fatalf("active session ended: %d", r.Status)
			}
			if err := e.Auth.Background.FlushLastSeen(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if r := idle.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("idle session still valid: %d", r.Status)
		}
		e.Clock.Advance(31 * time.Minute) // past 4 h since sign-in
		if r := busy.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("session past max lifetime: %d", r.Status)
		}
		reasons := ""
		for _, ev := range eventsOf(t, e, "logout") {
			reasons += fmt.Sprint(ev.Data["reason"]) + ","
		}
		if !strings.Contains(reasons, "idle_timeout") || !strings.Contains(reasons, "max_lifetime") {
			t.Fatalf("logout reasons: %s", reasons)
		}
	})
}

func TestCrossOriginCookieRequestsRefused(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	admin, r := e.Setup("alice", "alice@example.com", adminPW)
	// A cross-site form or fetch carrying the cookie is refused...
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		r := admin.Do("POST", "/api/account/sessions/sign-out-others", nil, h...)
		if r.Status != 403 || r.Code() != "csrf_failed" {
			t.Fatalf("cross-origin %v: %d %s", h, r.Status, r.Body)
		}
	}
	// ...and so is a cross-site login (login CSRF).
	if r := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "alice", "password": adminPW}, "Sec-Fetch-Site", "cross-site"); r.Status != 403 {
		t.Fatalf("cross-site login: %d", r.Status)
	}
	// Same-origin and Bearer requests pass.
	if r := admin.Do("POST", "/api/account/sessions/sign-out-others", nil, "Sec-Fetch-Site", "same-origin"); r.Status != 200 {
		t.Fatalf("same-origin: %d %s", r.Status, r.Body)
	}
	if r := e.Bearer(r.Str("access_token")).Do("POST", "/api/account/sessions/sign-out-others", nil, "Origin", "https://app.example"); r.Status != 200 {
		t.Fatalf("bearer cross-origin: %d %s", r.Status, r.Body)
	}
}
