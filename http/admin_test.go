package http_test

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/password"
)

func TestAdminUsers(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		var ids []int64
		for i := range 55 {
			ids = append(ids, e.CreateUser(admin, fmt.Sprintf("user%02d", i), fmt.Sprintf("u%02d@example.org", i), "a good password", "user"))
		}
		// Pages of 50.
		r := admin.Do("GET", "/api/admin/users", nil)
		if p := r.Users(); len(p.Items) != 50 || p.NextPage == nil || *p.NextPage != 2 {
			t.Fatalf("page 1: %d items, next %v", len(p.Items), p.NextPage)
		}
		r = admin.Do("GET", "/api/admin/users?page=2", nil)
		if p := r.Users(); len(p.Items) != 6 || p.NextPage != nil {
			t.Fatalf("page 2: %s", r.Body)
		}
		// Search by part of an email, case-insensitively; LIKE wildcards are literal.
		r = admin.Do("GET", "/api/admin/users?query=U1", nil)
		if n := len(r.Users().Items); n != 10 {
			t.Fatalf("search U1: %d items", n)
		}
		if r := admin.Do("GET", "/api/admin/users?query=%25", nil); len(r.Users().Items) != 0 {
			t.Fatalf("%% matched: %s", r.Body)
		}
		// Duplicates are refused naming the field.
		r = admin.Do("POST", "/api/admin/users", map[string]string{"username": "USER01", "email": "new@example.org", "password": "a good password"})
		if r.Status != 409 || r.Field() != "username" {
			t.Fatalf("duplicate username: %d %s", r.Status, r.Body)
		}
		r = admin.Do("POST", "/api/admin/users", map[string]string{"username": "fresh", "email": "U01@example.org", "password": "a good password"})
		if r.Status != 409 || r.Field() != "email" {
			t.Fatalf("duplicate email: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("POST", "/api/admin/users", map[string]string{"username": "x", "email": "x@example.org", "password": "a good password", "role": "root"}); r.Status != 400 || r.Field() != "role" {
			t.Fatalf("bad role: %d %s", r.Status, r.Body)
		}

		// A user is refused the admin API.
		user, _ := e.Login("user00", "a good password")
		for _, p := range []string{"/api/admin/users", "/api/admin/settings", "/api/admin/events"} {
			if r := user.Do("GET", p, nil); r.Status != 403 || r.Code() != "forbidden" {
				t.Fatalf("user on %s: %d", p, r.Status)
			}
		}
		if r := e.Client().Do("GET", "/api/admin/users", nil); r.Status != 401 {
			t.Fatalf("anonymous admin: %d", r.Status)
		}

		// Role change takes effect on the next request.
		admin.Do("PATCH", fmt.Sprintf("/api/admin/users/%d", ids[0]), map[string]string{"role": "admin"})
		if r := user.Do("GET", "/api/admin/users", nil); r.Status != 200 {
			t.Fatalf("promoted user: %d", r.Status)
		}
		if r := user.Do("GET", "/api/auth/me", nil); r.User().Role != "admin" {
			t.Fatalf("role after promotion: %s", r.Body)
		}

		// Admin password reset ends the user's sessions.
		u1, _ := e.Login("user01", "a good password")
		if r := admin.Do("POST", fmt.Sprintf("/api/admin/users/%d/password", ids[1]), map[string]string{"password": "another password"}); r.Status != 204 {
			t.Fatalf("reset: %d %s", r.Status, r.Body)
		}
		if r := u1.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("session after admin reset: %d", r.Status)
		}
		e.Login("user01", "another password")

		// Admin sees and revokes a user's sessions.
		r = admin.Do("GET", fmt.Sprintf("/api/admin/users/%d/sessions", ids[1]), nil)
		items := r.Sessions().Items
		if len(items) != 1 {
			t.Fatalf("sessions: %s", r.Body)
		}
		sid := items[0].ID
		if r := admin.Do("DELETE", "/api/admin/sessions/"+sid, nil); r.Status != 204 {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("GET", fmt.Sprintf("/api/admin/users/%d/sessions", ids[1]), nil); len(r.Sessions().Items) != 0 {
			t.Fatalf("sessions after revoke: %s", r.Body)
		}
		if r := admin.Do("DELETE", "/api/admin/sessions/nope", nil); r.Status != 404 {
			t.Fatalf("revoke unknown: %d", r.Status)
		}

		// Delete: the user's tokens die, the user is gone.
		u2, _ := e.Login("user02", "a good password")
		if r := admin.Do("DELETE", fmt.Sprintf("/api/admin/users/%d", ids[2]), nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := u2.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("deleted user's session: %d", r.Status)
		}
		if r := admin.Do("GET", fmt.Sprintf("/api/admin/users/%d", ids[2]), nil); r.Status != 404 {
			t.Fatalf("deleted user: %d", r.Status)
		}
		if r := admin.Do("PATCH", "/api/admin/users/abc", map[string]any{"disabled": true}); r.Status != 404 {
			t.Fatalf("bad id: %d", r.Status)
		}
		if kinds := eventKinds(t, admin); !strings.Contains(kinds, "admin.user_created") || !strings.Contains(kinds, "admin.user_deleted") || !strings.Contains(kinds, "password.reset") {
			t.Fatalf("events: %s", kinds)
		}
	})
}

func eventKinds(t *testing.T, admin *testserver.Client) string {
	var kinds []string
	for page := 1; page < 20; page++ {
		r := admin.Do("GET", fmt.Sprintf("/api/admin/events?page=%d", page), nil)
		p := r.Events()
		for _, it := range p.Items {
			kinds = append(kinds, it.Kind)
		}
		if p.NextPage == nil {
			break
		}
	}
	return strings.Join(kinds, ",")
}

func TestLastAdmin(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, r := e.Setup("alice", "alice@example.com", adminPW)
		me := r.SignIn().User.ID
		path := fmt.Sprintf("/api/admin/users/%d", me)
		for _, body := range []map[string]any{{"role": "user"}, {"disabled": true}} {
			if r := admin.Do("PATCH", path, body); r.Status != 409 || r.Code() != "last_admin" {
				t.Fatalf("%v on last admin: %d %s", body, r.Status, r.Body)
			}
		}
		if r := admin.Do("DELETE", path, nil); r.Status != 409 || r.Code() != "last_admin" {
			t.Fatalf("delete last admin: %d %s", r.Status, r.Body)
		}
		// Still an administrator, still signed in.
		if r := admin.Do("GET", "/api/admin/users", nil); r.Status != 200 {
			t.Fatalf("after refusals: %d", r.Status)
		}
		// With a second administrator, the first may step down.
		id := e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "admin")
		if r := admin.Do("PATCH", path, map[string]any{"role": "user"}); r.Status != 200 {
			t.Fatalf("demote with another admin: %d %s", r.Status, r.Body)
		}
		bob, _ := e.Login("bob", "bob password 1")
		if r := bob.Do("DELETE", fmt.Sprintf("/api/admin/users/%d", id), nil); r.Code() != "last_admin" {
			t.Fatalf("bob deleting himself as last admin: %d %s", r.Status, r.Body)
		}
	})
}

func TestSettingsPatchIsAtomic(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		r := admin.Do("GET", "/api/admin/settings", nil)
		s := r.Settings().Settings
		if s["auth_access_token_ttl_secs"].(float64) != 900 || s["auth_session_idle_timeout_secs"].(float64) != 43200 ||
			s["auth_session_duration"] != "seconds=0" || s["mail_smtp_tls"] != "starttls" || s["auth_login_rate_limit_burst"].(float64) != 10 {
			t.Fatalf("defaults: %v", s)
		}
		if _, ok := s["mail_smtp_password"]; ok {
			t.Fatal("write-only setting returned")
		}
		bad := []struct {
			body map[string]any
			key  string
		}{
			{map[string]any{"auth_access_token_ttl_secs": 600, "auth_session_duration": "hours=banana"}, "auth_session_duration"},
			{map[string]any{"auth_access_token_ttl_secs": "600"}, "auth_access_token_ttl_secs"},
			{map[string]any{"auth_access_token_ttl_secs": 1.5}, "auth_access_token_ttl_secs"},
			{map[string]any{"auth_access_token_ttl_secs": 600, "nonsense": 1}, "nonsense"},
			{map[string]any{"mail_smtp_tls": "ssl"}, "mail_smtp_tls"},
			{map[string]any{"auth_password_min_length": 200}, "auth_password_min_length"},
			{map[string]any{"auth_cookie_secure": "yes"}, "auth_cookie_secure"},
		}
		for _, b := range bad {
			r := admin.Do("PATCH", "/api/admin/settings", b.body)
			if r.Status != 400 || r.Field() != b.key || !strings.Contains(r.Message(), b.key) {
				t.Fatalf("%v: %d %s", b.body, r.Status, r.Body)
			}
		}
		if r := admin.Do("GET", "/api/admin/settings", nil); r.Settings().Settings["auth_access_token_ttl_secs"] != 900.0 {
			t.Fatal("a refused PATCH saved something")
		}
		r = admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_access_token_ttl_secs": 600, "auth_session_duration": "hours=1,minutes=2.5", "mail_smtp_password": "s3cret"})
		if st := r.Settings(); r.Status != 200 || st.Settings["auth_access_token_ttl_secs"] != 600.0 || !st.Secrets["mail_smtp_password"] {
			t.Fatalf("good patch: %d %s", r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), "s3cret") {
			t.Fatal("secret echoed")
		}
		// The new TTL applies to the next sign-in.
		_, lr := e.Login("alice", adminPW)
		if got := lr.SignIn().ExpiresIn; got != 600 {
			t.Fatalf("expires_in after change: %v", got)
		}
		// A session duration gives a persistent cookie of that length.
		if sc := lr.Header.Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=3750") {
			t.Fatalf("cookie with duration: %q", sc)
		}
		// The whole answer, not only the fields the typed event reads, must not show the secret.
		c, _ := e.Login("alice", adminPW)
		ev := c.Do("GET", "/api/admin/events?kind=settings.changed", nil)
		if len(ev.Events().Items) != 1 || strings.Contains(string(ev.Body), "s3cret") {
			t.Fatalf("settings events: %s", ev.Body)
		}
	})
}

func TestLoginRateLimits(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	e.Setup("alice", "alice@example.com", adminPW)
	c := e.Client()
	try := func(login string, hdr ...string) *testserver.Response {
		return c.Do("POST", "/api/auth/login", map[string]string{"login": login, "password": "wrong password"}, hdr...)
	}
	// Burst 10 per client IP; the 11th is refused with Retry-After about 90 s.
	for i := range 10 {
		if r := try(fmt.Sprintf("nobody%d", i), "X-Forwarded-For", "203.0.113.7"); r.Status != 401 {
			t.Fatalf("attempt %d: %d", i, r.Status)
		}
	}
	r := try("nobody", "X-Forwarded-For", "203.0.113.7")
	if r.Status != 429 || r.Code() != "rate_limited" || r.Header.Get("Retry-After") != "90" {
		t.Fatalf("11th attempt: %d %s retry=%q", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	// Even the right password is refused while limited.
	if r := c.Do("POST", "/api/auth/login", map[string]string{"login": "alice", "password": adminPW}, "X-Forwarded-For", "203.0.113.7"); r.Status != 429 {
		t.Fatalf("right password while limited: %d", r.Status)
	}
	// Another client IP has its own bucket (the loopback peer is a trusted proxy here).
	if r := try("nobody", "X-Forwarded-For", "203.0.113.8"); r.Status != 401 {
		t.Fatalf("other IP: %d", r.Status)
	}
	// A client cannot escape by prepending a forged address: the right-most untrusted one counts.
	if r := try("nobody", "X-Forwarded-For", "198.51.100.1, 203.0.113.7"); r.Status != 429 {
		t.Fatalf("forged XFF prefix escaped the limit: %d", r.Status)
	}
	// One attempt comes back after 90 s.
	e.Clock.Advance(90 * time.Second)
	if r := try("nobody", "X-Forwarded-For", "203.0.113.7"); r.Status != 401 {
		t.Fatalf("after refill: %d", r.Status)
	}
	if r := try("nobody", "X-Forwarded-For", "203.0.113.7"); r.Status != 429 {
		t.Fatalf("second after refill: %d", r.Status)
	}
}

func TestAccountRateLimitHoldsAcrossIPs(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	c := e.Client()
	// The account's budget is ten times the per-address burst, shared by every address and by
	// the username and the email alike.
	for i := range 100 {
		login := "alice"
		if i%2 == 1 {
			login = "alice@example.com"
		}
		r := c.Do("POST", "/api/auth/login", map[string]string{"login": login, "password": "guess"}, "X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", i/200, i%200+1))
		if r.Status != 401 {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
		}
	}
	for _, login := range []string{"alice", "alice@example.com"} {
		r := c.Do("POST", "/api/auth/login", map[string]string{"login": login, "password": "guess"}, "X-Forwarded-For", "198.51.100.250")
		if r.Status != 429 {
			t.Fatalf("guess as %s from a fresh IP after the account's budget: %d", login, r.Status)
		}
	}
	// Another account is unaffected.
	if r := c.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "guess"}, "X-Forwarded-For", "198.51.100.251"); r.Status != 401 {
		t.Fatalf("other account: %d", r.Status)
	}
	// The two refusals wrote one login.rate_limited event for the account, not one each.
	ev := admin.Do("GET", "/api/admin/events?kind=login.rate_limited", nil)
	items := ev.Events().Items
	if len(items) != 1 || !strings.Contains(string(ev.Body), `"bucket":"acct"`) {
		t.Fatalf("rate-limit events: %s", ev.Body)
	}
}

func TestUntrustedPeerForwardedForIgnored(t *testing.T) {
	t.Parallel()
	// Only 10.0.0.0/8 is trusted: the loopback test client is a direct, untrusted peer, so its
	// X-Forwarded-For is ignored and every attempt counts against 127.0.0.1.
	e := testserver.New(t, testserver.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW) // signed in before the IP's budget is spent
	c := e.Client()
	for i := range 11 {
		r := c.Do("POST", "/api/auth/login", map[string]string{"login": fmt.Sprintf("n%d", i), "password": "guess"}, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
		if i < 10 && r.Status != 401 || i == 10 && r.Status != 429 {
			t.Fatalf("attempt %d: %d", i, r.Status)
		}
	}
	ev := admin.Do("GET", "/api/admin/events?kind=login.failed", nil)
	if !strings.Contains(string(ev.Body), `"ip":"127.0.0.1"`) || strings.Contains(string(ev.Body), "203.0.113.") {
		t.Fatalf("events should record the peer, not the forged header: %s", ev.Body)
	}
}

// A sign-in flood larger than the hashing pool gets 503 server_busy with Retry-After at once,
// for unknown and known accounts alike, instead of queueing without bound.
func TestSignInFloodGetsBusy(t *testing.T) {
	t.Parallel()
	p := password.DefaultParams()
	e := testserver.New(t, testserver.Options{Params: &p, Workers: 1, Queue: 1})
	e.Setup("alice", "alice@example.com", adminPW)
	const n = 16
	var wg sync.WaitGroup
	res := make([]*testserver.Response, n)
	for i := range n {
		login := fmt.Sprintf("nobody%d", i)
		if i%2 == 0 {
			login = "alice"
		}
		wg.Go(func() {
			res[i] = e.Client().Do("POST", "/api/auth/login", map[string]string{"login": login, "password": "wrong password"},
				"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
		})
	}
	wg.Wait()
	busy := map[bool]int{} // known account -> busy answers
	for i, r := range res {
		switch r.Status {
		case 401:
		case 503:
			if r.Code() != "server_busy" || r.Header.Get("Retry-After") == "" {
				t.Fatalf("busy answer %d: %s retry=%q", i, r.Body, r.Header.Get("Retry-After"))
			}
			busy[i%2 == 0]++
		default:
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Body)
		}
	}
	// One worker and one queue slot: at most two attempts are hashed at a time out of 16 sent
	// together, so most must be refused.
	if busy[true]+busy[false] < n/2 || busy[true] == 0 || busy[false] == 0 {
		t.Fatalf("refused as busy: %d for a real account, %d for unknown ones, of %d", busy[true], busy[false], n)
	}
}

// Only failed attempts spend an address's budget: an office behind one NAT address can sign
// everyone in, and guessing from it is still limited.
func TestSuccessfulSignInsDoNotSpendTheAddressBudget(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	for i := range 15 {
		e.CreateUser(admin, fmt.Sprintf("staff%d", i), fmt.Sprintf("staff%d@example.com", i), "a good password", "user")
	}
	c := e.Client()
	office := "203.0.113.50"
	for i := range 15 {
		r := c.Do("POST", "/api/auth/login", map[string]string{"login": fmt.Sprintf("staff%d", i), "password": "a good password"}, "X-Forwarded-For", office)
		if r.Status != 200 {
			t.Fatalf("colleague %d signing in from the office: %d %s", i, r.Status, r.Body)
		}
	}
	for i := range 11 {
		r := c.Do("POST", "/api/auth/login", map[string]string{"login": fmt.Sprintf("staff%d", i), "password": "a wrong guess"}, "X-Forwarded-For", office)
		if i < 10 && r.Status != 401 || i == 10 && r.Status != 429 {
			t.Fatalf("guess %d from the office: %d", i, r.Status)
		}
	}
}
