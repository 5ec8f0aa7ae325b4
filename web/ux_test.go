package web_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// Rough edges a first-time user hit; each test fails without its fix.

func uxAdmin(t *testing.T) (*testserver.Env, *testserver.Client) {
	t.Helper()
	e := testserver.New(t, testserver.Options{Web: true})
	c := e.Client()
	if r := c.Form("/login/setup", url.Values{"username": {"alice"}, "email": {"alice@example.com"}, "password": {adminPW}, "password_confirm": {adminPW}}); r.Status != 303 {
		t.Fatalf("setup: %d %s", r.Status, r.Body)
	}
	return e, c
}

func TestUnknownPageIsStyled404(t *testing.T) {
	t.Parallel()
	e, admin := uxAdmin(t)
	for _, c := range []*testserver.Client{admin, e.Client()} {
		r := c.Do("GET", "/nope", nil)
		body := string(r.Body)
		if r.Status != 404 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "There is no page at this address") ||
			!strings.Contains(body, `href="/static/app.css"`) || !strings.Contains(body, "Back to gatehouse") {
			t.Fatalf("/nope: %d %v %s", r.Status, r.Header, body)
		}
		if r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("/nope headers: %v", r.Header)
		}
	}
	// A mistyped sub-page is a 404 too, never a redirect.
	if r := admin.Do("GET", "/settings/security/nope", nil); r.Status != 404 {
		t.Fatalf("/settings/security/nope: %d %v", r.Status, r.Header)
	}
	// The API keeps its JSON 404.
	r := admin.Do("GET", "/api/nope", nil)
	if r.Status != 404 || r.Code() != "not_found" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("/api/nope: %d %s", r.Status, r.Body)
	}
	if r := admin.Do("GET", "/api/auth/login", nil); r.Status != 404 && r.Status != 405 || r.Code() == "" {
		t.Fatalf("GET on an API POST endpoint should stay JSON: %d %s", r.Status, r.Body)
	}
}

func TestGETOnFormPathGoesBackToItsPage(t *testing.T) {
	t.Parallel()
	e, admin := uxAdmin(t)
	for path, want := range map[string]string{
		"/settings/security/mfa/confirm":         "/settings/security",
		"/settings/security/sessions/abc/revoke": "/settings/security",
		"/admin/users/7/sessions/abc/revoke":     "/admin/users/7",
		"/admin/users/7/mfa/reset":               "/admin/users/7",
		"/admin/mail/test":                       "/admin/mail",
		"/login/mfa":                             "/login",
		"/login/setup":                           "/login",
		"/settings/security/passkeys/abc/rename": "/settings/security",
		"/admin/users/7/activation":              "/admin/users/7",
		"/admin/users/7/delete":                  "", // a page of its own: shown, not redirected
		"/settings/security/identities/5/unlink": "/settings/security",
		"/admin/mail/outbox/3/retry":             "/admin/mail",
		"/admin/users/7/passkeys/abc/delete":     "/admin/users/7",
		"/settings/security/mfa/recovery-codes":  "/settings/security",
		"/settings/security/sign-out-others":     "/settings/security",
		"/settings/security/password":            "/settings/security",
		"/settings/security/email":               "/settings/security",
		"/settings/security/mfa/disable":         "/settings/security",
		"/settings/security/mfa/setup":           "/settings/security",
	} {
		r := admin.Do("GET", path, nil)
		if want == "" {
			if r.Status == 303 || r.Status == 405 {
				t.Errorf("GET %s: %d %s", path, r.Status, r.Header.Get("Location"))
			}
			continue
		}
		if r.Status != 303 || r.Header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 303 to %s (%s)", path, r.Status, r.Header.Get("Location"), want, r.Body)
		}
	}
	// Signed out, the redirect leads on to the login page as usual.
	if r := e.Client().Do("GET", "/settings/security/mfa/confirm", nil); r.Status != 303 || r.Header.Get("Location") != "/settings/security" {
		t.Fatalf("signed out: %d %v", r.Status, r.Header)
	}
	// A form posted to a page that takes none gets the styled page, not the mux's bare text.
	r := admin.Form("/admin/events", url.Values{})
	if r.Status != 405 || !strings.Contains(string(r.Body), "This page does not take forms") || r.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /admin/events: %d %v %s", r.Status, r.Header, r.Body)
	}
	// ... and still only from this site.
	if r := admin.Form("/admin/events", url.Values{}, "Sec-Fetch-Site", "cross-site"); r.Status != 403 {
		t.Fatalf("cross-site POST /admin/events: %d", r.Status)
	}
}

func TestCrossOriginRefusalSaysItPlainly(t *testing.T) {
	t.Parallel()
	e, admin := uxAdmin(t)
	// An old browser sends Origin but no Sec-Fetch-Site: Go's reason mentions both headers.
	r := admin.Form("/settings/security/sign-out-others", url.Values{}, "Origin", "https://evil.example")
	body := string(r.Body)
	if r.Status != 403 || !strings.Contains(body, "sent from another site or by an old browser") || strings.Contains(body, "Sec-Fetch-Site") {
		t.Fatalf("page: %d %s", r.Status, body)
	}
	// The pages' scripts (passkeys) show the API's message as it is.
	r = e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "alice", "password": adminPW}, "Origin", "https://evil.example")
	if r.Status != 403 || r.Code() != "csrf_failed" || strings.Contains(string(r.Body), "Sec-Fetch-Site") || !strings.Contains(string(r.Body), "another site or by an old browser") {
		t.Fatalf("API: %d %s", r.Status, r.Body)
	}
}

func TestProviderRedirectHintShowsIDPlaceholder(t *testing.T) {
	t.Parallel()
	_, admin := uxAdmin(t)
	body := string(admin.Do("GET", "/admin/providers", nil).Body)
	if !strings.Contains(body, "/api/auth/oidc/{id}/callback</code>") || strings.Contains(body, "%7Bid%7D") {
		t.Fatalf("redirect URI hint: %s", body)
	}
}

func TestMailPageWithoutSMTPHost(t *testing.T) {
	t.Parallel()
	_, admin := uxAdmin(t)
	body := string(admin.Do("GET", "/admin/mail", nil).Body)
	// Said once, and the test button waits for a configuration.
	if strings.Count(body, "not configured") != 1 || strings.Contains(body, "Sent at once through :") {
		t.Fatalf("mail page should say once that mail is not configured: %s", body)
	}
	if !strings.Contains(body, `<button type="submit" disabled aria-describedby="test-unconfigured">Send test mail</button>`) {
		t.Fatalf("the test button is usable without a mail server: %s", body)
	}
	if r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"mail_smtp_host": "smtp.example.com"}); r.Status != 200 {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	body = string(admin.Do("GET", "/admin/mail", nil).Body)
	if !strings.Contains(body, "Sent at once through smtp.example.com:") || strings.Contains(body, "test-unconfigured") ||
		!strings.Contains(body, `<button type="submit">Send test mail</button>`) {
		t.Fatalf("mail page with a host: %s", body)
	}
}

func TestEventsShowUsernames(t *testing.T) {
	t.Parallel()
	e, admin := uxAdmin(t)
	bob := e.CreateUser(admin, "bob", "bob@example.com", adminPW, "user")
	carol := e.CreateUser(admin, "carol", "carol@example.com", adminPW, "user")
	e.Login("bob", adminPW)
	e.Login("carol", adminPW)
	if r := admin.Do("DELETE", "/api/admin/users/"+strconv.FormatInt(carol, 10), nil); r.Status != 204 && r.Status != 200 {
		t.Fatalf("delete carol: %d %s", r.Status, r.Body)
	}
	body := string(admin.Do("GET", "/admin/events?kind=login.succeeded", nil).Body)
	if !strings.Contains(body, `<a href="/admin/users/`+strconv.FormatInt(bob, 10)+`">bob</a>`) || !strings.Contains(body, "deleted user "+strconv.FormatInt(carol, 10)) {
		t.Fatalf("events: %s", body)
	}
	if !strings.Contains(body, "User (username or number)") {
		t.Fatalf("filter label: %s", body)
	}
	// The filter takes a username, or a number (the only way to a deleted user's events).
	body = string(admin.Do("GET", "/admin/events?kind=login.succeeded&user=bob", nil).Body)
	if !strings.Contains(body, ">bob</a>") || strings.Contains(body, "deleted user") {
		t.Fatalf("filter bob: %s", body)
	}
	body = string(admin.Do("GET", "/admin/events?kind=login.succeeded&user="+strconv.FormatInt(carol, 10), nil).Body)
	if strings.Contains(body, ">bob</a>") || !strings.Contains(body, "deleted user") {
		t.Fatalf("filter carol's number: %s", body)
	}
	r := admin.Do("GET", "/admin/events?user=carol", nil)
	if r.Status != 400 || !strings.Contains(string(r.Body), "No user has this username or number") {
		t.Fatalf("filter a deleted name: %d %s", r.Status, r.Body)
	}
}

func TestReplayedCodeSaysWaitForTheNext(t *testing.T) {
	t.Parallel()
	e, c := uxAdmin(t)
	if r := c.Form("/settings/security/mfa/setup", nil); r.Status != 303 {
		t.Fatalf("setup: %d", r.Status)
	}
	secret := must1(t, `id="mfa-secret" class="secret">([A-Z2-7]+)<`, string(c.Do("GET", "/settings/security", nil).Body))
	code := nowCode(t, e, secret)
	if r := c.Form("/settings/security/mfa/confirm", url.Values{"form": {"confirm"}, "code": {code}}); r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	// Signing in at once with the code just used to confirm: same 30 s window.
	b := e.Client()
	tok := must1(t, `name="mfa_token" value="([^"]+)"`, string(b.Form("/login", url.Values{"login": {"alice"}, "password": {adminPW}}).Body))
	r := b.Form("/login/mfa", url.Values{"mfa_token": {tok}, "code": {code}})
	if body := strings.ToLower(string(r.Body)); r.Status != 401 || !strings.Contains(body, "this code was already used; wait for the next one") || strings.Contains(body, "the code is wrong") {
		t.Fatalf("replayed code: %d %s", r.Status, body)
	}
	// A wrong code still says it is wrong.
	r = b.Form("/login/mfa", url.Values{"mfa_token": {tok}, "code": {"000000"}})
	if !strings.Contains(strings.ToLower(string(r.Body)), "the code is wrong") {
		t.Fatalf("wrong code: %d %s", r.Status, r.Body)
	}
	// The next code works.
	e.Clock.Advance(30 * time.Second)
	if r := b.Form("/login/mfa", url.Values{"mfa_token": {tok}, "code": {nowCode(t, e, secret)}}); r.Status != 303 {
		t.Fatalf("next code: %d %s", r.Status, r.Body)
	}
}

func TestExternalIdentitiesHiddenWithoutProviders(t *testing.T) {
	t.Parallel()
	_, admin := uxAdmin(t)
	body := string(admin.Do("GET", "/settings/security", nil).Body)
	if strings.Contains(body, "External identities") || strings.Contains(body, "No external identity is linked") {
		t.Fatalf("security page without providers: %s", body)
	}
}

func TestGETOnFormPathNeverLeavesTheSite(t *testing.T) {
	t.Parallel()
	_, admin := uxAdmin(t)
	for _, path := range []string{"/admin/users/%2F%2Fevil.example/mfa/reset", "/admin/users/%2Fevil.example/sessions/x/revoke", "/settings/security/sessions/%5C%5Cevil.example/revoke"} {
		r := admin.Do("GET", path, nil)
		loc := r.Header.Get("Location")
		if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") || strings.Contains(loc, "://") || (r.Status == 303 && !strings.HasPrefix(loc, "/")) {
			t.Fatalf("GET %s: %d to %q", path, r.Status, loc)
		}
		t.Logf("GET %s: %d to %q", path, r.Status, loc)
	}
}
