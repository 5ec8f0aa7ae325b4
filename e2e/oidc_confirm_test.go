package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// An app asks for a fresh sign-in (prompt=login) of a user with a passkey: the provider's
// confirm page offers the passkey beside the password (gatehouse's script runs under that
// page's CSP), the passkey confirms, and the browser goes on to the app with a code.
func TestBrowserProviderConfirmWithPasskey(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true, Provider: true, Localhost: true})
	admin, _ := e.Setup("alice", "alice@example.com", pw)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("the app")) }))
	t.Cleanup(app.Close)
	if r := admin.Do("POST", "/api/admin/oidc/clients", map[string]any{"client_id": "wiki", "name": "Team wiki",
		"redirect_uris": []string{app.URL + "/cb"}, "skip_consent": true}); r.Status != http.StatusCreated {
		t.Fatalf("client: %d %s", r.Status, r.Body)
	}
	ctx := browser(t)
	signIn(t, ctx, e.URL, "alice", pw)
	virtualAuthenticator(t, ctx)
	run(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`#passkey-add-button`)),
		chromedp.SendKeys(chromedp.CSS(`#f-new-passkey-name`), "Laptop"),
		chromedp.Click(chromedp.CSS(`#passkey-add-button`)),
	)
	waitLocation(t, ctx, "done=passkey_added")

	e.Clock.Advance(time.Minute) // prompt=login asks for a sign-in newer than the request
	authorize := "/oauth2/authorize?client_id=wiki&redirect_uri=" + url.QueryEscape(app.URL+"/cb") + "&response_type=code&scope=openid&state=s&prompt=login"
	run(t, ctx, emulate(viewports[0], "dark"), chromedp.Navigate(e.URL+authorize), chromedp.WaitVisible(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`#reauth-passkey-button`)))
	// On a phone, dark: nothing scrolls sideways, and axe finds nothing serious.
	checkCurrent(t, ctx, pageCheck{authorize, "#reauth-passkey-button"}, "phone/dark confirm with a passkey", true)
	screenshot(t, ctx, "oidc-confirm-passkey-phone-dark")
	run(t, ctx, chromedp.Click(chromedp.CSS(`#reauth-passkey-button`)))
	waitLocation(t, ctx, app.URL+"/cb?code=")
	if u := location(t, ctx); !strings.Contains(u, "state=s") {
		t.Fatalf("back at the app without its state: %s", u)
	}
}
