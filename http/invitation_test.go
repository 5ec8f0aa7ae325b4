package http_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// invitationEnv is a mail-delivering server with public registration closed, activation on,
// a group ops, and an existing user bob.
func invitationEnv(t *testing.T, backend string) (*mailEnv, int64) {
	t.Helper()
	m := newMailEnv(t, testserver.Options{Backend: backend})
	if r := m.admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_allow_user_registration": false}); r.Status != 200 && r.Status != 204 {
		t.Fatalf("closing registration: %d %s", r.Status, r.Body)
	}
	r := m.admin.Do("POST", "/api/admin/groups", map[string]any{"name": "ops"})
	if r.Status != 201 {
		t.Fatalf("group: %d %s", r.Status, r.Body)
	}
	m.CreateUser(m.admin, "bob", "bob@example.com", "bob password 1", "user")
	return m, r.ID()
}

// invite makes an invitation and returns the token of its link.
func invite(t *testing.T, m *mailEnv, body map[string]any) (string, int64) {
	t.Helper()
	r := m.admin.Do("POST", "/api/admin/invitations", body)
	if r.Status != 201 || r.Str("state") != "active" {
		t.Fatalf("create invitation: %d %s", r.Status, r.Body)
	}
	u, err := url.Parse(r.Str("url"))
	pub := strings.TrimSuffix(m.Public.String(), "/")
	if err != nil || !strings.HasPrefix(r.Str("url"), pub+"/invite?token=") || len(u.Query().Get("token")) < 20 {
		t.Fatalf("invitation url %q is not the invite page under %s", r.Str("url"), pub)
	}
	return u.Query().Get("token"), r.ID()
}

func accept(m *mailEnv, tok, username, email string) *testserver.Response {
	return m.Client().Do("POST", "/api/auth/invitation/accept", map[string]any{"token": tok, "username": username, "email": email, "password": "a good long password"})
}

func TestInvitations(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		m, _ := invitationEnv(t, backend)
		if r := m.Client().Do("POST", "/api/auth/register", map[string]any{"username": "x", "email": "x@example.com", "password": "a good long password"}); r.Status != 403 {
			t.Fatalf("public registration should be closed: %d", r.Status)
		}

		// A fixed email: the address counts as verified, no activation, signed in at once, in
		// the invitation's groups, whatever email the form sends.
		tok, fixedID := invite(t, m, map[string]any{"email": "Ann@Example.com", "groups": []string{"OPS"}, "expires_in": 3600})
		if r := m.Client().Do("POST", "/api/auth/invitation", map[string]any{"token": tok}); r.Status != 200 || r.Str("email") != "ann@example.com" || fmt.Sprint(r.JSON["groups"]) != "[ops]" {
			t.Fatalf("invitation info: %d %s", r.Status, r.Body)
		}
		r := accept(m, tok, "ann", "mallory@example.com")
		if r.Status != 201 || r.Str("access_token") == "" {
			t.Fatalf("accept a fixed-email invitation: %d %s", r.Status, r.Body)
		}
		user := r.User()
		if user.Email != "ann@example.com" || !user.EmailVerified || user.Pending || fmt.Sprint(user.Groups) != "[ops]" {
			t.Fatalf("invitee: %s", r.Body)
		}
		// Single use: the same link again answers like any link that does not work.
		bad := accept(m, tok, "ann2", "")
		if bad.Status != 400 || bad.Field() != "token" {
			t.Fatalf("second use: %d %s", bad.Status, bad.Body)
		}

		// A free email with activation on: pending, an activation mail, the invitation's groups.
		tok2, freeID := invite(t, m, map[string]any{"max_uses": 3})
		if r := accept(m, tok2, "cid", "cid@example.com"); r.Status != 202 || r.Str("status") != "activation_required" {
			t.Fatalf("accept a free invitation: %d %s", r.Status, r.Body)
		}
		m.deliver()
		act := m.linkToken(m.only("cid@example.com", 1)[0], "/activate")
		if r := m.Client().Do("POST", "/api/auth/activate", map[string]any{"token": act}); r.Status != 200 {
			t.Fatalf("activate the invitee: %d %s", r.Status, r.Body)
		}
		// A taken username is refused and spends nothing; a taken address is answered exactly
		// like a new account, spends the use and tells the address's owner by mail.
		if r := accept(m, tok2, "bob", "new@example.com"); r.Status != 409 || r.Field() != "username" {
			t.Fatalf("taken username: %d %s", r.Status, r.Body)
		}
		fresh := accept(m, tok2, "dee", "dee@example.com")
		taken := accept(m, tok2, "eve", "bob@example.com")
		if fresh.Status != 202 || taken.Status != 202 || string(fresh.Body) != string(taken.Body) {
			t.Fatalf("a taken address must answer like a new account: %d %s / %d %s", fresh.Status, fresh.Body, taken.Status, taken.Body)
		}
		m.deliver()
		m.only("bob@example.com", 1)
		if r := m.Client().Do("POST", "/api/auth/login", map[string]any{"login": "eve", "password": "a good long password"}); r.Status == 200 {
			t.Fatal("a taken address made an account")
		}
		// Three uses spent: used up.
		if r := accept(m, tok2, "fay", "fay@example.com"); r.Status != 400 || r.Field() != "token" {
			t.Fatalf("fourth use of a three-use invitation: %d %s", r.Status, r.Body)
		}

		// Revoked and expired links answer exactly like unknown ones.
		tok3, id3 := invite(t, m, map[string]any{})
		if r := m.admin.Do("DELETE", fmt.Sprintf("/api/admin/invitations/%d", id3), nil); r.Status != 204 {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		tok4, _ := invite(t, m, map[string]any{"expires_in": 60})
		m.Clock.Advance(61 * time.Second)
		unknown := accept(m, "x"+tok4[1:], "gil", "gil@example.com")
		for name, r := range map[string]*testserver.Response{"revoked": accept(m, tok3, "gil", "gil@example.com"), "expired": accept(m, tok4, "gil", "gil@example.com"), "used": bad} {
			if r.Status != unknown.Status || string(r.Body) != string(unknown.Body) {
				t.Fatalf("%s link: %d %s, unknown link: %d %s", name, r.Status, r.Body, unknown.Status, unknown.Body)
			}
		}

		// The list: newest first, states, no links.
		l := m.admin.Do("GET", "/api/admin/invitations", nil)
		items := testserver.Items[testserver.Invitation](l)
		if l.Status != 200 || len(items) != 4 || strings.Contains(string(l.Body), "token=") {
			t.Fatalf("list: %d %s", l.Status, l.Body)
		}
		states := map[int64]string{}
		for _, x := range items {
			states[x.ID] = x.State
		}
		if states[fixedID] != "used" || states[freeID] != "used" || states[id3] != "revoked" {
			t.Fatalf("states: %v", states)
		}
		// Events: created, used (with the invitee), revoked.
		ev := m.admin.Do("GET", "/api/admin/events?kind=invitation.used", nil)
		if n := len(ev.Events().Items); n != 4 {
			t.Fatalf("invitation.used events: %d, want 4 (%s)", n, ev.Body)
		}
		for _, kind := range []string{"invitation.created", "invitation.revoked"} {
			if ev := m.admin.Do("GET", "/api/admin/events?kind="+kind, nil); len(ev.Events().Items) == 0 {
				t.Fatalf("no %s event", kind)
			}
		}
	})
}

func TestInvitationAdminAPIRefusals(t *testing.T) {
	t.Parallel()
	m, _ := invitationEnv(t, testserver.Backends()[0])
	bob, _ := m.Login("bob", "bob password 1")
	for _, req := range [][2]string{{"GET", "/api/admin/invitations"}, {"POST", "/api/admin/invitations"}, {"DELETE", "/api/admin/invitations/1"}} {
		if r := bob.Do(req[0], req[1], map[string]any{}); r.Status != 403 {
			t.Fatalf("%s %s as a user: %d", req[0], req[1], r.Status)
		}
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"groups": []string{"ops", "nope"}}, "groups[1]"},
		{map[string]any{"email": "not an address"}, "email"},
		{map[string]any{"email": "bob@example.com"}, "email"},
		{map[string]any{"max_uses": 1001}, "max_uses"},
		{map[string]any{"max_uses": -1}, "max_uses"},
		{map[string]any{"email": "a@example.com", "max_uses": 2}, "max_uses"},
		{map[string]any{"expires_in": 10}, "expires_in"},
		{map[string]any{"expires_in": 91 * 86400}, "expires_in"},
		{map[string]any{"token": "x"}, "token"},
	} {
		r := m.admin.Do("POST", "/api/admin/invitations", c.body)
		if r.Status/100 != 4 || r.Field() != c.field {
			t.Fatalf("%v: %d %s, want field %s", c.body, r.Status, r.Body, c.field)
		}
	}
	if r := m.admin.Do("GET", "/api/admin/invitations", nil); len(testserver.Items[testserver.Invitation](r)) != 0 {
		t.Fatalf("refused invitations were saved: %s", r.Body)
	}
	if r := m.admin.Do("DELETE", "/api/admin/invitations/999", nil); r.Status != 404 {
		t.Fatalf("revoke unknown: %d", r.Status)
	}
	// Guessing links is rate-limited per address like the other expensive endpoints.
	if r := m.admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_expensive_rate_limit_per_min": 3}); r.Status != 200 && r.Status != 204 {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	var last *testserver.Response
	for i := range 5 {
		last = accept(m, fmt.Sprintf("guess%030d", i), "zed", "zed@example.com")
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("the sixth guess: %d %s", last.Status, last.Body)
	}
}
