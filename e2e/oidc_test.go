package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/oidctest"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// TestBrowserExternalSignIn drives the whole redirect flow in Chromium against a real OpenID
// provider on loopback: the administrator adds the provider in the console, a user clicks its
// button on the login page, goes through the provider and comes back signed in.
func TestBrowserExternalSignIn(t *testing.T) {
	t.Parallel()
	// The provider signs tokens with the real time; gatehouse checks them with its clock.
	e := testserver.New(t, testserver.Options{Web: true, Clock: testserver.NewClockAtNow()})
	admin, _ := e.Setup("alice", "alice@example.com", pw)
	e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	op := oidctest.Start(t)
	ctx := browser(t)

	// The administrator adds the provider in the console and sees the redirect URI to register.
	run(t, ctx,
		chromedp.Navigate(e.URL+"/login?rd="+e.URL+"/admin/providers"),
		chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-issuer`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Corp SSO"),
		chromedp.SendKeys(chromedp.CSS(`#f-issuer`), op.Issuer()),
		chromedp.SendKeys(chromedp.CSS(`#f-client-id`), op.ClientID()),
		chromedp.SendKeys(chromedp.CSS(`#f-client-secret`), op.ClientSecret()),
		chromedp.Click(chromedp.CSS(`#f-auto-bind`)),
		chromedp.Submit(chromedp.CSS(`#f-name`)),
		chromedp.WaitVisible(chromedp.CSS(`#redirect-uri`)),
	)
	if got, want := text(t, ctx, "#redirect-uri"), e.URL+"/api/auth/oidc/corp-sso/callback"; got != want {
		t.Fatalf("redirect URI shown %q, want %q", got, want)
	}
	screenshot(t, ctx, "admin-provider")
	run(t, ctx, chromedp.Navigate(e.URL+"/logout"), chromedp.Click(chromedp.CSS(`main form button`)), chromedp.WaitVisible(chromedp.CSS(`.notice`)))

	// Bob signs in with the provider from the login page and lands on rd.
	op.Queue(oidctest.User{Subject: "bob-at-corp", Email: "bob@example.com", EmailVerified: true})
	run(t, ctx,
		chromedp.Navigate(e.URL+"/login?rd="+e.URL+"/settings/security"),
		chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
	)
	screenshot(t, ctx, "login-providers")
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`a[href*="/api/auth/oidc/corp-sso/start"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#external-identities`)),
	)
	if u := location(t, ctx); u != e.URL+"/settings/security" {
		t.Fatalf("after external sign-in: %s", u)
	}
	if who := text(t, ctx, ".who"); who != "bob" {
		t.Fatalf("signed in as %q", who)
	}
	if s := text(t, ctx, "#external-identities"); !strings.Contains(s, "Corp SSO") || !strings.Contains(s, "bob@example.com") || !strings.Contains(s, "last used 20") {
		t.Fatalf("external identities: %q", s)
	}
	screenshot(t, ctx, "security-identities")

	// A refusal at the provider comes back as a clear page with the provider's words.
	run(t, ctx, chromedp.Navigate(e.URL+"/logout"), chromedp.Click(chromedp.CSS(`main form button`)), chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	op.RefuseNext("access_denied")
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`a[href*="/api/auth/oidc/corp-sso/start"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#external-error`)),
	)
	if m := text(t, ctx, "#external-error"); !strings.Contains(m, "Corp SSO did not sign you in") || !strings.Contains(m, "access_denied") {
		t.Fatalf("error page: %q", m)
	}
	// The page is styled like the others (its CSP allows the stylesheet).
	if r := get(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".card")).borderRadius`)); r != "12px" {
		t.Fatalf("stylesheet not applied (border-radius %q)", r)
	}
	screenshot(t, ctx, "external-error")
}
