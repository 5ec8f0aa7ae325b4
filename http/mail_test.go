package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/smtptest"
	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/internal/webauthntest"
	"github.com/gatehouse/gatehouse/mail"
)

// mailEnv is a running gatehouse with an administrator, mail delivery pointed at a real SMTP
// server on loopback, and public registration open.
type mailEnv struct {
	*testserver.Env
	smtp  *smtptest.Server
	admin *testserver.Client
}

func newMailEnv(t *testing.T, o testserver.Options) *mailEnv {
	t.Helper()
	smtp := smtptest.Start(t)
	e := testserver.New(t, o)
	admin, _ := e.Setup("root", "root@example.com", adminPW)
	r := admin.Do("PATCH", "/api/admin/settings", map[string]any{
		"mail_smtp_host": smtp.Host, "mail_smtp_port": smtp.Port, "mail_smtp_tls": "none",
		"mail_from": "Gatehouse <gatehouse@example.com>", "site_name": "Example Gate",
		"auth_allow_user_registration": true,
	})
	if r.Status != 204 && r.Status != 200 {
		t.Fatalf("configuring mail: %d %s", r.Status, r.Body)
	}
	return &mailEnv{Env: e, smtp: smtp, admin: admin}
}

// deliver runs one round of the outbox, as the background loop would.
func (m *mailEnv) deliver() int {
	m.T.Helper()
	n, err := m.Auth.Core.Mail().Tick(context.Background())
	if err != nil {
		m.T.Fatalf("delivering mail: %v", err)
	}
	return n
}

// only returns the single message delivered to addr, failing otherwise.
func (m *mailEnv) only(addr string, want int) []*smtptest.Message {
	m.T.Helper()
	got := m.smtp.To(addr)
	if len(got) != want {
		m.T.Fatalf("%d messages to %s, want %d", len(got), addr, want)
	}
	return got
}

// linkToken checks that link points at path under the public URL and returns its token.
func (m *mailEnv) linkToken(msg *smtptest.Message, path string) string {
	m.T.Helper()
	link := msg.Link(path)
	if link == "" {
		m.T.Fatalf("no %s link in mail %q:\n%s", path, msg.Subject, msg.Text)
	}
	pub := strings.TrimSuffix(m.Public.String(), "/")
	if !strings.HasPrefix(link, pub+path+"?") {
		m.T.Fatalf("link %q is not under the public URL %q", link, pub+path)
	}
	u, _ := url.Parse(link)
	tok := u.Query().Get("token")
	if len(tok) < 20 {
		m.T.Fatalf("link %q has no real token", link)
	}
	if !strings.Contains(msg.HTML, tok) {
		m.T.Fatalf("HTML part lacks the link")
	}
	return tok
}

func hasEvent(t *testing.T, admin *testserver.Client, kind string) testserver.Event {
	t.Helper()
	r := admin.Do("GET", "/api/admin/events?kind="+kind, nil)
	items := r.Events().Items
	if len(items) == 0 {
		t.Fatalf("no %s event: %s", kind, r.Body)
	}
	return items[0]
}

func TestRegistrationActivationSignIn(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		m := newMailEnv(t, testserver.Options{Backend: backend})
		c := m.Client()
		if r := c.Do("GET", "/api/auth/state", nil); r.JSON["registration_open"] != true {
			t.Fatalf("state: %s", r.Body)
		}
		r := c.Do("POST", "/api/auth/register", map[string]string{"username": "Dana", "email": "Dana@Example.com", "password": "dana password 1"})
		if r.Status != 202 || r.Str("status") != "activation_required" {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		if r.Header.Get("Set-Cookie") != "" || r.JSON["access_token"] != nil {
			t.Fatal("registration signed the pending account in")
		}
		// Before activation: a wrong password says nothing more than for any account...
		if r := m.Client().Do("POST", "/api/auth/login", map[string]string{"login": "dana", "password": "wrong password"}); r.Status != 401 || r.Code() != "invalid_credentials" {
			t.Fatalf("wrong password on a pending account: %d %s", r.Status, r.Body)
		}
		// ...and only the right one learns that the account waits for activation.
		if r := m.Client().Do("POST", "/api/auth/login", map[string]string{"login": "dana", "password": "dana password 1"}); r.Status != 403 || r.Code() != gatehouse.EAccountPending {
			t.Fatalf("pending sign-in: %d %s", r.Status, r.Body)
		}
		pending := m.admin.Do("GET", "/api/admin/users/pending", nil)
		if items := pending.Users().Items; len(items) != 1 || items[0].Username != "dana" || !items[0].Pending {
			t.Fatalf("pending users: %s", pending.Body)
		}
		if m.deliver() != 1 {
			t.Fatal("the activation mail was not sent")
		}
		msg := m.only("dana@example.com", 1)[0]
		if msg.Subject != "Activate your Example Gate account" {
			t.Fatalf("subject %q", msg.Subject)
		}
		if !strings.Contains(msg.Text, "24 hours") {
			t.Fatalf("the mail does not say how long the link works:\n%s", msg.Text)
		}
		tok := m.linkToken(msg, "/activate")
		if r := c.Do("POST", "/api/auth/activate", map[string]string{"token": tok + "x"}); r.Status != 400 || r.Field() != "token" {
			t.Fatalf("a wrong token: %d %s", r.Status, r.Body)
		}
		if r := c.Do("POST", "/api/auth/activate", map[string]string{"token": tok}); r.Status != 200 || r.Str("username") != "dana" {
			t.Fatalf("activate: %d %s", r.Status, r.Body)
		}
		if r := c.Do("POST", "/api/auth/activate", map[string]string{"token": tok}); r.Status != 400 || r.Code() != "invalid_input" {
			t.Fatalf("a reused activation link: %d %s", r.Status, r.Body)
		}
		_, login := m.Login("dana@example.com", "dana password 1")
		u := login.User()
		if !u.EmailVerified || u.Pending || u.Role != "user" {
			t.Fatalf("activated user: %s", login.Body)
		}
		if items := m.admin.Do("GET", "/api/admin/users/pending", nil).Users().Items; len(items) != 0 {
			t.Fatalf("still pending after activation: %v", items)
		}
		if ev := hasEvent(t, m.admin, "user.registered"); ev.Data["username"] != "dana" {
			t.Fatalf("user.registered: %v", ev)
		}
		hasEvent(t, m.admin, "user.activated")
	})
}

func TestRegistrationWithoutActivation(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, testserver.Options{Web: true})
	m.admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_register_activation_enabled": false})
	// Seed 004: no activation needed, so registration signs in: tokens and the cookie, as
	// POST /api/auth/login answers.
	c := m.Client()
	r := c.Do("POST", "/api/auth/register", map[string]string{"username": "eve", "email": "eve@example.com", "password": "eve password 12"})
	if r.Status != 201 || r.Str("status") != "active" || r.Str("access_token") == "" || r.Str("refresh_token") == "" || r.Str("token_type") != "Bearer" {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(r.Header.Get("Set-Cookie"), "gatehouse_session=") {
		t.Fatalf("no session cookie: %q", r.Header.Get("Set-Cookie"))
	}
	if me := c.Do("GET", "/api/auth/me", nil); me.Status != 200 || me.User().Username != "eve" {
		t.Fatalf("me by cookie after registration: %d %s", me.Status, me.Body)
	}
	if me := m.Bearer(r.Str("access_token")).Do("GET", "/api/auth/me", nil); me.Status != 200 {
		t.Fatalf("me by bearer after registration: %d", me.Status)
	}
	ev := hasEvent(t, m.admin, gatehouse.EventLoginSucceeded)
	if ev.Data["method"] != "password" {
		t.Fatalf("login.succeeded: %v", ev)
	}
	// The page: registration lands signed in on the security settings.
	b := m.Client()
	b.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	pr := b.Form("/register", url.Values{"username": {"finn"}, "email": {"finn@example.com"}, "password": {"finn password 1"}, "password_confirm": {"finn password 1"}}, "Origin", m.URL)
	if pr.Status != http.StatusSeeOther || pr.Header.Get("Location") != "/settings/security?done=registered" {
		t.Fatalf("register page: %d %q %s", pr.Status, pr.Header.Get("Location"), pr.Body)
	}
	if page := b.Do("GET", "/settings/security?done=registered", nil, "Accept", "text/html"); page.Status != 200 || !strings.Contains(string(page.Body), "you are signed in") {
		t.Fatalf("security page after registration: %d", page.Status)
	}
	_, login := m.Login("eve", "eve password 12")
	if u := login.User(); u.EmailVerified {
		t.Fatalf("an unconfirmed address counts as verified: %s", login.Body)
	}
	if m.deliver() != 0 {
		t.Fatal("mail sent although activation is off")
	}
}

func TestRegistrationSwitchAndFirstAdmin(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	reg := map[string]string{"username": "zed", "email": "zed@example.com", "password": "zed password 12"}
	// No account yet: registration cannot create the first account, setup must.
	if r := e.Client().Do("POST", "/api/auth/register", reg); r.Status != 403 {
		t.Fatalf("register before setup: %d %s", r.Status, r.Body)
	}
	admin, setup := e.Setup("root", "root@example.com", adminPW)
	if u := setup.User(); u.Role != "admin" || u.Pending {
		t.Fatalf("first account: %s", setup.Body)
	}
	// Registration is off by default: refused, and the login page does not offer it.
	if r := e.Client().Do("GET", "/api/auth/state", nil); r.JSON["registration_open"] != false {
		t.Fatalf("state: %s", r.Body)
	}
	if r := e.Client().Do("POST", "/api/auth/register", reg); r.Status != 403 || r.Code() != "forbidden" {
		t.Fatalf("register while closed: %d %s", r.Status, r.Body)
	}
	if n, _ := e.Store.CountUsers(context.Background()); n != 1 {
		t.Fatalf("%d users after a refused registration", n)
	}
	// Turning registration on without mail is allowed through the API, with a warning.
	r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_allow_user_registration": true})
	if w := r.Settings().Warnings; r.Status != 200 || len(w) != 1 || !strings.Contains(w[0], "mail delivery is not configured") {
		t.Fatalf("enabling registration without mail: %d %s", r.Status, r.Body)
	}
	admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_allow_user_registration": false})
	// Sign-in and recovery keep working with registration off.
	e.Login("root", adminPW)
	if r := e.Client().Do("POST", "/api/auth/password/forgot", map[string]string{"email": "root@example.com"}); r.Status != 202 {
		t.Fatalf("forgot with registration off: %d %s", r.Status, r.Body)
	}
	// Accounts an administrator creates need no activation.
	e.CreateUser(admin, "made", "made@example.com", "made password 1", "user")
	e.Login("made", "made password 1")
}

func TestRegistrationDoesNotRevealAddresses(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, testserver.Options{})
	m.CreateUser(m.admin, "owner", "owner@example.com", "owner password 1", "user")
	fresh := m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "newcomer", "email": "newcomer@example.com", "password": "a password 123"})
	taken := m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "intruder", "email": "OWNER@example.com", "password": "a password 123"})
	if fresh.Status != taken.Status || string(fresh.Body) != string(taken.Body) {
		t.Fatalf("a taken address answers differently:\nfresh %d %s\ntaken %d %s", fresh.Status, fresh.Body, taken.Status, taken.Body)
	}
	if _, err := m.Store.UserByLogin(context.Background(), "intruder"); !gatehouse.IsCode(err, gatehouse.ENotFound) {
		t.Fatalf("an account was created with a taken address: %v", err)
	}
	// The owner of the address hears about it; nobody gets an activation link for it.
	m.deliver()
	got := m.only("owner@example.com", 1)[0]
	if !strings.Contains(got.Subject, "tried to register") || strings.Contains(got.Text, "token=") {
		t.Fatalf("notice to the owner: %q\n%s", got.Subject, got.Text)
	}
	// Repeating it does not flood the owner's mailbox (resend cooldown).
	m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "intruder2", "email": "owner@example.com", "password": "a password 123"})
	m.deliver()
	m.only("owner@example.com", 1)
	// A username is public by nature: a taken one is refused, naming the field.
	if r := m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "OWNER", "email": "else@example.com", "password": "a password 123"}); r.Status != 409 || r.Field() != "username" {
		t.Fatalf("taken username: %d %s", r.Status, r.Body)
	}
	// Bad input: right status, field named, nothing created.
	for _, tc := range []struct {
		body  map[string]string
		field string
	}{
		{map[string]string{"username": "ok", "email": "not-an-address", "password": "a password 123"}, "email"},
		{map[string]string{"username": "ok", "email": "ok@example.com", "password": "short"}, "password"},
		{map[string]string{"username": "@bad", "email": "ok@example.com", "password": "a password 123"}, "username"},
	} {
		if r := m.Client().Do("POST", "/api/auth/register", tc.body); r.Status != 400 || r.Field() != tc.field {
			t.Fatalf("register %v: %d %s, want 400 on %s", tc.body, r.Status, r.Body, tc.field)
		}
	}
	if n, _ := m.Store.CountUsers(context.Background()); n != 3 { // root, owner, newcomer
		t.Fatalf("%d users, want 3", n)
	}
}

func TestActivationResendCooldownAndExpiry(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, testserver.Options{})
	c := m.Client()
	c.Do("POST", "/api/auth/register", map[string]string{"username": "finn", "email": "finn@example.com", "password": "finn password 1"})
	m.deliver()
	first := m.linkToken(m.only("finn@example.com", 1)[0], "/activate")
	// Within the cooldown a resend is accepted but sends nothing.
	if r := c.Do("POST", "/api/auth/activate/resend", map[string]string{"login": "finn"}); r.Status != 202 {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	m.deliver()
	m.only("finn@example.com", 1)
	// Unknown accounts get the same answer.
	if r := c.Do("POST", "/api/auth/activate/resend", map[string]string{"login": "nobody"}); r.Status != 202 {
		t.Fatalf("resend for nobody: %d %s", r.Status, r.Body)
	}
	m.Clock.Advance(61 * time.Second)
	c.Do("POST", "/api/auth/activate/resend", map[string]string{"login": "finn@example.com"})
	m.deliver()
	second := m.linkToken(m.only("finn@example.com", 2)[1], "/activate")
	// Only the newest link works.
	if r := c.Do("POST", "/api/auth/activate", map[string]string{"token": first}); r.Status != 400 {
		t.Fatalf("the replaced link still works: %d %s", r.Status, r.Body)
	}
	// It expires after auth_register_activation_ttl_secs.
	m.Clock.Advance(24 * time.Hour)
	if r := c.Do("POST", "/api/auth/activate", map[string]string{"token": second}); r.Status != 400 || r.Field() != "token" {
		t.Fatalf("an expired activation link: %d %s", r.Status, r.Body)
	}
	if r := m.Client().Do("POST", "/api/auth/login", map[string]string{"login": "finn", "password": "finn password 1"}); r.Code() != gatehouse.EAccountPending {
		t.Fatalf("sign-in after a refused activation: %d %s", r.Status, r.Body)
	}
	// The administrator can send a fresh link (signing in again: a day has passed).
	m.admin, _ = m.Login("root", adminPW)
	pr := m.admin.Do("GET", "/api/admin/users/pending", nil)
	if pr.Status != 200 {
		t.Fatalf("pending users: %d %s", pr.Status, pr.Body)
	}
	pending := pr.Users().Items
	if len(pending) == 0 {
		t.Fatalf("no pending users: %s", pr.Body)
	}
	id := pending[0].ID
	if r := m.admin.Do("POST", "/api/admin/users/"+itoa(id)+"/activation", nil); r.Status != 202 {
		t.Fatalf("admin resend: %d %s", r.Status, r.Body)
	}
	m.deliver()
	third := m.linkToken(m.only("finn@example.com", 3)[2], "/activate")
	if r := c.Do("POST", "/api/auth/activate", map[string]string{"token": third}); r.Status != 200 {
		t.Fatalf("activate with the admin's link: %d %s", r.Status, r.Body)
	}
	m.Login("finn", "finn password 1")
	if r := m.admin.Do("POST", "/api/admin/users/"+itoa(id)+"/activation", nil); r.Status != 409 {
		t.Fatalf("resend to an active account: %d %s", r.Status, r.Body)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestRecoveryEndToEnd(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		m := newMailEnv(t, testserver.Options{Backend: backend})
		m.CreateUser(m.admin, "gus", "gus@example.com", "gus password 1", "user")
		laptop, _ := m.Login("gus", "gus password 1")
		c := m.Client()
		// Unknown address: the same 202, and no mail.
		unknown := c.Do("POST", "/api/auth/password/forgot", map[string]string{"email": "nobody@example.com"})
		known := c.Do("POST", "/api/auth/password/forgot", map[string]string{"email": "GUS@example.com"})
		if unknown.Status != 202 || known.Status != 202 || string(unknown.Body) != string(known.Body) {
			t.Fatalf("forgot answers differ: %d %s / %d %s", unknown.Status, unknown.Body, known.Status, known.Body)
		}
		if m.deliver() != 1 {
			t.Fatal("want exactly one mail: the known address")
		}
		msg := m.only("gus@example.com", 1)[0]
		first := m.linkToken(msg, "/recover/reset")
		if !strings.Contains(msg.Text, "1 hour") {
			t.Fatalf("mail does not state the lifetime:\n%s", msg.Text)
		}
		// Cooldown: a second request within auth_password_reset_request_cooldown_secs sends nothing.
		c.Do("POST", "/api/auth/password/forgot", map[string]string{"email": "gus@example.com"})
		m.deliver()
		m.only("gus@example.com", 1)
		m.Clock.Advance(60 * time.Second)
		c.Do("POST", "/api/auth/password/forgot", map[string]string{"email": "gus@example.com"})
		m.deliver()
		tok := m.linkToken(m.only("gus@example.com", 2)[1], "/recover/reset")
		if r := c.Do("POST", "/api/auth/password/reset", map[string]string{"token": first, "password": "gus new password"}); r.Status != 400 || r.Field() != "token" {
			t.Fatalf("the superseded link: %d %s", r.Status, r.Body)
		}
		// Bad password: refused, link not spent.
		if r := c.Do("POST", "/api/auth/password/reset", map[string]string{"token": tok, "password": "short"}); r.Status != 400 || r.Field() != "password" {
			t.Fatalf("short password: %d %s", r.Status, r.Body)
		}
		if r := c.Do("POST", "/api/auth/password/reset", map[string]string{"token": tok, "password": "gus new password"}); r.Status != 204 {
			t.Fatalf("reset: %d %s", r.Status, r.Body)
		}
		// Every session of the user ended.
		if r := laptop.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("a session survived the reset: %d", r.Status)
		}
		if r := c.Do("POST", "/api/auth/password/reset", map[string]string{"token": tok, "password": "gus third password"}); r.Status != 400 {
			t.Fatalf("a reused reset link: %d %s", r.Status, r.Body)
		}
		if r := m.Client().Do("POST", "/api/auth/login", map[string]string{"login": "gus", "password": "gus password 1"}); r.Status != 401 {
			t.Fatalf("old password still works: %d", r.Status)
		}
		m.Login("gus", "gus new password")
		ev := hasEvent(t, m.admin, "password.reset")
		if d := ev.Data; d["via"] != "mail" || d["sessions_ended"] != float64(1) {
			t.Fatalf("password.reset event: %v", ev)
		}
		// The logout events carry the reason.
		logout := hasEvent(t, m.admin, "logout")
		if logout.Data["reason"] != gatehouse.ReasonPasswordReset {
			t.Fatalf("logout event: %v", logout)
		}
		// A link expires after auth_password_reset_ttl_secs.
		m.Clock.Advance(time.Minute)
		c.Do("POST", "/api/auth/password/forgot", map[string]string{"email": "gus@example.com"})
		m.deliver()
		late := m.linkToken(m.only("gus@example.com", 3)[2], "/recover/reset")
		m.Clock.Advance(time.Hour + time.Second)
		if r := c.Do("POST", "/api/auth/password/reset", map[string]string{"token": late, "password": "gus late password"}); r.Status != 400 {
			t.Fatalf("an expired reset link: %d %s", r.Status, r.Body)
		}
	})
}

func TestRecoveryOnlyForActiveAccounts(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, testserver.Options{})
	id := m.CreateUser(m.admin, "hal", "hal@example.com", "hal password 1", "user")
	m.admin.Do("PATCH", "/api/admin/users/"+itoa(id), map[string]any{"disabled": true})
	if r := m.Client().Do("POST", "/api/auth/password/forgot", map[string]string{"email": "hal@example.com"}); r.Status != 202 {
		t.Fatalf("forgot for a disabled account: %d", r.Status)
	}
	if r := m.Client().Do("POST", "/api/auth/password/forgot", map[string]string{"email": ""}); r.Status != 400 || r.Field() != "email" {
		t.Fatalf("forgot without an address: %d %s", r.Status, r.Body)
	}
	m.deliver()
	m.only("hal@example.com", 0)
}

func TestRecoveryTakesBackASquattedAddress(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		m := newMailEnv(t, testserver.Options{Backend: backend})
		// Someone registers another person's address first, with a password they know.
		m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "squatter", "email": "vic@example.com", "password": "squatter pass 1"})
		m.deliver()
		// The address's owner asks for recovery: they get a reset link, and using it activates the
		// account with the password they choose.
		if r := m.Client().Do("POST", "/api/auth/password/forgot", map[string]string{"email": "vic@example.com"}); r.Status != 202 {
			t.Fatalf("forgot: %d", r.Status)
		}
		m.deliver()
		msgs := m.only("vic@example.com", 2)
		tok := m.linkToken(msgs[1], "/recover/reset")
		if r := m.Client().Do("POST", "/api/auth/password/reset", map[string]string{"token": tok, "password": "vic own password"}); r.Status != 204 {
			t.Fatalf("reset: %d %s", r.Status, r.Body)
		}
		if r := m.Client().Do("POST", "/api/auth/login", map[string]string{"login": "vic@example.com", "password": "squatter pass 1"}); r.Status != 401 {
			t.Fatalf("the registrant's password still works: %d", r.Status)
		}
		_, r := m.Login("vic@example.com", "vic own password")
		if u := r.User(); u.Pending || !u.EmailVerified {
			t.Fatalf("after recovery: %s", r.Body)
		}
		if ev := hasEvent(t, m.admin, "user.activated"); ev.Data["via"] != "password_reset" {
			t.Fatalf("user.activated: %v", ev)
		}
	})
}

func TestLinksIgnoreTheHostHeader(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, testserver.Options{PublicURL: "https://auth.example.test/gate"})
	m.CreateUser(m.admin, "ivy", "ivy@example.com", "ivy password 1", "user")
	// Go's client takes the Host header from req.Host, not from req.Header.
	req, _ := http.NewRequest("POST", m.URL+"/api/auth/password/forgot", strings.NewReader(`{"email":"ivy@example.com"}`))
	req.Host = "evil.example"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("Forwarded", "host=evil.example;proto=http")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("forgot with a poisoned Host: %d", resp.StatusCode)
	}
	m.deliver()
	msg := m.only("ivy@example.com", 1)[0]
	if strings.Contains(msg.Text+msg.HTML, "evil.example") {
		t.Fatalf("the mail follows the Host header:\n%s", msg.Text)
	}
	if link := msg.Link("/recover/reset"); !strings.HasPrefix(link, "https://auth.example.test/gate/recover/reset?token=") {
		t.Fatalf("link %q is not on the public URL", link)
	}
}

func TestOutageLosesNoMail(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		m := newMailEnv(t, testserver.Options{Backend: backend})
		m.CreateUser(m.admin, "jo", "jo@example.com", "jo password 12", "user")
		m.smtp.Stop()
		// The request does not wait for the mail server.
		start := time.Now()
		if r := m.Client().Do("POST", "/api/auth/password/forgot", map[string]string{"email": "jo@example.com"}); r.Status != 202 {
			t.Fatalf("forgot during the outage: %d %s", r.Status, r.Body)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("forgot took %v during an outage", d)
		}
		if m.deliver() != 0 {
			t.Fatal("delivered during the outage")
		}
		// The administrator sees the failed attempt and the server's error.
		r := m.admin.Do("GET", "/api/admin/mail/outbox", nil)
		ob := testserver.Decode[testserver.Outbox](r)
		if len(ob.Items) != 1 || !ob.MailConfigured {
			t.Fatalf("outbox: %s", r.Body)
		}
		it := ob.Items[0]
		if it.Status != "queued" || it.Attempts != 1 || it.LastError == "" || it.To != "jo@example.com" {
			t.Fatalf("outbox entry during the outage: %+v", it)
		}
		if _, ok := testserver.Items[map[string]any](r)[0]["text"]; ok {
			t.Fatal("the outbox API shows mail bodies (live links)")
		}
		m.smtp.Restart()
		// Retried after the backoff, not before.
		if m.deliver() != 0 {
			t.Fatal("retried before the backoff ended")
		}
		m.Clock.Advance(mail.Backoff(1))
		if m.deliver() != 1 {
			t.Fatal("the queued mail was not delivered after the outage")
		}
		tok := m.linkToken(m.only("jo@example.com", 1)[0], "/recover/reset")
		if r := m.Client().Do("POST", "/api/auth/password/reset", map[string]string{"token": tok, "password": "jo new password"}); r.Status != 204 {
			t.Fatalf("reset with the late mail: %d %s", r.Status, r.Body)
		}
		if r := m.admin.Do("GET", "/api/admin/mail/outbox?status=sent", nil); len(testserver.Decode[testserver.Outbox](r).Items) != 1 {
			t.Fatalf("sent mail: %s", r.Body)
		}
	})
}

func TestEmailChange(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		m := newMailEnv(t, testserver.Options{Backend: backend})
		m.CreateUser(m.admin, "kim", "kim@example.com", "kim password 1", "user")
		m.CreateUser(m.admin, "lee", "lee@example.com", "lee password 1", "user")
		kim, _ := m.Login("kim", "kim password 1")
		if r := kim.Do("POST", "/api/account/email", map[string]string{"email": "kim.new@example.com", "password": "wrong password"}); r.Status != 401 || r.Field() != "password" {
			t.Fatalf("wrong password: %d %s", r.Status, r.Body)
		}
		if r := kim.Do("POST", "/api/account/email", map[string]string{"email": "LEE@example.com", "password": "kim password 1"}); r.Status != 409 || r.Field() != "email" {
			t.Fatalf("an address in use: %d %s", r.Status, r.Body)
		}
		if r := kim.Do("POST", "/api/account/email", map[string]string{"email": "nope", "password": "kim password 1"}); r.Status != 400 || r.Field() != "email" {
			t.Fatalf("a bad address: %d %s", r.Status, r.Body)
		}
		if r := m.Client().Do("POST", "/api/account/email", map[string]string{"email": "x@example.com", "password": "kim password 1"}); r.Status != 401 {
			t.Fatalf("without a session: %d", r.Status)
		}
		if r := kim.Do("POST", "/api/account/email", map[string]string{"email": "Kim.New@example.com", "password": "kim password 1"}); r.Status != 202 {
			t.Fatalf("request: %d %s", r.Status, r.Body)
		}
		if m.deliver() != 2 {
			t.Fatal("want a confirmation and a notice")
		}
		notice := m.only("kim@example.com", 1)[0]
		if !strings.Contains(notice.Text, "kim.new@example.com") || strings.Contains(notice.Text, "token=") {
			t.Fatalf("notice to the old address:\n%s", notice.Text)
		}
		tok := m.linkToken(m.only("kim.new@example.com", 1)[0], "/settings/email/confirm")
		// Nothing changes until the link is used.
		if r := kim.Do("GET", "/api/auth/me", nil); r.User().Email != "kim@example.com" {
			t.Fatalf("changed before confirmation: %s", r.Body)
		}
		if r := m.Client().Do("POST", "/api/account/email/confirm", map[string]string{"token": tok}); r.Status != 200 || r.Str("email") != "kim.new@example.com" {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		if r := kim.Do("GET", "/api/auth/me", nil); r.User().Email != "kim.new@example.com" {
			t.Fatalf("after confirmation: %s", r.Body)
		}
		if r := m.Client().Do("POST", "/api/account/email/confirm", map[string]string{"token": tok}); r.Status != 400 {
			t.Fatalf("reused confirmation link: %d %s", r.Status, r.Body)
		}
		m.Login("kim.new@example.com", "kim password 1")
		hasEvent(t, m.admin, "email.changed")
		// An expired confirmation link is refused.
		m.Clock.Advance(time.Minute)
		kim.Do("POST", "/api/account/email", map[string]string{"email": "kim3@example.com", "password": "kim password 1"})
		m.deliver()
		late := m.linkToken(m.only("kim3@example.com", 1)[0], "/settings/email/confirm")
		m.Clock.Advance(24*time.Hour + time.Second)
		if r := m.Client().Do("POST", "/api/account/email/confirm", map[string]string{"token": late}); r.Status != 400 {
			t.Fatalf("expired confirmation: %d %s", r.Status, r.Body)
		}
	})
}

func TestAdminMailTest(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, testserver.Options{})
	m.admin.Do("PATCH", "/api/admin/settings", map[string]any{"mail_smtp_password": "s3cret-pass"})
	if r := m.admin.Do("GET", "/api/admin/settings", nil); strings.Contains(string(r.Body), "s3cret-pass") {
		t.Fatal("the SMTP password is readable through the API")
	}
	m.admin.Do("PATCH", "/api/admin/settings", map[string]any{"mail_smtp_username": "", "mail_smtp_password": ""})
	r := m.admin.Do("POST", "/api/admin/mail/test", map[string]string{"to": "ops@example.com"})
	if r.Status != 200 || !strings.Contains(r.Str("server_response"), "queued") {
		t.Fatalf("test mail: %d %s", r.Status, r.Body)
	}
	if got := m.only("ops@example.com", 1)[0]; got.Subject != "Test mail from Example Gate" {
		t.Fatalf("subject %q", got.Subject)
	}
	m.smtp.Refuse("4.3.0 relay temporarily unavailable")
	r = m.admin.Do("POST", "/api/admin/mail/test", map[string]string{"to": "ops@example.com"})
	if r.Status != 502 || r.Code() != gatehouse.EMailFailed || !strings.Contains(string(r.Body), "relay temporarily unavailable") {
		t.Fatalf("test mail against a refusing server: %d %s", r.Status, r.Body)
	}
	if r := m.admin.Do("POST", "/api/admin/mail/test", map[string]string{"to": "bad"}); r.Status != 400 || r.Field() != "to" {
		t.Fatalf("bad address: %d %s", r.Status, r.Body)
	}
	user := m.CreateUser(m.admin, "mo", "mo@example.com", "mo password 12", "user")
	_ = user
	mo, _ := m.Login("mo", "mo password 12")
	if r := mo.Do("POST", "/api/admin/mail/test", map[string]string{"to": "ops@example.com"}); r.Status != 403 {
		t.Fatalf("a user sends test mail: %d", r.Status)
	}
	if r := mo.Do("GET", "/api/admin/mail/outbox", nil); r.Status != 403 {
		t.Fatalf("a user reads the outbox: %d", r.Status)
	}
	hasEvent(t, m.admin, "admin.mail_test_sent")
}

// A user locked out by guesses at their account gets back in by proving the mailbox: the reset
// clears the account's sign-in budget.
func TestRecoveryClearsTheAccountLockout(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, testserver.Options{})
	m.CreateUser(m.admin, "hal", "hal@example.com", "hal password 1", "user")
	c := m.Client()
	for i := range 100 {
		c.Do("POST", "/api/auth/login", map[string]string{"login": "hal", "password": "a guess"}, "X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", i/200, i%200+1))
	}
	if r := c.Do("POST", "/api/auth/login", map[string]string{"login": "hal", "password": "hal password 1"}, "X-Forwarded-For", "203.0.113.9"); r.Status != 429 {
		t.Fatalf("the account should be locked by now: %d", r.Status)
	}
	c.Do("POST", "/api/auth/password/forgot", map[string]string{"email": "hal@example.com"})
	m.deliver()
	tok := m.linkToken(m.only("hal@example.com", 1)[0], "/recover/reset")
	if r := c.Do("POST", "/api/auth/password/reset", map[string]string{"token": tok, "password": "hal new password"}); r.Status != 204 {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	if r := c.Do("POST", "/api/auth/login", map[string]string{"login": "hal", "password": "hal new password"}, "X-Forwarded-For", "203.0.113.9"); r.Status != 200 {
		t.Fatalf("sign-in after the reset: %d %s", r.Status, r.Body)
	}
}

// Account pre-hijacking: someone registers another person's address (activation off, so the
// account works at once) and adds a passkey of their own. When the address's owner recovers the
// account by mail, the squatter's ways in are gone, not just their password.
func TestRecoveryRemovesASquattersPasskey(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, testserver.Options{Localhost: true})
	if r := m.admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_register_activation_enabled": false}); r.Status != 200 && r.Status != 204 {
		t.Fatalf("activation off: %d %s", r.Status, r.Body)
	}
	if r := m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "squatter", "email": "vic@example.com", "password": "squatter pass 1"}); r.Status/100 != 2 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	squatter, _ := m.Login("squatter", "squatter pass 1")
	key := webauthntest.New(m.URL)
	if r := registerPasskey(t, squatter, key, "squatter's key"); r.Status != 201 {
		t.Fatalf("squatter's passkey: %d %s", r.Status, r.Body)
	}
	m.deliver()
	m.Client().Do("POST", "/api/auth/password/forgot", map[string]string{"email": "vic@example.com"})
	m.deliver()
	msgs := m.smtp.To("vic@example.com")
	if len(msgs) == 0 {
		t.Fatal("no reset mail")
	}
	tok := m.linkToken(msgs[len(msgs)-1], "/recover/reset")
	if r := m.Client().Do("POST", "/api/auth/password/reset", map[string]string{"token": tok, "password": "vic own password"}); r.Status != 204 {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	if _, r := passkeySignIn(t, m.Env, key); r.Status == 200 {
		t.Fatal("the squatter's passkey still signs in after the owner recovered the account")
	}
	ev := hasEvent(t, m.admin, "password.reset")
	if d := ev.Data; d["address_was_unverified"] != true || d["passkeys_removed"] != float64(1) {
		t.Fatalf("password.reset event: %v", ev)
	}
}

// A reset link mailed to the old address dies when the address changes, by the user's confirmed
// change or by an administrator: the old mailbox is what is no longer trusted.
func TestEmailChangeKillsLinksToTheOldAddress(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		m := newMailEnv(t, testserver.Options{Backend: backend})
		id := m.CreateUser(m.admin, "kim", "kim@example.com", "kim password 1", "user")
		kim, _ := m.Login("kim", "kim password 1")
		resetLink := func(addr string, n int) string {
			m.Clock.Advance(2 * time.Minute) // past the request cooldown
			m.Client().Do("POST", "/api/auth/password/forgot", map[string]string{"email": addr})
			m.deliver()
			got := m.smtp.To(addr)
			if len(got) < n {
				t.Fatalf("no reset mail to %s", addr)
			}
			return m.linkToken(got[len(got)-1], "/recover/reset")
		}
		old := resetLink("kim@example.com", 1)
		kim.Do("POST", "/api/account/email", map[string]string{"email": "kim.new@example.com", "password": "kim password 1"})
		m.deliver()
		tok := m.linkToken(m.only("kim.new@example.com", 1)[0], "/settings/email/confirm")
		if r := m.Client().Do("POST", "/api/account/email/confirm", map[string]string{"token": tok}); r.Status != 200 {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		if r := m.Client().Do("POST", "/api/auth/password/reset", map[string]string{"token": old, "password": "a stolen new password"}); r.Status != 400 {
			t.Fatalf("a reset link to the old address after the change: %d %s", r.Status, r.Body)
		}
		// The same when an administrator changes the address.
		old = resetLink("kim.new@example.com", 2)
		if r := m.admin.Do("PATCH", "/api/admin/users/"+itoa(id), map[string]string{"email": "kim.third@example.com"}); r.Status != 200 {
			t.Fatalf("admin change: %d %s", r.Status, r.Body)
		}
		if r := m.Client().Do("POST", "/api/auth/password/reset", map[string]string{"token": old, "password": "a stolen new password"}); r.Status != 400 {
			t.Fatalf("a reset link to the old address after an admin change: %d %s", r.Status, r.Body)
		}
	})
}

// Seed 000 lists the mail templates under Mail Delivery: an administrator edits subject, text and
// HTML of each mail, previews it with sample data, is refused a template that does not parse or
// drops the link, and can go back to the default. Real mail then uses the edited template.
func TestMailTemplates(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, testserver.Options{})
	r := m.admin.Do("GET", "/api/admin/mail/templates", nil)
	type source struct {
		Subject string `json:"subject"`
		Text    string `json:"text"`
		HTML    string `json:"html"`
	}
	type template struct {
		Kind       string `json:"kind"`
		Customized bool   `json:"customized"`
		NeedsLink  bool   `json:"needs_link"`
		Default    source `json:"default"`
	}
	kinds := map[string]*template{}
	for _, v := range testserver.Items[*template](r) {
		kinds[v.Kind] = v
	}
	for _, k := range []string{"activation", "password_reset", "email_change_confirm", "email_change_notice", "external_verify", "test"} {
		if kinds[k] == nil || kinds[k].Customized {
			t.Fatalf("template %s: %s", k, r.Body)
		}
	}
	def := kinds["password_reset"].Default
	if !strings.Contains(def.Text, "{{.Link}}") || !kinds["password_reset"].NeedsLink {
		t.Fatalf("default source: %+v", def)
	}
	// The unchanged default previews as the real mail looks.
	p := m.admin.Do("POST", "/api/admin/mail/templates/password_reset/preview", def)
	if p.Status != 200 || !strings.Contains(p.Str("text"), "SAMPLE-TOKEN") || !strings.Contains(p.Str("html"), "SAMPLE-TOKEN") || p.Str("subject") == "" {
		t.Fatalf("preview of the default: %d %s", p.Status, p.Body)
	}
	edited := map[string]string{"subject": "Reset for {{.Username}} at {{.SiteName}}",
		"text": "Hi {{.Username}}! Reset here: {{.Link}} (valid {{.ExpiresIn}})", "html": `<p>Hi {{.Username}}, <a href="{{.Link}}">reset</a></p>`}
	with := func(k, v string) map[string]string {
		c := map[string]string{}
		for a, b := range edited {
			c[a] = b
		}
		c[k] = v
		return c
	}
	for _, bad := range []struct {
		body  map[string]string
		field string
		says  string
	}{
		{with("text", "Reset: {{.Link"), "text", "does not parse"},
		{with("html", "<p>{{if .Link}}</p>"), "html", "does not parse"},
		{with("text", "Reset: {{.Nmae}} {{.Link}}"), "text", "Nmae"},
		{with("text", "Reset your password somewhere"), "text", "must contain the link"},
		{with("html", "<p>no link</p>"), "html", "must contain the link"},
		{with("subject", "two\nlines"), "subject", "one line"},
		{with("subject", ""), "subject", "must not be empty"},
	} {
		for _, how := range []string{"POST preview", "PUT"} {
			path := "/api/admin/mail/templates/password_reset"
			method := "PUT"
			if how == "POST preview" {
				method, path = "POST", path+"/preview"
			}
			r := m.admin.Do(method, path, bad.body)
			if r.Status != 400 || r.Field() != bad.field || !strings.Contains(string(r.Body), bad.says) {
				t.Errorf("%s %v: %d %s, want 400 naming %s (%s)", how, bad.body, r.Status, r.Body, bad.field, bad.says)
			}
		}
	}
	if r := m.admin.Do("GET", "/api/admin/mail/templates/password_reset", nil); r.JSON["customized"] != false {
		t.Fatalf("a refused template was saved: %s", r.Body)
	}
	if r := m.admin.Do("PUT", "/api/admin/mail/templates/nope", edited); r.Status != 404 {
		t.Fatalf("unknown kind: %d", r.Status)
	}
	// The notice mail has no link to keep.
	if r := m.admin.Do("POST", "/api/admin/mail/templates/email_change_notice/preview", with("text", "Your address changed.")); r.Status != 200 {
		t.Fatalf("notice without link: %d %s", r.Status, r.Body)
	}
	// Saved: real mail uses it.
	if r := m.admin.Do("PUT", "/api/admin/mail/templates/password_reset", edited); r.Status != 200 || r.JSON["customized"] != true {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	m.CreateUser(m.admin, "gus", "gus@example.com", "gus password 1", "user")
	m.Client().Do("POST", "/api/auth/password/forgot", map[string]string{"email": "gus@example.com"})
	m.deliver()
	msg := m.only("gus@example.com", 1)[0]
	if msg.Subject != "Reset for gus at Example Gate" || !strings.HasPrefix(msg.Text, "Hi gus! Reset here: ") {
		t.Fatalf("edited mail: %q\n%s", msg.Subject, msg.Text)
	}
	tok := m.linkToken(msg, "/recover/reset")
	if r := m.Client().Do("POST", "/api/auth/password/reset", map[string]string{"token": tok, "password": "gus new password"}); r.Status != 204 {
		t.Fatalf("the edited mail's link: %d %s", r.Status, r.Body)
	}
	// A user's name is escaped in the HTML part.
	if !strings.Contains(msg.HTML, "Hi gus,") {
		t.Fatalf("HTML part: %s", msg.HTML)
	}
	// Reset: the default again.
	if r := m.admin.Do("DELETE", "/api/admin/mail/templates/password_reset", nil); r.Status != 200 || r.JSON["customized"] != false {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	m.Clock.Advance(time.Hour)
	m.Client().Do("POST", "/api/auth/password/forgot", map[string]string{"email": "gus@example.com"})
	m.deliver()
	if msg := m.only("gus@example.com", 2)[1]; strings.HasPrefix(msg.Subject, "Reset for") {
		t.Fatalf("after reset: %q", msg.Subject)
	}
	ev := hasEvent(t, m.admin, gatehouse.EventMailTemplateChanged)
	if d := ev.Data; d["kind"] != "password_reset" || d["reset"] != true {
		t.Fatalf("event: %v", ev)
	}
	// Users cannot.
	u, _ := m.Login("gus", "gus new password")
	if r := u.Do("GET", "/api/admin/mail/templates", nil); r.Status != 403 {
		t.Fatalf("user: %d", r.Status)
	}
}
