package web_test

import (
	"context"
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// Without JavaScript: a form refused for want of a recent authentication shows "Confirm it's you";
// confirming the password carries the refused action out.
func TestReauthPagesWithoutJavaScript(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true, Localhost: true})
	c := e.Client()
	if r := c.Form("/login/setup", url.Values{"username": {"alice"}, "email": {"alice@example.com"}, "password": {adminPW}, "password_confirm": {adminPW}}); r.Status != 303 {
		t.Fatalf("setup: %d", r.Status)
	}
	me := c.Do("GET", "/api/auth/me", nil)
	uid := me.User().ID

	// Just signed in: the section is in the page (for the passkey script) but hidden.
	page := string(c.Do("GET", "/settings/security", nil).Body)
	if !strings.Contains(page, `id="reauth" aria-labelledby="h-reauth" hidden`) {
		t.Fatalf("fresh session: the reauth section is not hidden:\n%s", page)
	}

	e.Clock.Advance(11 * time.Minute)
	page = string(c.Do("GET", "/settings/security", nil).Body)
	if strings.Contains(page, `aria-labelledby="h-reauth" hidden`) || !strings.Contains(html.UnescapeString(page), "Confirm it's you") || !strings.Contains(page, `id="f-reauth-password"`) {
		t.Fatalf("old session: no visible reauth form:\n%s", page)
	}
	if strings.Contains(page, `id="f-reauth-code"`) {
		t.Fatal("a code field is offered while MFA is off")
	}

	// The authenticator setup is refused with the prompt, and nothing is stored.
	r := c.Form("/settings/security/mfa/setup", nil)
	body := string(r.Body)
	if r.Status != 403 || !strings.Contains(body, "you to set up an authenticator") || !strings.Contains(body, `name="then" value="mfa_setup"`) {
		t.Fatalf("setup while not recent: %d\n%s", r.Status, body)
	}
	if _, err := e.Store.TOTPByUser(context.Background(), uid); !gatehouse.IsCode(err, gatehouse.ENotFound) {
		t.Fatalf("a setup was stored: %v", err)
	}
	// A wrong password says so next to the field and keeps the action.
	r = c.Form("/settings/security/reauth", url.Values{"password": {"wrong password"}, "then": {"mfa_setup"}})
	body = string(r.Body)
	if r.Status != 401 || !strings.Contains(body, "the password is wrong") || !strings.Contains(body, `aria-invalid="true" aria-describedby="e-reauth-password"`) || !strings.Contains(body, `value="mfa_setup"`) {
		t.Fatalf("wrong password: %d\n%s", r.Status, body)
	}
	// The right one starts the setup at once.
	r = c.Form("/settings/security/reauth", url.Values{"password": {adminPW}, "then": {"mfa_setup"}})
	if r.Status != 303 || r.Header.Get("Location") != "/settings/security#mfa" {
		t.Fatalf("reauth then setup: %d %v", r.Status, r.Header)
	}
	page = string(c.Do("GET", "/settings/security", nil).Body)
	if !strings.Contains(page, `id="mfa-secret"`) || !strings.Contains(page, `aria-labelledby="h-reauth" hidden`) {
		t.Fatalf("after reauth: no setup shown, or the reauth form still shown:\n%s", page)
	}

	// An unfinished setup is not shown to a session that is no longer recent.
	e.Clock.Advance(11 * time.Minute)
	page = string(c.Do("GET", "/settings/security", nil).Body)
	if strings.Contains(page, `id="mfa-secret"`) {
		t.Fatal("the pending secret is shown to an old session")
	}
	if r := c.Do("GET", "/settings/security/mfa/qr.png", nil); r.Status != 403 {
		t.Fatalf("QR code for an old session: %d", r.Status)
	}

	// Deleting a passkey: refused with the prompt, then done after the password.
	pk := addPasskey(t, e, uid, "MacBook")
	r = c.Form("/settings/security/passkeys/"+id(pk.ID)+"/delete", nil)
	if r.Status != 403 || !strings.Contains(string(r.Body), "you to delete the passkey") {
		t.Fatalf("delete while not recent: %d", r.Status)
	}
	if ps, _ := e.Store.ListPasskeys(context.Background(), uid); len(ps) != 1 {
		t.Fatal("the refused delete removed the passkey")
	}
	r = c.Form("/settings/security/reauth", url.Values{"password": {adminPW}, "then": {"passkey_delete:" + id(pk.ID)}})
	if r.Status != 303 || !strings.Contains(r.Header.Get("Location"), "done=passkey_deleted") {
		t.Fatalf("reauth then delete: %d %v", r.Status, r.Header)
	}
	if ps, _ := e.Store.ListPasskeys(context.Background(), uid); len(ps) != 0 {
		t.Fatal("the passkey is still there")
	}

	// An unknown action just goes back to the page, with a notice.
	r = c.Form("/settings/security/reauth", url.Values{"password": {adminPW}, "then": {"https://evil.example/"}})
	if r.Status != 303 || r.Header.Get("Location") != "/settings/security?done=reauth" {
		t.Fatalf("unknown then: %d %v", r.Status, r.Header)
	}
	// The continue endpoint (used after a passkey confirmed it) grants nothing by itself.
	e.Clock.Advance(11 * time.Minute)
	if r := c.Form("/settings/security/reauth/continue", url.Values{"then": {"mfa_setup"}}); r.Status != 403 || !strings.Contains(string(r.Body), "you to set up an authenticator") {
		t.Fatalf("continue without a recent authentication: %d", r.Status)
	}
	// Cross-site confirmation is refused like every form.
	if r := c.Form("/settings/security/reauth", url.Values{"password": {adminPW}}, "Sec-Fetch-Site", "cross-site"); r.Status != 403 {
		t.Fatalf("cross-site reauth: %d", r.Status)
	}
}
