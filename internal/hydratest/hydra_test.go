package hydratest_test

import (
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/hydratest"
	"github.com/gatehouse/gatehouse/internal/testdb"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// TestMain drops the PostgreSQL schemas kept for reuse when the tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	testdb.Drain()
	os.Exit(code)
}

// External sign-in against Ory Hydra v2.3.0, a real OpenID Certified provider on PostgreSQL,
// with clients registered the way Hydra's administrators register them. Hydra puts only what the
// consent app grants into the ID token and refuses a client that authenticates with another
// method than the one it is registered with, so this catches what a lenient test provider lets
// through (issue 16: sign-in failed with Hydra's default client_secret_basic clients).
func TestHydra(t *testing.T) {
	h := hydratest.Start(t)
	e := testserver.New(t, testserver.Options{Backend: "postgres", Clock: testserver.NewClockAtNow(), Web: true})
	admin, _ := e.Setup("admin", "admin@example.com", "correct horse battery")
	x := &env{e: e}
	addProvider := func(id, method string, extra map[string]any) {
		t.Helper()
		cid, secret := h.Client(t, e.URL+"/api/auth/oidc/"+id+"/callback", method)
		body := map[string]any{"id": id, "name": "Hydra " + id, "issuer": h.Issuer, "client_id": cid, "client_secret": secret, "token_auth_method": method}
		for k, v := range extra {
			body[k] = v
		}
		if r := admin.Do("POST", "/api/admin/providers", body); r.Status != http.StatusCreated {
			t.Fatalf("create provider %s: %d %s", id, r.Status, r.Body)
		}
	}
	// Public registration stays closed: auto-create is the provider's switch alone.
	addProvider("hydra", "client_secret_basic", map[string]any{"auto_create_users": true, "auto_bind_verified_email": true})
	addProvider("hydra-post", "client_secret_post", nil)
	signIn := func(b *browser, provider string) (int, string, string) {
		t.Helper()
		return b.Page(t, "/api/auth/oidc/"+provider+"/start")
	}

	t.Run("auto-create", func(t *testing.T) {
		h.Queue(hydratest.User{Subject: "sub-ann", Email: "Ann@Corp.example", EmailVerified: true, PreferredUsername: "ann", Name: "Ann Example"})
		b := x.browser()
		st, loc, body := signIn(b, "hydra")
		if st != http.StatusSeeOther || loc != "/settings/security" {
			t.Fatalf("first sign-in: %d %q %s", st, loc, body)
		}
		u := b.Do("GET", "/api/auth/me", nil).User()
		if u.Username != "ann" || u.Email != "ann@corp.example" || u.Name != "Ann Example" || !u.EmailVerified {
			t.Fatalf("created user: %+v", u)
		}
		// Again: the bound identity, no second account.
		h.Queue(hydratest.User{Subject: "sub-ann", Email: "ann@corp.example", EmailVerified: true})
		b2 := x.browser()
		if st, _, body := signIn(b2, "hydra"); st != http.StatusSeeOther {
			t.Fatalf("second sign-in: %d %s", st, body)
		}
		if name, _ := b2.Me(t); name != "ann" {
			t.Fatalf("second sign-in user: %q", name)
		}
		if n := len(admin.EventsOf(t, gatehouse.EventUserCreatedExternal)); n != 1 {
			t.Fatalf("%d user.created_external events", n)
		}
	})

	t.Run("auto-bind by verified email", func(t *testing.T) {
		bob := e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
		h.Queue(hydratest.User{Subject: "sub-bob", Email: "bob@example.com", EmailVerified: true})
		b := x.browser()
		if st, _, body := signIn(b, "hydra"); st != http.StatusSeeOther {
			t.Fatalf("sign-in: %d %s", st, body)
		}
		if name, _ := b.Me(t); name != "bob" {
			t.Fatalf("signed in as %q", name)
		}
		found := false
		for _, ev := range admin.EventsOf(t, gatehouse.EventIdentityBound) {
			if ev.UID() == bob && ev.Data["how"] == "auto_bind" {
				found = true
			}
		}
		if !found {
			t.Fatal("no identity.bound auto_bind event for bob")
		}
	})

	t.Run("unverified email", func(t *testing.T) {
		e.CreateUser(admin, "carol", "carol@example.com", "carol password 1", "user")
		h.Queue(hydratest.User{Subject: "sub-carol", Email: "carol@example.com", EmailVerified: false})
		b := x.browser()
		st, _, body := signIn(b, "hydra")
		if st != http.StatusForbidden || !strings.Contains(body, "not linked") {
			t.Fatalf("unverified email: %d %s", st, body)
		}
		if name, _ := b.Me(t); name != "" {
			t.Fatalf("signed in as %q", name)
		}
	})

	t.Run("no email", func(t *testing.T) {
		h.Queue(hydratest.User{Subject: "sub-anon", PreferredUsername: "anon"})
		st, _, body := signIn(x.browser(), "hydra")
		if st != http.StatusForbidden || !strings.Contains(body, "did not share a usable email address") {
			t.Fatalf("no email: %d %s", st, body)
		}
		if r := admin.Do("GET", "/api/admin/users?query=anon", nil); len(r.Users().Items) != 0 {
			t.Fatalf("an account was created without an email: %s", r.Body)
		}
	})

	t.Run("disabled user", func(t *testing.T) {
		id := userIDByName(t, admin, "ann")
		if r := admin.Do("PATCH", "/api/admin/users/"+itoa(id), map[string]any{"disabled": true}); r.Status != 200 {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		h.Queue(hydratest.User{Subject: "sub-ann", Email: "ann@corp.example", EmailVerified: true})
		b := x.browser()
		st, _, body := signIn(b, "hydra")
		if st != http.StatusForbidden || !strings.Contains(body, "disabled") {
			t.Fatalf("disabled user: %d %s", st, body)
		}
		if name, _ := b.Me(t); name != "" {
			t.Fatalf("signed in as %q", name)
		}
		admin.Do("PATCH", "/api/admin/users/"+itoa(id), map[string]any{"disabled": false})
	})

	t.Run("link from settings", func(t *testing.T) {
		e.CreateUser(admin, "dave", "dave@example.com", "dave password 1", "user")
		b := x.browser()
		if r := b.Do("POST", "/api/auth/login", map[string]string{"login": "dave", "password": "dave password 1"}); r.Status != 200 {
			t.Fatalf("password sign-in: %d", r.Status)
		}
		follow := b.HTTP.CheckRedirect
		b.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		r := b.Form("/settings/security/link/hydra-post", url.Values{}, "Origin", e.URL)
		b.HTTP.CheckRedirect = follow
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), h.Issuer) {
			t.Fatalf("link start: %d %s", r.Status, r.Body)
		}
		h.Queue(hydratest.User{Subject: "sub-dave", Email: "dave@elsewhere.example", EmailVerified: true})
		st, loc, body := b.Page(t, r.Header.Get("Location"))
		if st != http.StatusSeeOther || loc != "/settings/security?done=linked" {
			t.Fatalf("link: %d %q %s", st, loc, body)
		}
		// The linked identity now signs in to dave.
		h.Queue(hydratest.User{Subject: "sub-dave", Email: "dave@elsewhere.example", EmailVerified: true})
		b2 := x.browser()
		if st, _, body := signIn(b2, "hydra-post"); st != http.StatusSeeOther {
			t.Fatalf("linked sign-in: %d %s", st, body)
		}
		if name, _ := b2.Me(t); name != "dave" {
			t.Fatalf("linked sign-in user %q", name)
		}
	})

	// Both providers signed in above: "hydra" with client_secret_basic, "hydra-post" with
	// client_secret_post. A method other than the client's registration is refused by Hydra, and
	// gatehouse says what to check.
	t.Run("client auth method mismatch", func(t *testing.T) {
		if r := admin.Do("PATCH", "/api/admin/providers/hydra-post", map[string]any{"token_auth_method": "client_secret_basic"}); r.Status != 200 {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
		h.Queue(hydratest.User{Subject: "sub-dave", Email: "dave@elsewhere.example", EmailVerified: true})
		st, _, body := signIn(x.browser(), "hydra-post")
		if st != http.StatusBadGateway || !strings.Contains(body, "invalid_client") || !strings.Contains(body, "token auth method") {
			t.Fatalf("basic against a post client: %d %s", st, body)
		}
		admin.Do("PATCH", "/api/admin/providers/hydra-post", map[string]any{"token_auth_method": "client_secret_post"})
	})

	t.Run("provider answers an error", func(t *testing.T) {
		h.RefuseNext("access_denied")
		b := x.browser()
		st, _, body := signIn(b, "hydra")
		if st != http.StatusBadGateway || !strings.Contains(body, "did not sign you in") || !strings.Contains(body, "access_denied") {
			t.Fatalf("provider error: %d %s", st, body)
		}
		if name, _ := b.Me(t); name != "" {
			t.Fatalf("signed in as %q", name)
		}
		ev := admin.EventsOf(t, gatehouse.EventLoginExternalFailed)
		if len(ev) == 0 || ev[0].Data["reason"] != "provider_error" {
			t.Fatalf("failure event: %v", ev)
		}
	})
}

// userIDByName finds a user's id by username through the admin API.
func userIDByName(t *testing.T, admin *testserver.Client, username string) int64 {
	t.Helper()
	r := admin.Do("GET", "/api/admin/users?query="+url.QueryEscape(username), nil)
	for _, u := range r.Users().Items {
		if u.Username == username {
			return u.ID
		}
	}
	t.Fatalf("no user %q: %s", username, r.Body)
	return 0
}

// env and browser: a cookie jar that follows redirects through gatehouse's external sign-in
// endpoints and the provider, and stops at the first answer that leaves them.
type env struct{ e *testserver.Env }

type browser struct{ *testserver.Client }

func (x *env) browser() *browser { return &browser{Client: x.e.ExternalBrowser()} }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
