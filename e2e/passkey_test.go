package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// virtualAuthenticator gives the page a platform authenticator in Chromium's WebAuthn test
// environment: discoverable credentials, user verification that succeeds, presence simulated.
func virtualAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	var id webauthn.AuthenticatorID
	run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			DefaultBackupEligibility: true, DefaultBackupState: true,
		}})
		id = res.AuthenticatorID
		return err
	}))
	return id
}

func credentials(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	return get(t, ctx, chromedp.Action[[]*webauthn.Credential](func(ctx context.Context, tg *chromedp.Target) ([]*webauthn.Credential, error) {
		res, err := cdp.Call(ctx, tg, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		return res.Credentials, err
	}))
}

// noAutofill makes every page from now on see a browser without conditional mediation, so only
// the button can start a passkey sign-in; calling the returned function ends that. (Chromium's
// virtual authenticator answers a conditional request at once, as if the user had picked the
// passkey from the autofill list, so a login page would sign in by itself.)
func noAutofill(t *testing.T, ctx context.Context) func() {
	t.Helper()
	var id page.ScriptIdentifier
	run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `PublicKeyCredential.isConditionalMediationAvailable = function () { return Promise.resolve(false); };`})
		id = res.Identifier
		return err
	}))
	return func() {
		run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: id})
			return err
		}))
	}
}

// startNavigate starts loading url without waiting for the page to finish loading: the login
// page may leave itself (a passkey sign-in through autofill) before chromedp sees it loaded.
func startNavigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.Navigate, page.NavigateParams{URL: url})
		return err
	}))
}

func eventsOf(t *testing.T, e *testserver.Env, kind string) []*gatehouse.Event {
	t.Helper()
	es, _, err := e.Store.ListEvents(context.Background(), gatehouse.EventFilter{Kind: kind, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestBrowserPasskeys(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true, Localhost: true})
	if !strings.HasPrefix(e.URL, "http://localhost:") {
		t.Fatalf("test server at %s, want localhost", e.URL)
	}
	e.Setup("alice", "alice@example.com", pw)
	ctx := browser(t)

	// Sign in with the password, then add a passkey from the security page.
	run(t, ctx,
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#f-login`)),
	)
	if ac := get(t, ctx, chromedp.Evaluate[string](`document.getElementById("f-login").getAttribute("autocomplete")`)); ac != "username webauthn" {
		t.Fatalf("username autocomplete %q", ac)
	}
	// Without any passkey the autofill request stays pending; the password form works as ever.
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-login`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), pw),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`#passkeys`)),
	)
	auth := virtualAuthenticator(t, ctx)
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#passkey-add-button`)))
	// A name is required before the dialog opens.
	run(t, ctx, chromedp.Click(chromedp.CSS(`#passkey-add-button`)), chromedp.WaitVisible(chromedp.CSS(`#passkey-add-error`)))
	if len(credentials(t, ctx, auth)) != 0 {
		t.Fatal("a credential was created without a name")
	}
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-new-passkey-name`), "Laptop"),
		chromedp.Click(chromedp.CSS(`#passkey-add-button`)),
	)
	waitLocation(t, ctx, "done=passkey_added")
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.passkey-name`)))
	if n := text(t, ctx, ".notice"); !strings.Contains(n, "The passkey is added") {
		t.Fatalf("notice %q", n)
	}
	if s := text(t, ctx, "#passkeys .passkeys"); !strings.Contains(s, "Laptop") || !strings.Contains(s, "not used yet") || !strings.Contains(s, "Synced") {
		t.Fatalf("passkey list %q", s)
	}
	creds := credentials(t, ctx, auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("authenticator credentials: %+v", creds)
	}
	if len(creds[0].UserHandle) != 32 {
		t.Fatalf("user handle of %d bytes, want the random 32-byte handle", len(creds[0].UserHandle))
	}
	if es := eventsOf(t, e, gatehouse.EventPasskeyAdded); len(es) != 1 || es[0].Data["name"] != "Laptop" {
		t.Fatalf("passkey.added events: %+v", es)
	}
	screenshot(t, ctx, "security-passkeys")

	// Sign out; sign in with the button (a browser without autofill for passkeys).
	autofillBack := noAutofill(t, ctx)
	signOut(t, ctx)
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#passkey-signin`)))
	screenshot(t, ctx, "login-passkey")
	run(t, ctx, chromedp.Click(chromedp.CSS(`#passkey-signin`)))
	waitLocation(t, ctx, "/settings/security")
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#passkeys`)))
	ls := eventsOf(t, e, gatehouse.EventLoginSucceeded)
	if len(ls) == 0 || ls[0].Data["method"] != gatehouse.AuthPasskey {
		t.Fatalf("newest login.succeeded: %+v", ls[0])
	}
	if s := text(t, ctx, "#passkeys .passkeys"); !strings.Contains(s, "last used 2026-11-22 12:00 UTC") {
		t.Fatalf("last use not shown: %q", s)
	}
	// The session is a passkey session, without any TOTP step.
	sess, err := e.Store.SessionByID(context.Background(), ls[0].SessionID)
	if err != nil || sess.AuthMethod != gatehouse.AuthPasskey {
		t.Fatalf("session %+v, %v", sess, err)
	}

	// Sign out; sign in through the username field's autofill (conditional mediation), back to rd.
	signOut(t, ctx)
	autofillBack()
	startNavigate(t, ctx, e.URL+"/login?rd="+e.URL+"/admin/events")
	waitLocation(t, ctx, "/admin/events")
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`table.events`)))
	ls = eventsOf(t, e, gatehouse.EventLoginSucceeded)
	if len(ls) != 4 || ls[0].Data["method"] != gatehouse.AuthPasskey {
		t.Fatalf("login.succeeded events: %d, newest %+v", len(ls), ls[0])
	}
	// An rd on another site is never followed after a passkey sign-in either.
	autofillBack = noAutofill(t, ctx)
	run(t, ctx, chromedp.Navigate(e.URL+"/settings/security"), chromedp.WaitVisible(chromedp.CSS(`#passkeys`)))
	signOut(t, ctx)
	run(t, ctx, chromedp.Navigate(e.URL+"/login?rd=https://evil.example/steal"), chromedp.WaitVisible(chromedp.CSS(`#passkey-signin`)),
		chromedp.Click(chromedp.CSS(`#passkey-signin`)))
	waitLocation(t, ctx, e.URL+"/settings/security")

	// Rename, without JavaScript's help: a plain form.
	run(t, ctx,
		chromedp.SetValue(chromedp.CSS(`.passkey-rename input[name=name]`), "Work laptop"),
		chromedp.Submit(chromedp.CSS(`.passkey-rename input[name=name]`)),
	)
	waitLocation(t, ctx, "done=passkey_renamed")
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`.passkey-name`)))
	if n := text(t, ctx, ".passkey-name"); n != "Work laptop" {
		t.Fatalf("name after rename %q", n)
	}

	// Delete; the authenticator still holds the key, but it no longer signs in.
	run(t, ctx, chromedp.Click(chromedp.CSS(`.passkey-delete button`)))
	waitLocation(t, ctx, "done=passkey_deleted")
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#passkeys .empty`)))
	if es := eventsOf(t, e, gatehouse.EventPasskeyRemoved); len(es) != 1 || es[0].Data["name"] != "Work laptop" {
		t.Fatalf("passkey.removed events: %+v", es)
	}
	if len(credentials(t, ctx, auth)) != 1 {
		t.Fatal("the authenticator lost its credential")
	}
	signOut(t, ctx)
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#passkey-signin`)), chromedp.Click(chromedp.CSS(`#passkey-signin`)),
		chromedp.WaitVisible(chromedp.CSS(`#passkey-error`)))
	if m := text(t, ctx, "#passkey-error"); m != "the passkey was not accepted" {
		t.Fatalf("error after delete %q", m)
	}
	if u := location(t, ctx); !strings.Contains(u, "/login") {
		t.Fatalf("signed in with a deleted passkey: %s", u)
	}
	lf := eventsOf(t, e, gatehouse.EventLoginFailed)
	if len(lf) == 0 || lf[0].Data["method"] != gatehouse.AuthPasskey {
		t.Fatalf("newest login.failed: %+v", lf)
	}
	autofillBack()
}
