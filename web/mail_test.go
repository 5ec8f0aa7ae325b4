package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/smtptest"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// The mail flow pages, posted as a browser without JavaScript would; e2e/mail_test.go drives
// Chromium through registration and recovery.

type mailSite struct {
	*testserver.Env
	smtp  *smtptest.Server
	admin *testserver.Client
}

func newMailSite(t *testing.T, configure bool) *mailSite {
	t.Helper()
	smtp := smtptest.Start(t)
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("root", "root@example.com", adminPW)
	if configure {
		r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"mail_smtp_host": smtp.Host, "mail_smtp_port": smtp.Port, "mail_smtp_tls": "none",
			"mail_from": "gate@example.com", "auth_allow_user_registration": true})
		if r.Status != 200 {
			t.Fatalf("settings: %d %s", r.Status, r.Body)
		}
	}
	return &mailSite{Env: e, smtp: smtp, admin: admin}
}

func (m *mailSite) deliver() {
	m.T.Helper()
	if _, err := m.Auth.Core.Mail().Tick(context.Background()); err != nil {
		m.T.Fatal(err)
	}
}

var hiddenToken = regexp.MustCompile(`name="token" value="([^"]+)"`)

// openLink GETs a mailed link as a browser would and returns the page and the token of its form.
func (m *mailSite) openLink(c *testserver.Client, msg *smtptest.Message, path string) (*testserver.Response, string) {
	m.T.Helper()
	link := msg.Link(path)
	u, err := url.Parse(link)
	if err != nil || link == "" {
		m.T.Fatalf("no %s link in:\n%s", path, msg.Text)
	}
	r := c.Do("GET", u.RequestURI(), nil)
	if r.Header.Get("Referrer-Policy") != "no-referrer" {
		m.T.Fatalf("%s: Referrer-Policy %q, want no-referrer: the token would leak to any linked site", path, r.Header.Get("Referrer-Policy"))
	}
	if !strings.Contains(string(r.Body), "/static/token.js") {
		m.T.Fatalf("%s does not load token.js to clear the token from the address bar", path)
	}
	mt := hiddenToken.FindStringSubmatch(string(r.Body))
	if mt == nil {
		return r, ""
	}
	return r, mt[1]
}

func TestRegisterAndActivatePages(t *testing.T) {
	t.Parallel()
	m := newMailSite(t, true)
	c := m.Client()
	if body := string(c.Do("GET", "/login", nil).Body); !strings.Contains(body, `href="/register"`) || !strings.Contains(body, `href="/recover"`) {
		t.Fatalf("the login page lacks the register or recover link: %s", body)
	}
	r := c.Form("/register", url.Values{"username": {"nia"}, "email": {"nia@example.com"}, "password": {"nia password 1"}, "password_confirm": {"other"}})
	if r.Status != 400 || !strings.Contains(string(r.Body), "The two passwords differ") && !strings.Contains(string(r.Body), "the two passwords differ") {
		t.Fatalf("mismatch: %d %s", r.Status, r.Body)
	}
	r = c.Form("/register", url.Values{"username": {"nia"}, "email": {"nia@example.com"}, "password": {"nia password 1"}, "password_confirm": {"nia password 1"}})
	if r.Status != 200 || !strings.Contains(string(r.Body), "Check your mail") {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	// Signing in before activation: said after the right password, with a resend button.
	r = c.Form("/login", url.Values{"login": {"nia"}, "password": {"nia password 1"}})
	if r.Status != 403 || !strings.Contains(string(r.Body), "not activated yet") || !strings.Contains(string(r.Body), `action="/activate/resend"`) {
		t.Fatalf("pending sign-in: %d %s", r.Status, r.Body)
	}
	m.deliver()
	msg := m.smtp.To("nia@example.com")[0]
	page, tok := m.openLink(c, msg, "/activate")
	if tok == "" || !strings.Contains(string(page.Body), "Activate my account") {
		t.Fatalf("activation page: %s", page.Body)
	}
	// Opening the link (a mail scanner does) spends nothing: it still works after a second GET.
	m.openLink(c, msg, "/activate")
	r = c.Form("/activate", url.Values{"token": {tok}})
	if r.Status != 200 || !strings.Contains(string(r.Body), "Account activated") {
		t.Fatalf("activate: %d %s", r.Status, r.Body)
	}
	r = c.Form("/activate", url.Values{"token": {tok}})
	if r.Status != 400 || !strings.Contains(string(r.Body), "invalid, expired or already used") || !strings.Contains(string(r.Body), "Send a new activation link") {
		t.Fatalf("reused link: %d %s", r.Status, r.Body)
	}
	if r := c.Form("/login", url.Values{"login": {"nia"}, "password": {"nia password 1"}}); r.Status != 303 {
		t.Fatalf("sign-in after activation: %d %s", r.Status, r.Body)
	}
}

func TestRegisterPageWhenClosed(t *testing.T) {
	t.Parallel()
	m := newMailSite(t, false)
	if r := m.Client().Do("GET", "/register", nil); r.Status != 404 || !strings.Contains(string(r.Body), "Registration is closed") {
		t.Fatalf("closed: %d %s", r.Status, r.Body)
	}
	r := m.Client().Form("/register", url.Values{"username": {"x"}, "email": {"x@example.com"}, "password": {"x password 12"}, "password_confirm": {"x password 12"}})
	if r.Status != 403 {
		t.Fatalf("posting while closed: %d", r.Status)
	}
}

func TestRecoverPages(t *testing.T) {
	t.Parallel()
	m := newMailSite(t, true)
	m.CreateUser(m.admin, "omar", "omar@example.com", "omar password 1", "user")
	c := m.Client()
	r := c.Form("/recover", url.Values{"email": {"omar@example.com"}})
	unknown := m.Client().Form("/recover", url.Values{"email": {"ghost@example.com"}})
	if r.Status != 200 || unknown.Status != 200 || !strings.Contains(string(r.Body), "Check your mail") || string(r.Body) != string(unknown.Body) {
		t.Fatalf("recover answers differ: %d / %d", r.Status, unknown.Status)
	}
	m.deliver()
	msg := m.smtp.To("omar@example.com")[0]
	_, tok := m.openLink(c, msg, "/recover/reset")
	if tok == "" {
		t.Fatal("no reset form")
	}
	r = c.Form("/recover/reset", url.Values{"token": {tok}, "password": {"short"}, "password_confirm": {"short"}})
	if r.Status != 400 || !strings.Contains(string(r.Body), `id="e-password"`) || !hiddenToken.MatchString(string(r.Body)) {
		t.Fatalf("short password keeps the form and token: %d %s", r.Status, r.Body)
	}
	r = c.Form("/recover/reset", url.Values{"token": {tok}, "password": {"omar new password"}, "password_confirm": {"omar new password"}})
	if r.Status != 200 || !strings.Contains(string(r.Body), "Password changed") {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	page, again := m.openLink(c, msg, "/recover/reset")
	if again != "" || page.Status != 400 || !strings.Contains(string(page.Body), "Ask for a new link") {
		t.Fatalf("a used link still shows the form: %d %s", page.Status, page.Body)
	}
	if r := c.Form("/login", url.Values{"login": {"omar"}, "password": {"omar new password"}}); r.Status != 303 {
		t.Fatalf("sign-in with the new password: %d", r.Status)
	}
}

func TestEmailChangePages(t *testing.T) {
	t.Parallel()
	m := newMailSite(t, true)
	m.CreateUser(m.admin, "pia", "pia@example.com", "pia password 1", "user")
	c := m.Client()
	c.Form("/login", url.Values{"login": {"pia"}, "password": {"pia password 1"}})
	if body := string(c.Do("GET", "/settings/security", nil).Body); !strings.Contains(body, `action="/settings/security/email"`) {
		t.Fatalf("no email form on the security page")
	}
	r := c.Form("/settings/security/email", url.Values{"email": {"root@example.com"}, "email_password": {"pia password 1"}})
	if r.Status != 409 || !strings.Contains(string(r.Body), "already in use") {
		t.Fatalf("address in use: %d %s", r.Status, r.Body)
	}
	r = c.Form("/settings/security/email", url.Values{"email": {"pia2@example.com"}, "email_password": {"wrong"}})
	if r.Status != 401 || !strings.Contains(string(r.Body), `id="e-email-password"`) {
		t.Fatalf("wrong password: %d %s", r.Status, r.Body)
	}
	r = c.Form("/settings/security/email", url.Values{"email": {"pia2@example.com"}, "email_password": {"pia password 1"}})
	if r.Status != 303 {
		t.Fatalf("request: %d %s", r.Status, r.Body)
	}
	m.deliver()
	// Opened in another browser, without a session: the link is the proof.
	other := m.Client()
	_, tok := m.openLink(other, m.smtp.To("pia2@example.com")[0], "/settings/email/confirm")
	r = other.Form("/settings/email/confirm", url.Values{"token": {tok}})
	if r.Status != 200 || !strings.Contains(string(r.Body), "pia2@example.com") {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	if body := string(c.Do("GET", "/settings/security", nil).Body); !strings.Contains(body, "<strong>pia2@example.com</strong>") {
		t.Fatal("the security page does not show the new address")
	}
}

func TestAdminMailConsole(t *testing.T) {
	t.Parallel()
	m := newMailSite(t, false)
	// Turning registration on without mail asks for confirmation first.
	r := m.admin.Form("/admin/settings", url.Values{"group": {"user_management"}, "auth_allow_user_registration": {"1"}, "auth_register_activation_enabled": {"1"},
		"auth_password_min_length": {"8"}, "auth_password_max_length": {"128"}, "auth_login_rate_limit_burst": {"10"}, "auth_login_rate_limit_refill_secs": {"90"}, "auth_expensive_rate_limit_per_min": {"60"},
		"auth_mfa_challenge_ttl_secs": {"300"}, "auth_mfa_max_attempts": {"5"}})
	if r.Status != 409 || !strings.Contains(string(r.Body), "Mail delivery is not configured") || !strings.Contains(string(r.Body), `name="confirm_no_mail"`) {
		t.Fatalf("enabling registration without mail: %d %s", r.Status, r.Body)
	}
	if m.Auth.Core.Settings().AllowRegistration {
		t.Fatal("registration was enabled without confirmation")
	}
	form := url.Values{"group": {"user_management"}, "auth_allow_user_registration": {"1"}, "auth_register_activation_enabled": {"1"},
		"auth_password_min_length": {"8"}, "auth_password_max_length": {"128"}, "auth_login_rate_limit_burst": {"10"}, "auth_login_rate_limit_refill_secs": {"90"}, "auth_expensive_rate_limit_per_min": {"60"},
		"auth_mfa_challenge_ttl_secs": {"300"}, "auth_mfa_max_attempts": {"5"}, "confirm_no_mail": {"1"}}
	if r := m.admin.Form("/admin/settings", form); r.Status != 303 || !m.Auth.Core.Settings().AllowRegistration {
		t.Fatalf("confirmed: %d %s", r.Status, r.Body)
	}
	if body := string(m.admin.Do("GET", "/admin/settings", nil).Body); !strings.Contains(body, "mail delivery is not configured") {
		t.Fatal("the settings page does not warn while registration runs without mail")
	}
	// A registration now waits in the outbox and in the pending list.
	m.Client().Form("/register", url.Values{"username": {"quin"}, "email": {"quin@example.com"}, "password": {"quin password 1"}, "password_confirm": {"quin password 1"}})
	body := string(m.admin.Do("GET", "/admin/mail", nil).Body)
	if !strings.Contains(body, "Mail delivery is not configured") || !strings.Contains(body, "quin@example.com") || !strings.Contains(body, "Resend activation") {
		t.Fatalf("mail console: %s", body)
	}
	// Configure mail; the test button reports the server's answer, then its refusal.
	m.admin.Do("PATCH", "/api/admin/settings", map[string]any{"mail_smtp_host": m.smtp.Host, "mail_smtp_port": m.smtp.Port, "mail_smtp_tls": "none", "mail_from": "gate@example.com"})
	r = m.admin.Form("/admin/mail/test", url.Values{"to": {"ops@example.com"}})
	if r.Status != 200 || !strings.Contains(string(r.Body), "OK: queued") {
		t.Fatalf("test mail: %d %s", r.Status, r.Body)
	}
	m.smtp.Refuse("too many connections from your host")
	r = m.admin.Form("/admin/mail/test", url.Values{"to": {"ops@example.com"}})
	if r.Status != 502 || !strings.Contains(string(r.Body), "too many connections from your host") {
		t.Fatalf("refused test mail: %d %s", r.Status, r.Body)
	}
	m.deliver()
	if body := string(m.admin.Do("GET", "/admin/mail", nil).Body); !strings.Contains(body, "too many connections from your host") || !strings.Contains(body, "Retry now") {
		t.Fatalf("the failed delivery is not shown: %s", body)
	}
	m.smtp.Refuse("")
	m.Clock.Advance(time.Minute)
	m.deliver()
	if len(m.smtp.To("quin@example.com")) != 1 {
		t.Fatal("the queued activation mail was not delivered after the refusal")
	}
	// Resend from the console (after the cooldown).
	id := regexp.MustCompile(`action="/admin/users/(\d+)/activation"`).FindStringSubmatch(string(m.admin.Do("GET", "/admin/mail", nil).Body))
	if id == nil {
		t.Fatal("no resend button")
	}
	if r := m.admin.Form("/admin/users/"+id[1]+"/activation", nil); r.Status != 303 {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	m.deliver()
	if len(m.smtp.To("quin@example.com")) != 2 {
		t.Fatal("the resent activation mail was not delivered")
	}
}

// The mail template editor: the built-in template shown, a preview with sample data, a refused
// template kept as typed with the reason next to its part, save, and reset.
func TestAdminMailTemplatePages(t *testing.T) {
	t.Parallel()
	m := newMailSite(t, false)
	if body := string(m.admin.Do("GET", "/admin/mail", nil).Body); !strings.Contains(body, `/admin/mail/templates/activation"`) {
		t.Fatal("the mail page does not list the templates")
	}
	r := m.admin.Do("GET", "/admin/mail/templates/activation", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), "The built-in template.") || !strings.Contains(string(r.Body), "must both keep") {
		t.Fatalf("editor: %d %s", r.Status, r.Body)
	}
	form := url.Values{"subject": {"Welcome to {{.SiteName}}"}, "text": {"Hello {{.Username}}, activate: {{.Link}}"}, "html": {`<p><a href="{{.Link}}">Activate</a></p>`}, "action": {"preview"}}
	r = m.admin.Form("/admin/mail/templates/activation", form)
	if r.Status != 200 || !strings.Contains(string(r.Body), `id="preview-text">Hello alice, activate: `) || !strings.Contains(string(r.Body), "not saved yet") {
		t.Fatalf("preview: %d %s", r.Status, r.Body)
	}
	// The HTML part is rendered in a sandboxed frame (no script, no same-origin), its markup
	// escaped into srcdoc; only this answer allows inline style, and never script.
	if frame := regexp.MustCompile(`<iframe id="preview-frame"[^>]*>`).FindString(string(r.Body)); !strings.Contains(frame, `sandbox="" referrerpolicy="no-referrer" srcdoc="&lt;`) ||
		!strings.Contains(frame, `&lt;p&gt;&lt;a href=&#34;http`) || strings.Contains(frame, "<p>") {
		t.Fatalf("preview frame: %s", r.Body)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self' 'unsafe-inline'") || !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "script-src 'self' 'unsafe") {
		t.Fatalf("preview CSP: %q", csp)
	}
	if csp := m.admin.Do("GET", "/admin/mail/templates/activation", nil).Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("the editor without a preview allows inline style: %q", csp)
	}
	bad := url.Values{"subject": form["subject"], "text": {"Hello {{.Username}}"}, "html": form["html"], "action": {"save"}}
	r = m.admin.Form("/admin/mail/templates/activation", bad)
	if r.Status != 400 || !strings.Contains(string(r.Body), `id="e-text"`) || !strings.Contains(string(r.Body), "must contain the link") || !strings.Contains(string(r.Body), ">Hello {{.Username}}</textarea>") {
		t.Fatalf("refused save: %d %s", r.Status, r.Body)
	}
	form.Set("action", "save")
	if r = m.admin.Form("/admin/mail/templates/activation", form); r.Status != 303 || !strings.HasSuffix(r.Header.Get("Location"), "/admin/mail/templates/activation?done=saved") {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	if body := string(m.admin.Do("GET", "/admin/mail/templates/activation", nil).Body); !strings.Contains(body, "Edited (saved") || !strings.Contains(body, "Welcome to {{.SiteName}}") {
		t.Fatal("the saved template is not shown")
	}
	if r = m.admin.Form("/admin/mail/templates/activation/reset", url.Values{}); r.Status != 303 {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	if body := string(m.admin.Do("GET", "/admin/mail/templates/activation", nil).Body); !strings.Contains(body, "The built-in template.") {
		t.Fatal("reset did not go back to the built-in template")
	}
	if r := m.admin.Do("GET", "/admin/mail/templates/nope", nil); r.Status != 404 {
		t.Fatalf("unknown kind: %d", r.Status)
	}
}

// The owner of an address someone registered first registers on the page and activates their
// own account with the link mailed to them; a username taken in between is said on the page.
func TestActivatePageReplacesAPendingAccount(t *testing.T) {
	t.Parallel()
	m := newMailSite(t, true)
	reg := func(user, pw string) {
		t.Helper()
		r := m.Client().Form("/register", url.Values{"username": {user}, "email": {"vic@example.com"}, "password": {pw}, "password_confirm": {pw}})
		if r.Status != 200 || !strings.Contains(string(r.Body), "Check your mail") {
			t.Fatalf("register %s: %d %s", user, r.Status, r.Body)
		}
	}
	reg("squatter", "squatter pass 1")
	m.Clock.Advance(61 * time.Second)
	reg("vic", "vic own password")
	m.deliver()
	msgs := m.smtp.To("vic@example.com")
	if len(msgs) != 2 {
		t.Fatalf("%d mails to vic@example.com, want 2", len(msgs))
	}
	c := m.Client()
	_, tok := m.openLink(c, msgs[1], "/activate")
	m.CreateUser(m.admin, "vic", "other@example.com", "other password 1", "user")
	r := c.Form("/activate", url.Values{"token": {tok}})
	if r.Status != 409 || !strings.Contains(string(r.Body), `the username &#34;vic&#34; was taken after you registered`) {
		t.Fatalf("activation with a username taken meanwhile: %d %s", r.Status, r.Body)
	}
	// The same registration under another name, a minute later: a new link replaces the first.
	m.Clock.Advance(61 * time.Second)
	reg("vic2", "vic own password")
	m.deliver()
	msgs = m.smtp.To("vic@example.com")
	_, tok = m.openLink(c, msgs[len(msgs)-1], "/activate")
	if r := c.Form("/activate", url.Values{"token": {tok}}); r.Status != 200 || !strings.Contains(string(r.Body), "Account activated") {
		t.Fatalf("activate: %d %s", r.Status, r.Body)
	}
	if r := c.Form("/login", url.Values{"login": {"vic@example.com"}, "password": {"vic own password"}}); r.Status != 303 {
		t.Fatalf("the owner's sign-in: %d %s", r.Status, r.Body)
	}
	if r := m.Client().Form("/login", url.Values{"login": {"squatter"}, "password": {"squatter pass 1"}}); r.Status == 303 {
		t.Fatal("the registrant still signs in")
	}
}
