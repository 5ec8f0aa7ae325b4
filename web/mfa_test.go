package web_test

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

func must1(t *testing.T, re, body string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no match for %s in:\n%s", re, body)
	}
	return html.UnescapeString(m[1])
}

func nowCode(t *testing.T, e *testserver.Env, secret string) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The whole MFA journey through plain HTML forms, as a browser without JavaScript.
func TestMFAPagesWithoutJavaScript(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	c := e.Client()
	if r := c.Form("/login/setup", url.Values{"username": {"alice"}, "email": {"alice@example.com"}, "password": {adminPW}, "password_confirm": {adminPW}}); r.Status != 303 {
		t.Fatalf("setup: %d", r.Status)
	}
	body := string(c.Do("GET", "/settings/security", nil).Body)
	if !strings.Contains(body, "Multi-Factor Authentication") || !strings.Contains(body, `action="/settings/security/mfa/setup"`) {
		t.Fatalf("security page without MFA: %s", body)
	}
	if r := c.Form("/settings/security/mfa/setup", nil); r.Status != 303 || r.Header.Get("Location") != "/settings/security#mfa" {
		t.Fatalf("start setup: %d %v", r.Status, r.Header)
	}
	body = string(c.Do("GET", "/settings/security", nil).Body)
	secret := must1(t, `id="mfa-secret" class="secret">([A-Z2-7]+)<`, body)
	uri := must1(t, `id="mfa-uri" class="secret">([^<]+)<`, body)
	if !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) {
		t.Fatalf("otpauth URI %q", uri)
	}
	for _, want := range []string{`src="/settings/security/mfa/qr.png"`, `autocomplete="one-time-code"`, `inputmode="numeric"`} {
		if !strings.Contains(body, want) {
			t.Fatalf("setup page lacks %s", want)
		}
	}
	// The QR code is a same-origin PNG, never cached; another browser without the session gets none.
	if r := c.Do("GET", "/settings/security/mfa/qr.png", nil); r.Status != 200 || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("Cache-Control") != "no-store" || string(r.Body[1:4]) != "PNG" {
		t.Fatalf("qr: %d %v", r.Status, r.Header)
	}
	if r := e.Client().Do("GET", "/settings/security/mfa/qr.png", nil); r.Status != 303 {
		t.Fatalf("qr without a session: %d", r.Status)
	}

	// A wrong code is refused next to the field; the right one shows 10 codes once.
	r := c.Form("/settings/security/mfa/confirm", url.Values{"form": {"confirm"}, "code": {"000000"}})
	if r.Status != 400 || !strings.Contains(string(r.Body), `id="e-mfa-code"`) {
		t.Fatalf("wrong code: %d %s", r.Status, r.Body)
	}
	r = c.Form("/settings/security/mfa/confirm", url.Values{"form": {"confirm"}, "code": {nowCode(t, e, secret)}})
	body = string(r.Body)
	codes := strings.Fields(must1(t, `(?s)<pre id="recovery-codes">(.*?)</pre>`, body))
	if r.Status != 200 || len(codes) != 10 || !strings.Contains(body, `download="gatehouse-recovery-codes.txt"`) || !strings.Contains(body, `href="data:text/plain;charset=utf-8,`) ||
		!strings.Contains(body, `data-copy="recovery-codes" hidden`) {
		t.Fatalf("confirm: %d %s", r.Status, body)
	}
	dl := must1(t, `href="(data:text/plain;[^"]+)"`, body)
	if text, _ := url.PathUnescape(strings.TrimPrefix(dl, "data:text/plain;charset=utf-8,")); !strings.Contains(text, codes[0]+"\n") || !strings.Contains(text, codes[9]) {
		t.Fatalf("download link %q", dl)
	}
	// Shown once: the page afterwards says how many are left, not which.
	body = string(c.Do("GET", "/settings/security", nil).Body)
	if strings.Contains(body, codes[0]) || !strings.Contains(body, "10 recovery codes left.") {
		t.Fatalf("security page after enabling: %s", body)
	}
	e.Clock.Advance(30 * time.Second)

	// Sign in: the password step shows the code step, holding the token in a hidden field.
	b := e.Client()
	r = b.Form("/login", url.Values{"login": {"alice"}, "password": {adminPW}, "rd": {""}})
	body = string(r.Body)
	if r.Status != 200 || r.Header.Get("Set-Cookie") != "" || !strings.Contains(body, "Two-step verification") || !strings.Contains(body, `autocomplete="one-time-code"`) || !strings.Contains(body, "Use a recovery code") {
		t.Fatalf("password step: %d %v %s", r.Status, r.Header, body)
	}
	tok := must1(t, `name="mfa_token" value="([^"]+)"`, body)
	r = b.Form("/login/mfa", url.Values{"mfa_token": {tok}, "code": {""}})
	if r.Status != 400 || !strings.Contains(string(r.Body), "Enter the 6-digit code") || !strings.Contains(string(r.Body), tok) {
		t.Fatalf("empty code: %d %s", r.Status, r.Body)
	}
	r = b.Form("/login/mfa", url.Values{"mfa_token": {tok}, "code": {"000000"}})
	if r.Status != 401 || !strings.Contains(string(r.Body), `id="e-code"`) || !strings.Contains(string(r.Body), "4 attempts left") || !strings.Contains(string(r.Body), tok) {
		t.Fatalf("wrong code: %d %s", r.Status, r.Body)
	}
	r = b.Form("/login/mfa", url.Values{"mfa_token": {tok}, "code": {nowCode(t, e, secret)}})
	if r.Status != 303 || r.Header.Get("Location") != "/settings/security" {
		t.Fatalf("code: %d %v %s", r.Status, r.Header, r.Body)
	}
	if r := b.Do("GET", "/settings/security", nil); r.Status != 200 {
		t.Fatalf("signed in after MFA: %d", r.Status)
	}

	// With a recovery code: the page then says one is used up and how many remain.
	b2 := e.Client()
	tok = must1(t, `name="mfa_token" value="([^"]+)"`, string(b2.Form("/login", url.Values{"login": {"alice"}, "password": {adminPW}}).Body))
	r = b2.Form("/login/mfa", url.Values{"mfa_token": {tok}, "recovery_code": {codes[0]}})
	if r.Status != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/settings/security?done=recovery") {
		t.Fatalf("recovery code: %d %v %s", r.Status, r.Header, r.Body)
	}
	body = string(b2.Do("GET", "/settings/security?done=recovery", nil).Body)
	if !strings.Contains(body, "signed in with a recovery code") || !strings.Contains(body, "9 recovery codes left.") {
		t.Fatalf("after a recovery code: %s", body)
	}
	// An expired challenge sends the user back to the password step.
	b3 := e.Client()
	tok = must1(t, `name="mfa_token" value="([^"]+)"`, string(b3.Form("/login", url.Values{"login": {"alice"}, "password": {adminPW}}).Body))
	e.Clock.Advance(301 * time.Second)
	r = b3.Form("/login/mfa", url.Values{"mfa_token": {tok}, "code": {nowCode(t, e, secret)}})
	if r.Status != 401 || !strings.Contains(string(r.Body), "expired") || !strings.Contains(string(r.Body), `name="password"`) {
		t.Fatalf("expired challenge: %d %s", r.Status, r.Body)
	}

	// Regenerate with the password: new codes shown; the form error goes to the right form.
	r = c.Form("/settings/security/mfa/disable", url.Values{"form": {"disable"}})
	if r.Status != 400 || !strings.Contains(string(r.Body), `id="e-off-code"`) || !strings.Contains(string(r.Body), "or your password") {
		t.Fatalf("disable with nothing typed: %d %s", r.Status, r.Body)
	}
	r = c.Form("/settings/security/mfa/recovery-codes", url.Values{"form": {"regenerate"}, "password": {"wrong password"}})
	if r.Status != 401 || !strings.Contains(string(r.Body), `id="e-rc-password"`) || strings.Contains(string(r.Body), `id="e-off-password"`) {
		t.Fatalf("regenerate with a wrong password: %d %s", r.Status, r.Body)
	}
	r = c.Form("/settings/security/mfa/recovery-codes", url.Values{"form": {"regenerate"}, "password": {adminPW}})
	fresh := strings.Fields(must1(t, `(?s)<pre id="recovery-codes">(.*?)</pre>`, string(r.Body)))
	if len(fresh) != 10 || fresh[0] == codes[0] {
		t.Fatalf("regenerated codes %v", fresh)
	}
	// Turn off with a code.
	e.Clock.Advance(30 * time.Second)
	r = c.Form("/settings/security/mfa/disable", url.Values{"form": {"disable"}, "code": {nowCode(t, e, secret)}})
	if r.Status != 303 || r.Header.Get("Location") != "/settings/security?done=mfa_off" {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if r := e.Client().Form("/login", url.Values{"login": {"alice"}, "password": {adminPW}}); r.Status != 303 {
		t.Fatalf("login after disabling: %d", r.Status)
	}
}

func TestAdminResetMFAPage(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	id := e.CreateUser(admin, "bob", "bob@example.com", adminPW, "user")
	bob, _ := e.Login("bob", adminPW)
	r := bob.Do("POST", "/api/account/mfa/totp/setup", nil)
	if r := bob.Do("POST", "/api/account/mfa/totp/confirm", map[string]string{"code": nowCode(t, e, r.Str("secret"))}); r.Status != 200 {
		t.Fatalf("bob enables MFA: %d %s", r.Status, r.Body)
	}
	page := fmt.Sprintf("/admin/users/%d", id)
	if body := string(admin.Do("GET", page, nil).Body); !strings.Contains(body, "Reset MFA") || !strings.Contains(body, `action="`+page+`/mfa/reset"`) {
		t.Fatalf("admin user page lacks the reset button: %s", body)
	}
	// A form posted from another site is refused and changes nothing.
	if r := admin.Form(page+"/mfa/reset", nil, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); r.Status != 403 {
		t.Fatalf("cross-site reset: %d", r.Status)
	}
	if r := bob.Do("GET", "/api/auth/me", nil); r.Status != 200 || !r.User().MFAEnabled {
		t.Fatalf("bob after a refused reset: %d %s", r.Status, r.Body)
	}
	r = admin.Form(page+"/mfa/reset", nil)
	if r.Status != 303 || r.Header.Get("Location") != page+"?done=mfa" {
		t.Fatalf("reset: %d %v", r.Status, r.Header)
	}
	if body := string(admin.Do("GET", page+"?done=mfa", nil).Body); !strings.Contains(body, "Multi-factor authentication is reset") || strings.Contains(body, "Reset MFA") {
		t.Fatalf("page after reset: %s", body)
	}
	if r := bob.Do("GET", "/api/auth/me", nil); r.Status != 401 {
		t.Fatalf("bob's session after the reset: %d", r.Status)
	}
}
