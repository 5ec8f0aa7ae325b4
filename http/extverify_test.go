package http_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/oidctest"
	"github.com/gatehouse/gatehouse/internal/smtptest"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// Linking an external identity by proving the email address: a real OpenID provider on loopback,
// a real SMTP server on loopback, both database backends.

// verifyEnv is an extEnv whose mail goes to a real SMTP server.
type verifyEnv struct {
	*extEnv
	smtp *smtptest.Server
}

func newVerifyEnv(t *testing.T, backend string) *verifyEnv {
	t.Helper()
	x := newExtEnv(t, backend, nil)
	smtp := smtptest.Start(t)
	r := x.admin.Do("PATCH", "/api/admin/settings", map[string]any{
		"mail_smtp_host": smtp.Host, "mail_smtp_port": smtp.Port, "mail_smtp_tls": "none",
		"mail_from": "Gatehouse <gatehouse@example.com>", "site_name": "Example Gate",
	})
	if r.Status != 204 && r.Status != 200 {
		t.Fatalf("configuring mail: %d %s", r.Status, r.Body)
	}
	return &verifyEnv{extEnv: x, smtp: smtp}
}

func (v *verifyEnv) deliver(t *testing.T) {
	t.Helper()
	if _, err := v.e.Auth.Core.Mail().Tick(context.Background()); err != nil {
		t.Fatalf("delivering mail: %v", err)
	}
}

// notLinked signs in at the provider as sub/email and expects the not-linked page with the offer.
func (v *verifyEnv) notLinked(t *testing.T, sub, email, masked string) *browser {
	t.Helper()
	v.op.Queue(oidctest.User{Subject: sub, Email: email, EmailVerified: true})
	b := v.browser()
	st, _, body := b.signIn(t, "/admin/events")
	if st != http.StatusForbidden || !strings.Contains(body, `id="external-verify"`) || !strings.Contains(body, "Send a verification link to "+masked) {
		t.Fatalf("not-linked page for %s: %d %s", email, st, body)
	}
	if strings.Contains(body, email) {
		t.Fatalf("the page shows the whole address %s", email)
	}
	return b
}

// post submits a page form (Accept: text/html) and returns status, Location and body.
func (b *browser) post(t *testing.T, path string, form url.Values, hdr ...string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", b.E.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.HTTP.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// askMail presses "Send a verification link" and returns the page.
func (b *browser) askMail(t *testing.T) (int, string) {
	t.Helper()
	st, _, body := b.post(t, "/api/auth/oidc/verify-email", nil)
	return st, body
}

// mailedToken returns the token of the n-th (from 1) verification mail to addr.
func (v *verifyEnv) mailedToken(t *testing.T, addr string, n int) string {
	t.Helper()
	v.deliver(t)
	msgs := v.smtp.To(addr)
	if len(msgs) != n {
		t.Fatalf("%d mails to %s, want %d", len(msgs), addr, n)
	}
	m := msgs[n-1]
	if !strings.Contains(m.Subject, "Test OP") || !strings.Contains(m.Subject, "Example Gate") {
		t.Fatalf("subject %q", m.Subject)
	}
	link := m.Link("/login/external/verify")
	pub := strings.TrimSuffix(v.e.Public.String(), "/")
	if !strings.HasPrefix(link, pub+"/login/external/verify?token=") {
		t.Fatalf("link %q is not under the public URL %s", link, pub)
	}
	u, _ := url.Parse(link)
	tok := u.Query().Get("token")
	if len(tok) < 20 || !strings.Contains(m.HTML, tok) {
		t.Fatalf("bad token %q or HTML part without it", tok)
	}
	return tok
}

func TestExternalVerifyByMail(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		v := newVerifyEnv(t, backend)
		carol := v.e.CreateUser(v.admin, "carol", "carol@example.com", "carol password 1", "user")
		b := v.notLinked(t, "sub-carol", "Carol@Example.com", "c***@example.com")
		st, body := b.askMail(t)
		if st != http.StatusAccepted || !strings.Contains(body, "c***@example.com") {
			t.Fatalf("asking for the mail: %d %s", st, body)
		}
		tok := v.mailedToken(t, "carol@example.com", 1)
		if len(v.admin.EventsOf(t, gatehouse.EventIdentityVerifySent)) != 1 {
			t.Fatal("no identity.verification_sent event")
		}

		// The link is opened in another browser (say, the phone's mail app): the mailbox is the
		// proof, so it works there. Opening it changes nothing.
		other := v.browser()
		st, _, body = other.Page(t, "/login/external/verify?token="+url.QueryEscape(tok))
		if st != http.StatusOK || !strings.Contains(body, `name="token" value="`+tok+`"`) || !strings.Contains(body, "Link and sign in") ||
			!strings.Contains(body, "<strong>Test OP</strong> account <strong>carol@example.com</strong> to your account <strong>carol</strong>") {
			t.Fatalf("link page: %d %s", st, body)
		}
		req, _ := http.NewRequest("GET", v.e.URL+"/login/external/verify?token="+url.QueryEscape(tok), nil)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("link page Referrer-Policy: %v %v", err, resp.Header)
		}
		if r := v.admin.Do("GET", "/api/admin/events?kind="+gatehouse.EventIdentityBound, nil); len(r.Events().Items) != 0 {
			t.Fatal("opening the link bound the identity")
		}

		st, loc, body := other.post(t, "/login/external/verify", url.Values{"token": {tok}})
		if st != http.StatusSeeOther || !strings.HasSuffix(loc, "/admin/events") {
			t.Fatalf("confirming: %d %q %s", st, loc, body)
		}
		if name, _ := other.Me(t); name != "carol" {
			t.Fatalf("signed in as %q", name)
		}
		ev := v.admin.EventsOf(t, gatehouse.EventIdentityBound)
		if len(ev) != 1 || ev[0].Data["how"] != "email_verification" || ev[0].UID() != carol {
			t.Fatalf("identity.bound: %v", ev)
		}
		if len(v.admin.EventsOf(t, gatehouse.EventIdentityVerifyUsed)) != 1 {
			t.Fatal("no identity.verification_used event")
		}
		// Carol proved her address with a password she set herself (the admin made the account
		// verified): the password still works.
		if _, r := v.e.Login("carol", "carol password 1"); r.Status != http.StatusOK {
			t.Fatalf("carol's password after linking: %d %s", r.Status, r.Body)
		}

		// The link works once.
		third := v.browser()
		st, _, body = third.post(t, "/login/external/verify", url.Values{"token": {tok}})
		if st != http.StatusBadRequest || !strings.Contains(body, "invalid, expired or already used") {
			t.Fatalf("used link: %d %s", st, body)
		}
		if name, _ := third.Me(t); name != "" {
			t.Fatalf("a used link signed in as %q", name)
		}

		// From now on the identity signs in by itself.
		v.op.Queue(oidctest.User{Subject: "sub-carol", Email: "carol@example.com"})
		nb := v.browser()
		if st, _, body := nb.signIn(t, ""); st != http.StatusSeeOther {
			t.Fatalf("bound sign-in: %d %s", st, body)
		}
		if name, _ := nb.Me(t); name != "carol" {
			t.Fatalf("bound sign-in as %q", name)
		}
	})
}

func TestExternalVerifyAnswersAlike(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		v := newVerifyEnv(t, backend)
		v.e.CreateUser(v.admin, "carol", "carol@example.com", "carol password 1", "user")

		// An address without an account gets the same offer and the same answer, and no mail.
		b := v.notLinked(t, "sub-nobody", "cora@example.com", "c***@example.com")
		st1, body1 := b.askMail(t)
		b2 := v.notLinked(t, "sub-carol", "carol@example.com", "c***@example.com")
		st2, body2 := b2.askMail(t)
		if st1 != http.StatusAccepted || st1 != st2 || body1 != body2 {
			t.Fatalf("answers differ:\n%d %s\n%d %s", st1, body1, st2, body2)
		}
		v.deliver(t)
		if n := len(v.smtp.To("cora@example.com")); n != 0 {
			t.Fatalf("%d mails to an address without an account", n)
		}
		if n := len(v.smtp.To("carol@example.com")); n != 1 {
			t.Fatalf("%d mails to carol", n)
		}

		// JSON clients get the offer in the error, and the answer as JSON.
		v.op.Queue(oidctest.User{Subject: "sub-carol", Email: "carol@example.com"})
		api := v.browser()
		r := api.Do("GET", "/api/auth/oidc/test-op/start", nil)
		ver := testserver.Decode[struct {
			Verification struct {
				Email    string `json:"email"`
				Endpoint string `json:"endpoint"`
			} `json:"verification"`
		}](r).Verification
		if r.Status != http.StatusForbidden || r.Code() != gatehouse.ENotLinked || ver.Email != "c***@example.com" || ver.Endpoint != "/api/auth/oidc/verify-email" {
			t.Fatalf("JSON not-linked answer: %d %s", r.Status, r.Body)
		}
		// Within the resend cooldown: the same answer, no second mail.
		r = api.Do("POST", "/api/auth/oidc/verify-email", nil)
		if r.Status != http.StatusAccepted || r.Str("email") != "c***@example.com" {
			t.Fatalf("JSON send: %d %s", r.Status, r.Body)
		}
		first := v.mailedToken(t, "carol@example.com", 1)
		// After the cooldown a new mail goes out, and only its link works.
		v.e.Clock.Advance(v.e.Auth.Core.Settings().VerificationCooldown + time.Second)
		if r := api.Do("POST", "/api/auth/oidc/verify-email", nil); r.Status != http.StatusAccepted {
			t.Fatalf("after the cooldown: %d %s", r.Status, r.Body)
		}
		second := v.mailedToken(t, "carol@example.com", 2)
		if r := v.e.Client().Do("POST", "/api/auth/oidc/verify-email/confirm", map[string]string{"token": first}); r.Status != http.StatusBadRequest || r.Code() != gatehouse.EInvalid {
			t.Fatalf("superseded link: %d %s", r.Status, r.Body)
		}

		// A link past its TTL is refused.
		v.e.Clock.Advance(v.e.Auth.Core.Settings().ContactChangeTTL + time.Second)
		c := v.browser()
		if st, _, body := c.Page(t, "/login/external/verify?token="+url.QueryEscape(second)); st != http.StatusBadRequest || !strings.Contains(body, "invalid, expired or already used") {
			t.Fatalf("expired link page: %d %s", st, body)
		}
		if r := v.e.Client().Do("POST", "/api/auth/oidc/verify-email/confirm", map[string]string{"token": second}); r.Status != http.StatusBadRequest {
			t.Fatalf("expired link: %d %s", r.Status, r.Body)
		}
		admin, _ := v.e.Login("admin", adminPW) // the first session has expired meanwhile
		if len(admin.EventsOf(t, gatehouse.EventIdentityBound)) != 0 {
			t.Fatal("an identity was bound")
		}
		// The pending identity has expired too (the browser must sign in again).
		if r := api.Do("POST", "/api/auth/oidc/verify-email", nil); r.Status != http.StatusBadRequest || r.Code() != gatehouse.EInvalid {
			t.Fatalf("expired pending identity: %d %s", r.Status, r.Body)
		}
	})
}

func TestExternalVerifyRefusals(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		v := newVerifyEnv(t, backend)
		dan := v.e.CreateUser(v.admin, "dan", "dan@example.com", "dan password 12", "user")
		b := v.notLinked(t, "sub-dan", "dan@example.com", "d***@example.com")

		// Another browser, without the pending cookie, cannot ask; nor can another site.
		if r := v.browser().Do("POST", "/api/auth/oidc/verify-email", nil); r.Status != http.StatusBadRequest || r.Code() != gatehouse.EInvalid {
			t.Fatalf("without the cookie: %d %s", r.Status, r.Body)
		}
		if st, _, body := b.post(t, "/api/auth/oidc/verify-email", nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); st != http.StatusForbidden {
			t.Fatalf("cross-site request: %d %s", st, body)
		}
		v.deliver(t)
		if n := len(v.smtp.To("dan@example.com")); n != 0 {
			t.Fatalf("%d mails after refused requests", n)
		}

		if st, _ := b.askMail(t); st != http.StatusAccepted {
			t.Fatalf("ask: %d", st)
		}
		tok := v.mailedToken(t, "dan@example.com", 1)
		// Disabled after the mail went out: the link is refused and binds nothing.
		if r := v.admin.Do("PATCH", "/api/admin/users/"+itoa(dan), map[string]any{"disabled": true}); r.Status != http.StatusOK {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		st, _, body := v.browser().post(t, "/login/external/verify", url.Values{"token": {tok}})
		if st != http.StatusForbidden || !strings.Contains(body, "disabled") {
			t.Fatalf("disabled user's link: %d %s", st, body)
		}
		if len(v.admin.EventsOf(t, gatehouse.EventIdentityBound)) != 0 {
			t.Fatal("bound to a disabled user")
		}
		// A disabled user gets no mail at all, with the same answer.
		v.e.Clock.Advance(v.e.Auth.Core.Settings().VerificationCooldown + time.Second)
		if st, body := b.askMail(t); st != http.StatusAccepted || !strings.Contains(body, "d***@example.com") {
			t.Fatalf("ask for a disabled user: %d %s", st, body)
		}
		v.deliver(t)
		if n := len(v.smtp.To("dan@example.com")); n != 1 {
			t.Fatalf("%d mails to a disabled user", n)
		}
	})
}

// An account whose address was never proved may have been registered by someone else with the
// victim's address (pre-hijacking). The mail goes to that address, so its owner proves it; the
// password the registrant chose is removed and their sessions end.
func TestExternalVerifyTakesBackAnUnprovedAccount(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		v := newVerifyEnv(t, backend)
		v.admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_allow_user_registration": true, "auth_register_activation_enabled": false})
		r := v.e.Client().Do("POST", "/api/auth/register", map[string]string{"username": "squatter", "email": "vic@example.com", "password": "squatter pass 12"})
		if r.Status != http.StatusCreated { // activation off: registration signs in (seed 004)
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		squatter, login := v.e.Login("squatter", "squatter pass 12")
		// The squatter also sets up every other way back in: a second factor, a passkey, and an
		// identity of their own at the provider.
		enroll(t, v.e, squatter)
		sid := login.User().ID
		now := v.e.Clock.Now()
		if err := v.e.Store.CreatePasskey(t.Context(), &gatehouse.Passkey{UserID: sid, CredentialID: []byte("squatter-key"), Name: "key",
			Credential: []byte("{}"), CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := v.e.Store.CreateIdentity(t.Context(), &gatehouse.ExternalIdentity{UserID: sid, ProviderID: "test-op", Subject: "sub-squatter",
			Email: "squatter@example.net", BoundAt: now}); err != nil {
			t.Fatal(err)
		}

		b := v.notLinked(t, "sub-vic", "vic@example.com", "v***@example.com")
		if st, _ := b.askMail(t); st != http.StatusAccepted {
			t.Fatal(st)
		}
		tok := v.mailedToken(t, "vic@example.com", 1)
		// The API form of the link.
		vic := v.browser()
		r = vic.Do("POST", "/api/auth/oidc/verify-email/confirm", map[string]string{"token": tok})
		if r.Status != http.StatusOK || r.JSON["access_token"] == nil {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		if r := v.e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "squatter", "password": "squatter pass 12"}); r.Status != http.StatusUnauthorized {
			t.Fatalf("the registrant's password still works: %d %s", r.Status, r.Body)
		}
		if r := squatter.Do("GET", "/api/auth/me", nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("the registrant's session survived: %d", r.Status)
		}
		ev := v.admin.EventsOf(t, gatehouse.EventIdentityVerifyUsed)
		if len(ev) != 1 {
			t.Fatalf("verification_used: %v", ev)
		}
		if d := ev[0].Data; d["password_removed"] != true || d["mfa_removed"] != true || d["passkeys_removed"] != 1.0 || d["identities_removed"] != 1.0 {
			t.Fatalf("verification_used data: %v", d)
		}
		if pks, _ := v.e.Store.ListPasskeys(t.Context(), sid); len(pks) != 0 {
			t.Fatalf("the squatter's passkey survived: %v", pks)
		}
		v.op.Queue(oidctest.User{Subject: "sub-squatter", Email: "squatter@example.net"})
		if st, _, body := v.browser().signIn(t, ""); st != http.StatusForbidden {
			t.Fatalf("the squatter's own identity still signs in: %d %s", st, body)
		}
		if ids := vic.Do("GET", "/api/account/identities", nil); ids.Status != http.StatusOK || len(ids.Identities().Items) != 1 {
			t.Fatalf("identities after reclaiming: %d %s", ids.Status, ids.Body)
		}
		if me := v.e.Bearer(r.Str("access_token")).Do("GET", "/api/auth/me", nil); me.Status != http.StatusOK || !me.User().EmailVerified {
			t.Fatalf("the owner after the link: %d %s", me.Status, me.Body)
		}
	})
}

// The link signs in through the same finish as every sign-in: an account with MFA gets its step.
func TestExternalVerifyEntersMFA(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		v := newVerifyEnv(t, backend)
		v.e.CreateUser(v.admin, "carol", "carol@example.com", "carol password 1", "user")
		carol, _ := v.e.Login("carol", "carol password 1")
		enroll(t, v.e, carol)
		b := v.notLinked(t, "sub-carol", "carol@example.com", "c***@example.com")
		b.askMail(t)
		tok := v.mailedToken(t, "carol@example.com", 1)
		page := v.browser()
		st, _, body := page.post(t, "/login/external/verify", url.Values{"token": {tok}})
		if st != http.StatusOK || !strings.Contains(body, "Two-step verification") || !strings.Contains(body, `name="mfa_token"`) {
			t.Fatalf("confirm page with MFA: %d %s", st, body)
		}
		if name, _ := page.Me(t); name != "" {
			t.Fatalf("signed in as %q before the second factor", name)
		}
		// A later link for the identity, now bound, also ends at the second factor (API form).
		v.e.Clock.Advance(v.e.Auth.Core.Settings().VerificationCooldown + time.Second)
		if st, _ := b.askMail(t); st != http.StatusAccepted {
			t.Fatal(st)
		}
		tok = v.mailedToken(t, "carol@example.com", 2)
		r := v.e.Client().Do("POST", "/api/auth/oidc/verify-email/confirm", map[string]string{"token": tok})
		if r.Status != http.StatusOK || r.JSON["mfa_required"] != true || r.JSON["access_token"] != nil {
			t.Fatalf("confirm with MFA: %d %s", r.Status, r.Body)
		}
		// The identity is bound; the session waits for the code.
		if len(v.admin.EventsOf(t, gatehouse.EventIdentityBound)) != 1 {
			t.Fatal("identity not bound")
		}
	})
}
