// Package e2e holds tests that drive whole gatehouse instances: several instances sharing one
// PostgreSQL, and (in browser tests) real Chromium.
package e2e

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// Two instances behind a load balancer share one PostgreSQL: a logout on one must be honoured by
// the other within about a second, although the other has the token's session cached.
func TestLogoutHonouredAcrossInstances(t *testing.T) {
	t.Parallel()
	dsn := testdb.PostgresDSN(t)
	a := testserver.New(t, testserver.Options{Backend: "postgres", DSN: dsn, Follow: true})
	b := testserver.New(t, testserver.Options{Backend: "postgres", DSN: dsn, Follow: true})
	a.Setup("alice", "alice@example.com", "correct horse battery")
	browser, r := a.Login("alice", "correct horse battery")
	access := r.Str("access_token")

	// B accepts the token and the cookie (and caches them).
	if r := b.Bearer(access).Do("GET", "/api/auth/verify", nil); r.Status != 200 {
		t.Fatalf("B before logout: %d", r.Status)
	}
	cookie := browserCookie(t, browser)
	if r := b.Client().Do("GET", "/api/auth/verify", nil, "Cookie", "gatehouse_session="+cookie); r.Status != 200 {
		t.Fatalf("B cookie before logout: %d", r.Status)
	}

	if r := a.Bearer(access).Do("POST", "/api/auth/logout", nil); r.Status != 204 {
		t.Fatalf("logout on A: %d", r.Status)
	}
	start := time.Now()
	deadline := start.Add(3 * time.Second)
	for {
		rb := b.Bearer(access).Do("GET", "/api/auth/verify", nil)
		rc := b.Client().Do("GET", "/api/auth/verify", nil, "Cookie", "gatehouse_session="+cookie)
		if rb.Status == 401 && rc.Status == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B still accepts the logged-out session after 3 s (bearer %d, cookie %d)", rb.Status, rc.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("B refused the logged-out token %v after the logout on A", time.Since(start).Round(time.Millisecond))

	// Disabling on B is honoured by A the same way.
	admin, _ := b.Login("alice", "correct horse battery")
	id := b.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	_, br := a.Login("bob", "bob password 1")
	if r := a.Bearer(br.Str("access_token")).Do("GET", "/api/auth/verify", nil); r.Status != 200 {
		t.Fatalf("bob on A: %d", r.Status)
	}
	admin.Do("PATCH", "/api/admin/users/"+strconv.FormatInt(id, 10), map[string]any{"disabled": true})
	deadline = time.Now().Add(3 * time.Second)
	for a.Bearer(br.Str("access_token")).Do("GET", "/api/auth/verify", nil).Status != 401 {
		if time.Now().After(deadline) {
			t.Fatal("A still accepts a user disabled on B after 3 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browserCookie returns the session cookie a client holds for its own server.
func browserCookie(t *testing.T, c *testserver.Client) string {
	t.Helper()
	u, _ := url.Parse(c.E.URL)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == "gatehouse_session" {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}
