package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/oidctest"
	"github.com/gatehouse/gatehouse/internal/smtptest"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// TestBrowserExternalVerifyByMail: an external sign-in that matches no account asks for the
// verification mail from the "not linked" page; the link, opened in another browser (the mailbox
// is the proof), links the identity and signs in.
func TestBrowserExternalVerifyByMail(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	e := testserver.New(t, testserver.Options{Web: true, MailLoop: true, Clock: testserver.NewClockAtNow()})
	admin, _ := e.Setup("alice", "alice@example.com", pw)
	if r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"mail_smtp_host": smtp.Host, "mail_smtp_port": smtp.Port,
		"mail_smtp_tls": "none", "mail_from": "gate@example.com"}); r.Status != 200 {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	op := oidctest.Start(t)
	if r := admin.Do("POST", "/api/admin/providers", map[string]any{"id": "corp-sso", "name": "Corp SSO", "issuer": op.Issuer(),
		"client_id": op.ClientID(), "client_secret": op.ClientSecret()}); r.Status != 201 {
		t.Fatalf("provider: %d %s", r.Status, r.Body)
	}
	e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	ctx := browser(t)

	op.Queue(oidctest.User{Subject: "bob-at-corp", Email: "bob@example.com", EmailVerified: true})
	run(t, ctx,
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
		chromedp.Click(chromedp.CSS(`a[href*="/api/auth/oidc/corp-sso/start"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#external-verify button`)),
	)
	if b := text(t, ctx, "#external-verify button"); b != "Send a verification link to b***@example.com" {
		t.Fatalf("offer: %q", b)
	}
	screenshot(t, ctx, "external-not-linked")
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#external-verify button`)),
		chromedp.WaitVisible(chromedp.CSS(`#verify-sent`)),
	)
	if s := text(t, ctx, "#verify-sent"); !strings.Contains(s, "b***@example.com") {
		t.Fatalf("sent page: %q", s)
	}
	link := mailLink(t, smtp, "bob@example.com", "/login/external/verify", 1)

	phone := another(t, ctx)
	run(t, phone,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`#external-verify-confirm button`)),
	)
	// token.js takes the token out of the address bar.
	if u := location(t, phone); strings.Contains(u, "token=") {
		t.Fatalf("token left in the address bar: %s", u)
	}
	screenshot(t, phone, "external-verify")
	run(t, phone,
		chromedp.Click(chromedp.CSS(`#external-verify-confirm button`)),
		chromedp.WaitVisible(chromedp.CSS(`#external-identities`)),
	)
	if who := text(t, phone, ".who"); who != "bob" {
		t.Fatalf("signed in as %q", who)
	}
	if s := text(t, phone, "#external-identities"); !strings.Contains(s, "Corp SSO") || !strings.Contains(s, "bob@example.com") {
		t.Fatalf("external identities: %q", s)
	}
}
