package oidcprovider_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/internal/webauthntest"
)

// An app asking for a second factor (acr_values=2fa) of a one-factor session sends the browser
// through gatehouse's step-up, the page access rules use: an authenticator code or a passkey adds
// the factor to the session, and the app's tokens then say so.

var rdField = regexp.MustCompile(`(?:name="rd" value|data-then)="([^"]*)"`)

// stepUpPage runs the authorization until gatehouse's step-up page and returns it and its rd.
func (x *rp) stepUpPage(v string) (*testserver.Response, string) {
	x.t.Helper()
	page, back := x.follow(x.admin, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("acr_values", "2fa")))
	if back != nil || page.Status != http.StatusOK || !strings.Contains(string(page.Body), "Second factor needed") {
		x.t.Fatalf("acr_values=2fa did not lead to the step-up page: %v %d %s", back, page.Status, page.Body)
	}
	if strings.Contains(string(page.Body), `name="action" value="confirm"`) {
		x.t.Fatal("the provider's own confirmation page is still used for acr_values")
	}
	// The page names the app, not the provider's internal address it returns to.
	if body := string(page.Body); !strings.Contains(body, "Test App asks for a sign-in with a second factor") || strings.Contains(body, "<code>") {
		x.t.Fatalf("the step-up page does not name the app: %s", body)
	}
	m := rdField.FindSubmatch(page.Body)
	if m == nil {
		x.t.Fatalf("no rd on the step-up page: %s", page.Body)
	}
	rd := html.UnescapeString(string(m[1]))
	if !strings.HasPrefix(rd, x.e.URL+"/oauth2/login?id=") {
		x.t.Fatalf("the step-up does not come back to the provider: rd=%q", rd)
	}
	return page, rd
}

// finish follows a redirect back through the provider to the app, exchanges the code and
// returns the ID token's claims.
func (x *rp) finish(r *testserver.Response, v string) claims {
	x.t.Helper()
	back := x.toApp(x.admin, r)
	if back == nil || back.Query().Get("code") == "" {
		x.t.Fatalf("no code for the app after the step-up: %v", back)
	}
	tok, err := x.exchange(back.Query().Get("code"), v)
	if err != nil {
		x.t.Fatal(err)
	}
	var c claims
	if err := x.verify(tok, "").Claims(&c); err != nil {
		x.t.Fatal(err)
	}
	return c
}

func TestACRValuesStepUpWithTOTP(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		x := newRP(t, backend, options{skipConsent: true})
		// TOTP set up in this password-only session: the session stays one-factor.
		r := x.admin.Do("POST", "/api/account/mfa/totp/setup", nil)
		secret := r.Str("secret")
		c, _ := totp.GenerateCode(secret, x.e.Clock.Now())
		if r := x.admin.Do("POST", "/api/account/mfa/totp/confirm", map[string]string{"code": c}); r.Status != http.StatusOK {
			t.Fatalf("TOTP confirm: %d %s", r.Status, r.Body)
		}
		x.e.Clock.Advance(30 * time.Second)

		v := oauth2.GenerateVerifier()
		page, rd := x.stepUpPage(v)
		if !strings.Contains(string(page.Body), `name="code"`) {
			t.Fatalf("no code field on the step-up page: %s", page.Body)
		}
		// A wrong code: the page again, no way back to the app.
		if r := x.admin.Form("/login/step-up", url.Values{"rd": {rd}, "code": {"000000"}}); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong code: %d", r.Status)
		}
		c, _ = totp.GenerateCode(secret, x.e.Clock.Now())
		got := x.finish(x.admin.Form("/login/step-up", url.Values{"rd": {rd}, "code": {c}}), v)
		// RFC 8176: both factors, the password of the sign-in and the code of the step-up.
		if got.ACR != "2fa" || !slices.Equal(got.AMR, []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("after a TOTP step-up: acr=%q amr=%v", got.ACR, got.AMR)
		}
	})
}

func TestACRValuesStepUpWithPasskey(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		x := newRP(t, backend, options{skipConsent: true, localhost: true})
		key := webauthntest.New(x.e.URL)
		b := x.admin.Do("POST", "/api/account/passkeys/begin", nil)
		if r := x.admin.Do("POST", "/api/account/passkeys/finish", map[string]any{"ceremony": b.Str("ceremony"), "name": "Laptop",
			"credential": key.Create(publicKeyOf(t, b))}); r.Status != http.StatusCreated {
			t.Fatalf("passkey registration: %d %s", r.Status, r.Body)
		}

		v := oauth2.GenerateVerifier()
		page, rd := x.stepUpPage(v)
		// No authenticator app: only the passkey is offered.
		if !strings.Contains(string(page.Body), `id="reauth-passkey"`) || strings.Contains(string(page.Body), `name="code"`) {
			t.Fatalf("the step-up page does not offer just the passkey: %s", page.Body)
		}
		// What the page's script does: the assertion, then on to rd.
		b = x.admin.Do("POST", "/api/account/reauth/passkey/begin", nil)
		if r := x.admin.Do("POST", "/api/account/reauth/passkey/finish", map[string]any{"ceremony": b.Str("ceremony"),
			"credential": key.Get(publicKeyOf(t, b))}); r.Status != http.StatusOK {
			t.Fatalf("passkey assertion: %d %s", r.Status, r.Body)
		}
		got := x.finish(x.admin.Form("/login/step-up/continue", url.Values{"then": {rd}}), v)
		if got.ACR != "2fa" || !slices.Equal(got.AMR, []string{"pwd", "hwk", "user", "mfa"}) {
			t.Fatalf("after a passkey step-up: acr=%q amr=%v", got.ACR, got.AMR)
		}
	})
}

// prompt=login (or max_age) of a user with a passkey: the confirm page offers it beside the
// password, with gatehouse's passkey script allowed by its CSP; the assertion and the page's
// continue post complete the request, and the app's tokens tell both factors.
func TestPromptLoginConfirmWithPasskey(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		x := newRP(t, backend, options{skipConsent: true, localhost: true})
		key := webauthntest.New(x.e.URL)
		b := x.admin.Do("POST", "/api/account/passkeys/begin", nil)
		if r := x.admin.Do("POST", "/api/account/passkeys/finish", map[string]any{"ceremony": b.Str("ceremony"), "name": "Laptop",
			"credential": key.Create(publicKeyOf(t, b))}); r.Status != http.StatusCreated {
			t.Fatalf("passkey registration: %d %s", r.Status, r.Body)
		}
		x.e.Clock.Advance(time.Second)
		v := oauth2.GenerateVerifier()
		page, back := x.follow(x.admin, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("prompt", "login")))
		body := string(page.Body)
		if back != nil || !strings.Contains(body, "Confirm it") || !strings.Contains(body, `name="password"`) ||
			!strings.Contains(body, `id="reauth-passkey" data-then="`) || !strings.Contains(body, `data-continue="/oauth2/login/continue"`) ||
			!strings.Contains(body, `<script src="/static/app.js" defer>`) {
			t.Fatalf("prompt=login did not offer the passkey: %v %d %s", back, page.Status, body)
		}
		if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
			t.Fatalf("the confirm page's CSP blocks the passkey script: %q", csp)
		}
		id := regexp.MustCompile(`data-then="([^"]+)"`).FindStringSubmatch(body)[1]
		// Continuing without the assertion asks again.
		if r := x.admin.Form("/oauth2/login/continue", url.Values{"then": {id}}); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Confirm it") {
			t.Fatalf("continue without a passkey: %d %s", r.Status, r.Body)
		}
		b = x.admin.Do("POST", "/api/account/reauth/passkey/begin", nil)
		if r := x.admin.Do("POST", "/api/account/reauth/passkey/finish", map[string]any{"ceremony": b.Str("ceremony"),
			"credential": key.Get(publicKeyOf(t, b))}); r.Status != http.StatusOK {
			t.Fatalf("passkey assertion: %d %s", r.Status, r.Body)
		}
		got := x.finish(x.admin.Form("/oauth2/login/continue", url.Values{"then": {id}}), v)
		if got.ACR != "2fa" || !slices.Equal(got.AMR, []string{"pwd", "hwk", "user", "mfa"}) {
			t.Fatalf("after confirming with a passkey: acr=%q amr=%v", got.ACR, got.AMR)
		}
	})
}

// Without any second factor the app hears access_denied at once, not a page the user cannot pass.
func TestACRValuesWithoutSecondFactor(t *testing.T) {
	x := newRP(t, "sqlite", options{skipConsent: true})
	page, back := x.follow(x.admin, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("acr_values", "2fa")))
	if back == nil || back.Query().Get("error") != "access_denied" {
		t.Fatalf("want access_denied for the app, got %v %d %s", back, page.Status, page.Body)
	}
	// prompt=none cannot show the step-up: login_required.
	page, back = x.follow(x.admin, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("acr_values", "2fa"), oauth2.SetAuthURLParam("prompt", "none")))
	if back == nil || back.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none with acr_values=2fa: %v %d %s", back, page.Status, page.Body)
	}
}

func publicKeyOf(t *testing.T, r *testserver.Response) json.RawMessage {
	t.Helper()
	if r.Status != http.StatusOK || r.Str("ceremony") == "" {
		t.Fatalf("begin: %d %s", r.Status, r.Body)
	}
	b, err := json.Marshal(r.JSON["publicKey"])
	if err != nil {
		t.Fatal(err)
	}
	return b
}
