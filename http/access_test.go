package http_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// accessEnv is a server with users alice (admin), bob (in group ops) and carol (no groups), and
// rules for a public site, an ops-only admin area and a two-factor vault.
func accessEnv(t *testing.T, backend string) (e *testserver.Env, admin, bob, carol *testserver.Client, opsID, bobID int64) {
	t.Helper()
	e = testserver.New(t, testserver.Options{Backend: backend, PublicURL: "https://auth.example.com"})
	admin, _ = e.Setup("alice", "alice@example.com", adminPW)
	bobID = e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	e.CreateUser(admin, "carol", "carol@example.com", "carol password 1", "user")
	r := admin.Do("POST", "/api/admin/groups", map[string]any{"name": "Ops", "description": "on call"})
	if r.Status != 201 || r.JSON["name"] != "ops" {
		t.Fatalf("create group: %d %s", r.Status, r.Body)
	}
	opsID = r.ID()
	if r := admin.Do("PUT", fmt.Sprintf("/api/admin/groups/%d/members/%d", opsID, bobID), nil); r.Status != 200 || fmt.Sprint(r.JSON["groups"]) != "[ops]" {
		t.Fatalf("add member: %d %s", r.Status, r.Body)
	}
	rules := []map[string]any{
		{"domains": []string{"www.example.com"}, "policy": "bypass"},
		{"domains": []string{"app.example.com"}, "paths": []string{"^/admin(/.*)?$"}, "subjects": []string{"group:ops"}, "policy": "one_factor"},
		{"domains": []string{"app.example.com"}, "paths": []string{"^/admin(/.*)?$"}, "policy": "deny"},
		{"domains": []string{"vault.example.com"}, "policy": "two_factor"},
		{"domains": []string{"*.example.com"}, "methods": []string{"DELETE"}, "networks": []string{"203.0.113.0/24"}, "policy": "deny"},
	}
	if r := admin.Do("PUT", "/api/admin/access-rules", map[string]any{"rules": rules}); r.Status != 200 {
		t.Fatalf("put rules: %d %s", r.Status, r.Body)
	}
	bob, _ = e.Login("bob", "bob password 1")
	carol, _ = e.Login("carol", "carol password 1")
	return
}

func fwd(url string, extra ...string) []string {
	host, uri, _ := strings.Cut(strings.TrimPrefix(url, "https://"), "/")
	return append([]string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", host, "X-Forwarded-Uri", "/" + uri}, extra...)
}

func TestVerifyWithRules(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e, admin, bob, carol, _, _ := accessEnv(t, backend)
		anon := e.Client()
		check := func(who string, c *testserver.Client, url string, status int, hdr ...string) *testserver.Response {
			t.Helper()
			r := c.Do("GET", "/api/auth/verify", nil, fwd(url, hdr...)...)
			if r.Status != status {
				t.Fatalf("%s at %s: %d %s %v, want %d", who, url, r.Status, r.Body, r.Header, status)
			}
			return r
		}
		// bypass: anyone, and no user headers even for a signed-in user.
		check("anonymous", anon, "https://www.example.com/", 200)
		if r := check("bob", bob, "https://www.example.com/x", 200); r.Header.Get("Remote-User") != "" {
			t.Fatalf("bypass answered with user headers: %v", r.Header)
		}
		// A group member passes with Remote-Groups; others are denied.
		r := check("bob", bob, "https://app.example.com/admin/users?x=1", 200)
		if r.Header.Get("Remote-User") != "bob" || r.Header.Get("Remote-Groups") != "ops" {
			t.Fatalf("bob's headers: %v", r.Header)
		}
		r = check("carol", carol, "https://app.example.com/admin", 403)
		if r.Code() != "forbidden" {
			t.Fatalf("carol's 403: %s", r.Body)
		}
		// Dot segments and encodings do not get around a path rule.
		check("carol", carol, "https://app.example.com/public/../admin", 403)
		check("carol", carol, "https://app.example.com/public/%2e%2e/admin/x", 403)
		check("carol", carol, "https://app.example.com//admin", 403)
		// Outside the admin area the default (one_factor) applies.
		if r := check("carol", carol, "https://app.example.com/home", 200); r.Header.Get("Remote-Groups") != "" {
			t.Fatalf("carol's groups: %q", r.Header.Get("Remote-Groups"))
		}
		// Not signed in at a subject rule: sign in first (a browser goes to the login page).
		check("anonymous", anon, "https://app.example.com/admin", 401)
		r = check("anonymous browser", anon, "https://app.example.com/admin/x?a=1&b=2", 302, "Accept", "text/html")
		if loc := r.Header.Get("Location"); loc != "https://auth.example.com/login?rd=https%3A%2F%2Fapp.example.com%2Fadmin%2Fx%3Fa%3D1%26b%3D2" {
			t.Fatalf("login redirect: %q", loc)
		}
		// A browser denied gets a page naming the account, with a way to switch.
		r = check("carol's browser", carol, "https://app.example.com/admin", 403, "Accept", "text/html")
		if !strings.Contains(string(r.Body), "<strong>carol</strong>") || !strings.Contains(string(r.Body), "https://auth.example.com/logout?rd=https%3A%2F%2Fapp.example.com%2Fadmin") {
			t.Fatalf("403 page: %s", r.Body)
		}
		// two_factor: a password session is not enough; the browser is sent to the second factor.
		check("bob", bob, "https://vault.example.com/", 401)
		r = check("bob's browser", bob, "https://vault.example.com/s", 302, "Accept", "text/html")
		if loc := r.Header.Get("Location"); !strings.Contains(loc, "step_up=1") || !strings.Contains(loc, "rd=https%3A%2F%2Fvault.example.com%2Fs") {
			t.Fatalf("step-up redirect: %q", loc)
		}
		// Method and network: DELETE from 203.0.113.0/24 (X-Forwarded-For through the trusted
		// loopback proxy) is denied; from elsewhere, or GET, it is not.
		r = admin.Do("GET", "/api/auth/verify", nil, fwd("https://x.example.com/", "X-Forwarded-Method", "DELETE", "X-Forwarded-For", "203.0.113.7")...)
		if r.Status != 403 {
			t.Fatalf("DELETE from the blocked network: %d", r.Status)
		}
		r = admin.Do("GET", "/api/auth/verify", nil, fwd("https://x.example.com/", "X-Forwarded-Method", "DELETE", "X-Forwarded-For", "198.51.100.7")...)
		if r.Status != 200 {
			t.Fatalf("DELETE from elsewhere: %d", r.Status)
		}
		// X-Original-URL works as well as X-Forwarded-*.
		if r := carol.Do("GET", "/api/auth/verify", nil, "X-Original-URL", "https://app.example.com/admin"); r.Status != 403 {
			t.Fatalf("X-Original-URL: %d", r.Status)
		}
		// With rules in force, a proxy that says nothing about the original request is told so.
		if r := carol.Do("GET", "/api/auth/verify", nil); r.Status != 400 || !strings.Contains(r.Str("error"), "") || !strings.Contains(string(r.Body), "X-Original-URL") {
			t.Fatalf("no original request: %d %s", r.Status, r.Body)
		}
		// Denials are recorded once per address and rule, not once per request.
		for range 5 {
			check("carol", carol, "https://app.example.com/admin", 403)
		}
		ev := admin.Do("GET", "/api/admin/events?kind=access.denied", nil)
		var carolDenials int
		for _, it := range ev.Events().Items {
			d := it.Data
			if d["user"] == "carol" && d["rule"] == float64(3) {
				carolDenials++
			}
		}
		if carolDenials != 1 {
			t.Fatalf("access.denied events for carol at rule 3: %d, want 1 (%s)", carolDenials, ev.Body)
		}
	})
}

// The user in every token answer (sign-in, refresh) carries its groups, like /api/auth/me.
func TestLoginResponseUserHasGroups(t *testing.T) {
	t.Parallel()
	e, _, _, _, _, _ := accessEnv(t, testserver.Backends()[0])
	_, r := e.Login("bob", "bob password 1")
	if r.Status != 200 || fmt.Sprint(r.User().Groups) != "[ops]" {
		t.Fatalf("login answer: %d %s", r.Status, r.Body)
	}
	ref := e.Client().Do("POST", "/api/auth/refresh", map[string]any{"refresh_token": r.Str("refresh_token")})
	if ref.Status != 200 || fmt.Sprint(ref.User().Groups) != "[ops]" {
		t.Fatalf("refresh answer: %d %s", ref.Status, ref.Body)
	}
	_, r = e.Login("carol", "carol password 1")
	// An empty list, not null or missing: clients iterate it without a check.
	if g := r.User().Groups; g == nil || len(g) != 0 {
		t.Fatalf("carol's login answer must carry an empty list: %s", r.Body)
	}
}

func TestGroupMembershipAppliesAtOnce(t *testing.T) {
	t.Parallel()
	e, admin, bob, _, opsID, bobID := accessEnv(t, testserver.Backends()[0])
	_ = e
	url := fwd("https://app.example.com/admin")
	if r := bob.Do("GET", "/api/auth/verify", nil, url...); r.Status != 200 {
		t.Fatalf("bob before removal: %d", r.Status)
	}
	if r := admin.Do("DELETE", fmt.Sprintf("/api/admin/groups/%d/members/%d", opsID, bobID), nil); r.Status != 200 || fmt.Sprint(r.JSON["groups"]) != "[]" {
		t.Fatalf("remove member: %d %s", r.Status, r.Body)
	}
	if r := bob.Do("GET", "/api/auth/verify", nil, url...); r.Status != 403 {
		t.Fatalf("bob after removal, same session: %d", r.Status)
	}
	if r := bob.Do("GET", "/api/auth/me", nil); fmt.Sprint(r.User().Groups) != "[]" {
		t.Fatalf("me: %s", r.Body)
	}
}

func TestAccessAdminAPI(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e, admin, bob, _, opsID, bobID := accessEnv(t, backend)
		_ = e
		// Non-admins see nothing.
		for _, req := range [][2]string{{"GET", "/api/admin/groups"}, {"GET", "/api/admin/access-rules"}, {"PUT", fmt.Sprintf("/api/admin/groups/%d/members/%d", opsID, bobID)}} {
			if r := bob.Do(req[0], req[1], nil); r.Status != 403 {
				t.Fatalf("bob %s %s: %d", req[0], req[1], r.Status)
			}
		}
		// A bad list names what is wrong and saves nothing.
		bad := []struct {
			rule  map[string]any
			field string
		}{
			{map[string]any{"paths": []string{"^/admin(["}, "policy": "deny"}, "rules[1].paths[0]"},
			{map[string]any{"networks": []string{"10.0.0.0/99"}, "policy": "deny"}, "rules[1].networks[0]"},
			{map[string]any{"subjects": []string{"group:ghosts"}, "policy": "deny"}, "rules[1].subjects[0]"},
			{map[string]any{"policy": "allow"}, "rules[1].policy"},
		}
		for _, b := range bad {
			r := admin.Do("PUT", "/api/admin/access-rules", map[string]any{"rules": []any{map[string]any{"policy": "bypass"}, b.rule}})
			if r.Status != 400 || r.Code() != "invalid_input" || r.Field() != b.field {
				t.Fatalf("bad rule %v: %d %s, want 400 on %s", b.rule, r.Status, r.Body, b.field)
			}
		}
		r := admin.Do("GET", "/api/admin/access-rules", nil)
		if a := testserver.Decode[struct {
			Rules         []any  `json:"rules"`
			DefaultPolicy string `json:"default_policy"`
		}](r); len(a.Rules) != 5 || a.DefaultPolicy != "one_factor" {
			t.Fatalf("rules after refused changes: %s", r.Body)
		}
		// A group a rule names can be neither renamed nor deleted.
		if r := admin.Do("DELETE", fmt.Sprintf("/api/admin/groups/%d", opsID), nil); r.Status != 409 || !strings.Contains(string(r.Body), "rule 2") {
			t.Fatalf("delete group in use: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("PATCH", fmt.Sprintf("/api/admin/groups/%d", opsID), map[string]any{"name": "sre"}); r.Status != 409 {
			t.Fatalf("rename group in use: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("POST", "/api/admin/groups", map[string]any{"name": "a,b"}); r.Status != 400 || r.Field() != "name" {
			t.Fatalf("bad group name: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("POST", "/api/admin/groups", map[string]any{"name": "OPS"}); r.Status != 409 {
			t.Fatalf("duplicate group: %d %s", r.Status, r.Body)
		}
		g := admin.Do("GET", fmt.Sprintf("/api/admin/groups/%d", opsID), nil)
		if g.JSON["members"] != float64(1) || fmt.Sprint(g.JSON["member_ids"]) != fmt.Sprintf("[%d]", bobID) {
			t.Fatalf("group: %s", g.Body)
		}
		if l := admin.Do("GET", "/api/admin/users?group=ops", nil); len(l.Users().Items) != 1 || l.Users().Items[0].Username != "bob" {
			t.Fatalf("users of group ops: %s", l.Body)
		}
		if l := admin.Do("GET", "/api/admin/users?group=nope", nil); l.Status != 400 || l.Field() != "group" {
			t.Fatalf("users of an unknown group: %d %s", l.Status, l.Body)
		}
		if u := admin.Do("GET", fmt.Sprintf("/api/admin/users/%d", bobID), nil); fmt.Sprint(u.JSON["groups"]) != "[ops]" {
			t.Fatalf("user JSON lacks groups: %s", u.Body)
		}
		// The test box.
		tr := admin.Do("POST", "/api/admin/access-rules/test", map[string]any{"url": "https://app.example.com/admin/x", "method": "GET", "user": "carol"})
		if tr.Status != 200 || tr.JSON["rule"] != float64(3) || tr.JSON["policy"] != "deny" {
			t.Fatalf("test box: %d %s", tr.Status, tr.Body)
		}
		tr = admin.Do("POST", "/api/admin/access-rules/test", map[string]any{"url": "https://other.org/", "user": "bob"})
		if tr.JSON["rule"] != "default" || tr.JSON["policy"] != "one_factor" {
			t.Fatalf("test box, default: %s", tr.Body)
		}
		if tr := admin.Do("POST", "/api/admin/access-rules/test", map[string]any{"url": "app.example.com"}); tr.Status != 400 || tr.Field() != "url" {
			t.Fatalf("test box, bad url: %d %s", tr.Status, tr.Body)
		}
		// Clearing the rules gives the behaviour of a server without them.
		if r := admin.Do("PUT", "/api/admin/access-rules", map[string]any{"rules": []any{}}); r.Status != 200 {
			t.Fatalf("clear: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("DELETE", fmt.Sprintf("/api/admin/groups/%d", opsID), nil); r.Status != 204 {
			t.Fatalf("delete group: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"access_default_policy": "deny"}); r.Status != 200 {
			t.Fatalf("default deny: %d %s", r.Status, r.Body)
		}
		e.Auth.Background.PollChanges(t.Context())
		if r := bob.Do("GET", "/api/auth/verify", nil); r.Status != 403 {
			t.Fatalf("default deny: %d", r.Status)
		}
	})
}

// A Bearer token counts as two factors when it was minted from a session that had a second
// factor: a sign-in with TOTP, a step-up through the token itself (answered with a new token),
// or a refresh after a step-up. A token minted before the step-up keeps counting as one.
func TestBearerTokenFactors(t *testing.T) {
	t.Parallel()
	e, _, bob, _, _, _ := accessEnv(t, testserver.Backends()[0])
	vault := fwd("https://vault.example.com/")
	verify := func(name, access string, want int) {
		t.Helper()
		r := e.Bearer(access).Do("GET", "/api/auth/verify", nil, append(vault, "Accept", "text/html")...)
		if r.Status != want || (want == 401 && r.Code() != "second_factor_required") || (want == 200 && r.Header.Get("Remote-User") != "bob") {
			t.Fatalf("%s: %d %s, want %d", name, r.Status, r.Body, want)
		}
	}
	// A password session, made before bob set up TOTP: its token counts as one factor and is
	// answered 401 (never a login page, even when it asks for HTML).
	_, first := e.Login("bob", "bob password 1")
	secret, _ := enroll(t, e, bob)
	verify("password token", first.Str("access_token"), 401)

	// Step-up through the Bearer token: the answer carries a new access token that counts as
	// two; the old one still counts as one (its claim is signed).
	up := e.Bearer(first.Str("access_token")).Do("POST", "/api/account/step-up", map[string]string{"code": code(t, e, secret, 0)})
	if up.Status != 200 || up.Str("access_token") == "" || up.Str("refresh_token") != "" {
		t.Fatalf("step-up with a Bearer token: %d %s", up.Status, up.Body)
	}
	verify("token from the step-up", up.Str("access_token"), 200)
	verify("token from before the step-up", first.Str("access_token"), 401)
	// The session's refresh token now mints two-factor tokens too.
	ref := e.Client().Do("POST", "/api/auth/refresh", map[string]any{"refresh_token": first.Str("refresh_token")})
	if ref.Status != 200 {
		t.Fatalf("refresh: %d %s", ref.Status, ref.Body)
	}
	verify("refreshed after the step-up", ref.Str("access_token"), 200)
	e.Clock.Advance(30 * time.Second)

	// A sign-in with password and TOTP: its token counts as two from the start.
	c := e.Client()
	tok := passwordStep(t, e, c, "bob", "bob password 1")
	r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": code(t, e, secret, 0)})
	if r.Status != 200 {
		t.Fatalf("mfa step: %d %s", r.Status, r.Body)
	}
	verify("password+TOTP token", r.Str("access_token"), 200)
	// A cookie step-up still answers 204, as before.
	e.Clock.Advance(30 * time.Second)
	if r := bob.Do("POST", "/api/account/step-up", map[string]string{"code": code(t, e, secret, 0)}); r.Status != 204 {
		t.Fatalf("cookie step-up: %d %s", r.Status, r.Body)
	}
}
