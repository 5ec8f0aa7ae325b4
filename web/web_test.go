package web_test

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

const adminPW = "correct horse battery"

// These tests post forms the way a browser without JavaScript does; e2e/ drives real Chromium.

func TestLoginPageFollowsState(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	c := e.Client()
	r := c.Do("GET", "/login", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), "Create the first administrator") || strings.Contains(string(r.Body), `name="login"`) {
		t.Fatalf("no users: want the setup form: %d %s", r.Status, r.Body)
	}
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("CSP: %q", csp)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Referrer-Policy") == "" {
		t.Fatalf("security headers missing: %v", r.Header)
	}
	// Mismatched confirmation: refused next to the field, nothing created.
	r = c.Form("/login/setup", url.Values{"username": {"alice"}, "email": {"alice@example.com"}, "password": {adminPW}, "password_confirm": {"other"}})
	if r.Status != 400 || !strings.Contains(string(r.Body), "The two passwords differ") || !strings.Contains(string(r.Body), `value="alice@example.com"`) {
		t.Fatalf("mismatch: %d %s", r.Status, r.Body)
	}
	r = c.Form("/login/setup", url.Values{"username": {"alice"}, "email": {"alice@example.com"}, "password": {"short"}, "password_confirm": {"short"}})
	if r.Status != 400 || !strings.Contains(string(r.Body), `id="e-password"`) {
		t.Fatalf("short password: %d %s", r.Status, r.Body)
	}
	r = c.Form("/login/setup", url.Values{"username": {"alice"}, "email": {"alice@example.com"}, "password": {adminPW}, "password_confirm": {adminPW}})
	if r.Status != 303 || r.Header.Get("Location") != "/settings/security" {
		t.Fatalf("setup: %d %v", r.Status, r.Header)
	}
	// A second setup from another browser is refused.
	r = e.Client().Form("/login/setup", url.Values{"username": {"mallory"}, "email": {"m@example.com"}, "password": {adminPW}, "password_confirm": {adminPW}})
	if r.Status != 409 || !strings.Contains(string(r.Body), "already exists") {
		t.Fatalf("second setup: %d %s", r.Status, r.Body)
	}
	// Now the page offers sign-in, without registration (off by default) or stay-signed-in.
	r = e.Client().Do("GET", "/login", nil)
	body := string(r.Body)
	if !strings.Contains(body, `name="login"`) || !strings.Contains(body, `autocomplete="current-password"`) || strings.Contains(body, "Create an account") || strings.Contains(body, "stay_signed_in") {
		t.Fatalf("sign-in page: %s", body)
	}
	admin := c
	if r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_allow_user_registration": true, "auth_stay_signed_in_offset": "days=30"}); r.Status != 200 {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	body = string(e.Client().Do("GET", "/login", nil).Body)
	if !strings.Contains(body, "Create an account") || !strings.Contains(body, `name="stay_signed_in"`) {
		t.Fatalf("registration and stay-signed-in should show: %s", body)
	}
}

func TestLoginFormErrorsAndRedirects(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	e.Setup("alice", "alice@example.com", adminPW)
	c := e.Client()
	wrong := c.Form("/login", url.Values{"login": {"alice"}, "password": {"nope-nope-nope"}})
	unknown := c.Form("/login", url.Values{"login": {"nobody"}, "password": {"nope-nope-nope"}})
	if wrong.Status != 401 || unknown.Status != 401 {
		t.Fatalf("statuses %d %d", wrong.Status, unknown.Status)
	}
	msg := func(b []byte) string {
		s := string(b)
		i := strings.Index(s, `id="e-password"`)
		if i < 0 {
			return ""
		}
		return s[i : i+80]
	}
	if msg(wrong.Body) == "" || msg(wrong.Body) != msg(unknown.Body) {
		t.Fatalf("wrong password and unknown user must read the same: %q vs %q", msg(wrong.Body), msg(unknown.Body))
	}
	// rd on the public URL's site is honoured; another site is not (no open redirect).
	r := c.Form("/login", url.Values{"login": {"alice@example.com"}, "password": {adminPW}, "rd": {e.URL + "/somewhere?x=1"}})
	if r.Status != 303 || r.Header.Get("Location") != e.URL+"/somewhere?x=1" {
		t.Fatalf("safe rd: %d %s", r.Status, r.Header.Get("Location"))
	}
	c2 := e.Client()
	r = c2.Form("/login", url.Values{"login": {"alice"}, "password": {adminPW}, "rd": {"https://evil.example/"}})
	if r.Status != 303 || r.Header.Get("Location") != "/settings/security" {
		t.Fatalf("foreign rd: %d %s", r.Status, r.Header.Get("Location"))
	}
	// Signed in, /login goes straight on.
	if r := c2.Do("GET", "/login?rd=//evil.example", nil); r.Status != 303 || r.Header.Get("Location") != "/settings/security" {
		t.Fatalf("signed-in /login: %d %s", r.Status, r.Header.Get("Location"))
	}
}

func TestPagesRefuseCrossSiteForms(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	r := admin.Form("/admin/users", url.Values{"username": {"bob"}, "email": {"bob@example.com"}, "password": {adminPW}, "role": {"admin"}}, "Sec-Fetch-Site", "cross-site")
	if r.Status != 403 {
		t.Fatalf("cross-site form: %d", r.Status)
	}
	r = admin.Form("/admin/users", url.Values{"username": {"bob"}, "email": {"bob@example.com"}, "password": {adminPW}, "role": {"admin"}}, "Origin", "https://evil.example")
	if r.Status != 403 {
		t.Fatalf("foreign Origin: %d", r.Status)
	}
	if r := admin.Do("GET", "/api/admin/users?query=bob", nil); strings.Contains(string(r.Body), "bob@") {
		t.Fatal("a refused form created the user")
	}
	// Logging out by a cross-site POST is refused too; GET only shows a confirmation.
	if r := admin.Form("/logout", url.Values{}, "Sec-Fetch-Site", "cross-site"); r.Status != 403 {
		t.Fatalf("cross-site logout: %d", r.Status)
	}
	if r := admin.Do("GET", "/logout", nil); r.Status != 200 || !strings.Contains(string(r.Body), "Sign out of gatehouse") {
		t.Fatalf("GET /logout: %d", r.Status)
	}
	if r := admin.Do("GET", "/api/auth/me", nil); r.Status != 200 {
		t.Fatal("GET /logout signed out")
	}
	if r := admin.Form("/logout", url.Values{}, "Sec-Fetch-Site", "same-origin"); r.Status != 303 {
		t.Fatalf("logout: %d", r.Status)
	}
	if r := admin.Do("GET", "/api/auth/me", nil); r.Status != 401 {
		t.Fatal("still signed in after logout")
	}
}

func TestAdminPagesOnlyForAdmins(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.CreateUser(admin, "bob", "bob@example.com", adminPW, "user")
	bob, _ := e.Login("bob", adminPW)
	for _, p := range []string{"/admin/users", "/admin/settings", "/admin/events", "/admin/users/1"} {
		if r := bob.Do("GET", p, nil); r.Status != 403 {
			t.Fatalf("bob GET %s: %d", p, r.Status)
		}
	}
	if r := bob.Form("/admin/users/1", url.Values{"action": {"disable"}}); r.Status != 403 {
		t.Fatalf("bob disabling alice: %d", r.Status)
	}
	// Not signed in: sent to the login page, coming back afterwards.
	r := e.Client().Do("GET", "/admin/settings", nil)
	if r.Status != 303 || r.Header.Get("Location") != "/login?rd=%2Fadmin%2Fsettings" {
		t.Fatalf("anonymous: %d %s", r.Status, r.Header.Get("Location"))
	}
	if r := bob.Do("GET", "/settings/security", nil); r.Status != 200 || !strings.Contains(string(r.Body), "This browser") {
		t.Fatalf("bob's security page: %d", r.Status)
	}
}

func TestAdminSettingsFormNamesTheBadKey(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	r := admin.Form("/admin/settings", url.Values{"group": {"tokens"}, "auth_access_token_ttl_secs": {"600"}, "auth_refresh_token_ttl_secs": {"banana"},
		"auth_register_activation_ttl_secs": {"86400"}, "auth_contact_change_ttl_secs": {"86400"}, "auth_password_reset_ttl_secs": {"3600"},
		"auth_contact_verification_resend_cooldown_secs": {"60"}, "auth_password_reset_request_cooldown_secs": {"60"}})
	if r.Status != 400 || !strings.Contains(string(r.Body), `id="ef-auth-refresh-token-ttl-secs"`) || !strings.Contains(string(r.Body), `value="banana"`) {
		t.Fatalf("bad value: %d %s", r.Status, r.Body)
	}
	if st := admin.Do("GET", "/api/admin/settings", nil); st.Settings().Settings["auth_access_token_ttl_secs"] != float64(900) {
		t.Fatal("a refused form saved something")
	}
	// Checkboxes: an unchecked box turns the setting off.
	r = admin.Form("/admin/settings", url.Values{"group": {"sessions"}, "auth_session_idle_timeout_secs": {"3600"}, "auth_session_max_lifetime_secs": {"86400"},
		"auth_session_duration": {"hours=8"}, "auth_stay_signed_in_offset": {"days=30"}, "auth_terminate_other_sessions": {"1"},
		"auth_session_network_binding": {"none"}, "auth_session_geoip_binding": {"none"}})
	if r.Status != 303 {
		t.Fatalf("good form: %d %s", r.Status, r.Body)
	}
	s := admin.Do("GET", "/api/admin/settings", nil).Settings().Settings
	if s["auth_session_idle_timeout_secs"].(float64) != 3600 || s["auth_session_duration"] != "hours=8" || s["auth_terminate_other_sessions"] != true || s["auth_cookie_secure"] != false {
		t.Fatalf("saved: %v", s)
	}
	page := string(admin.Do("GET", "/admin/settings", nil).Body)
	for _, want := range []string{"User management", "Sessions", "Tokens", "Mail delivery", "Site", `value="hours=8"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("settings page lacks %q", want)
		}
	}
}

// A setting combination that cannot work is warned about in the same words by the API and the
// settings page.
func TestSettingsWarningsSameOnAPIAndPage(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	if w := admin.Do("GET", "/api/admin/settings", nil).Settings().Warnings; len(w) != 0 {
		t.Fatalf("warnings with registration off: %v", w)
	}
	if strings.Contains(string(admin.Do("GET", "/admin/settings", nil).Body), "mail delivery is not configured") {
		t.Fatal("the page warns with registration off")
	}
	r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_allow_user_registration": true})
	w := r.Settings().Warnings
	if r.Status != 200 || len(w) != 1 || !strings.Contains(w[0], "mail delivery is not configured") {
		t.Fatalf("registration on without mail: %d %s", r.Status, r.Body)
	}
	page := string(admin.Do("GET", "/admin/settings", nil).Body)
	if !strings.Contains(page, html.EscapeString(w[0])) {
		t.Fatalf("the settings page does not show the API's warning %q", w[0])
	}
}

func TestAdminUserLifecycleByForms(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	r := admin.Form("/admin/users", url.Values{"username": {"bob"}, "email": {"bob@example.com"}, "password": {adminPW}, "role": {"user"}})
	if r.Status != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/users/2") {
		t.Fatalf("create: %d %s %s", r.Status, r.Header.Get("Location"), r.Body)
	}
	// Duplicate email: the error sits next to the email field.
	r = admin.Form("/admin/users", url.Values{"username": {"bob2"}, "email": {"bob@example.com"}, "password": {adminPW}, "role": {"user"}})
	if r.Status != 409 || !strings.Contains(string(r.Body), `id="e-email"`) {
		t.Fatalf("duplicate: %d %s", r.Status, r.Body)
	}
	bob, _ := e.Login("bob", adminPW)
	if r := admin.Form("/admin/users/2", url.Values{"action": {"disable"}}); r.Status != 303 {
		t.Fatalf("disable: %d", r.Status)
	}
	if r := bob.Do("GET", "/settings/security", nil); r.Status != 303 {
		t.Fatalf("disabled bob still sees pages: %d", r.Status)
	}
	// The last administrator cannot demote herself.
	r = admin.Form("/admin/users/1", url.Values{"action": {"role"}, "role": {"user"}})
	if r.Status != 409 || !strings.Contains(string(r.Body), "administrator") {
		t.Fatalf("last admin demote: %d %s", r.Status, r.Body)
	}
	if r := admin.Do("GET", "/admin/users/2/delete", nil); r.Status != 200 || !strings.Contains(string(r.Body), "cannot be undone") {
		t.Fatalf("delete confirm: %d", r.Status)
	}
	if r := admin.Form("/admin/users/2/delete", url.Values{"confirm": {"yes"}}); r.Status != 303 {
		t.Fatalf("delete: %d", r.Status)
	}
	if r := admin.Do("GET", "/admin/users/2", nil); r.Status != 404 {
		t.Fatalf("deleted user page: %d", r.Status)
	}
	ev := string(admin.Do("GET", "/admin/events?kind=admin.user_deleted", nil).Body)
	if !strings.Contains(ev, "admin.user_deleted") {
		t.Fatal("event log page lacks the deletion")
	}
	if r := admin.Do("GET", "/admin/events?user=abc", nil); r.Status != 400 {
		t.Fatalf("bad user filter: %d", r.Status)
	}
}

func TestSecurityPageChangePasswordAndSessions(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	a1, _ := e.Setup("alice", "alice@example.com", adminPW)
	a2, _ := e.Login("alice", adminPW)
	page := string(a1.Do("GET", "/settings/security", nil).Body)
	if strings.Count(page, ">End session</button>") != 1 || !strings.Contains(page, "Sign out everywhere else") {
		t.Fatalf("two sessions, one revocable: %s", page)
	}
	r := a1.Form("/settings/security/password", url.Values{"current_password": {"wrong-wrong"}, "new_password": {"another good one"}, "new_password_confirm": {"another good one"}})
	if r.Status != 401 || !strings.Contains(string(r.Body), `id="e-current-password"`) {
		t.Fatalf("wrong current: %d %s", r.Status, r.Body)
	}
	r = a1.Form("/settings/security/password", url.Values{"current_password": {adminPW}, "new_password": {"another good one"}, "new_password_confirm": {"another good one"}})
	if r.Status != 303 {
		t.Fatalf("change: %d %s", r.Status, r.Body)
	}
	if r := a2.Do("GET", "/api/auth/me", nil); r.Status != 401 {
		t.Fatal("the other session survived a password change")
	}
	if r := a1.Do("GET", "/settings/security?done=password", nil); !strings.Contains(string(r.Body), "Your password is changed") {
		t.Fatal("no confirmation")
	}
}
