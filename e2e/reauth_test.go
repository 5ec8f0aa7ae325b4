package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// The passkey script meets reauthentication_required: it shows the page's "Confirm it's you"
// form; after the password the passkey can be added.
func TestBrowserPasskeyAddAsksToConfirm(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true, Localhost: true})
	e.Setup("alice", "alice@example.com", pw)
	ctx := browser(t)
	signIn(t, ctx, e.URL, "alice", pw)
	auth := virtualAuthenticator(t, ctx)
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#passkey-add-button`)))
	// The page was loaded while the sign-in was fresh: the confirm form is there, hidden.
	if hidden := get(t, ctx, chromedp.Evaluate[bool](`document.getElementById("reauth").hidden`)); !hidden {
		t.Fatal("the confirm form is shown right after sign-in")
	}

	e.Clock.Advance(11 * time.Minute)
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-new-passkey-name`), "Laptop"),
		chromedp.Click(chromedp.CSS(`#passkey-add-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#reauth`)),
		chromedp.WaitVisible(chromedp.CSS(`#passkey-add-error`)),
	)
	if msg := text(t, ctx, "#passkey-add-error"); !strings.Contains(msg, "Confirm it's you") {
		t.Fatalf("passkey error %q", msg)
	}
	if id := activeID(t, ctx); id != "f-reauth-password" {
		t.Fatalf("focus on %q, want the password field", id)
	}
	if len(credentials(t, ctx, auth)) != 0 {
		t.Fatal("a credential was created although the server refused")
	}
	screenshot(t, ctx, "security-reauth")
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-reauth-password`), pw),
		chromedp.Submit(chromedp.CSS(`#f-reauth-password`)),
	)
	waitLocation(t, ctx, "done=reauth")
	run(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`#passkey-add-button`)),
		chromedp.SendKeys(chromedp.CSS(`#f-new-passkey-name`), "Laptop"),
		chromedp.Click(chromedp.CSS(`#passkey-add-button`)),
	)
	waitLocation(t, ctx, "done=passkey_added")
	if len(credentials(t, ctx, auth)) != 1 {
		t.Fatal("no credential after confirming")
	}

	// Later, deleting it (a plain form) asks again; the passkey itself can confirm, and the
	// delete goes through.
	e.Clock.Advance(11 * time.Minute)
	run(t, ctx, chromedp.Click(chromedp.CSS(`.passkey-delete button`)), chromedp.WaitVisible(chromedp.CSS(`#reauth-why`)))
	if why := text(t, ctx, "#reauth-why"); !strings.Contains(why, "Confirm it's you to delete the passkey") {
		t.Fatalf("prompt %q", why)
	}
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#reauth-passkey-button`)), chromedp.Click(chromedp.CSS(`#reauth-passkey-button`)))
	waitLocation(t, ctx, "done=passkey_deleted")
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#passkeys .empty`)))
}
