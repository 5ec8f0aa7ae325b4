package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/oidctest"
	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/internal/webauthntest"
)

// wantReauth expects the 403 that asks the user to confirm their password.
func wantReauth(t *testing.T, r *testserver.Response, what string) {
	t.Helper()
	if r.Status != 403 || r.Code() != gatehouse.EReauthRequired {
		t.Fatalf("%s: want 403 %s, got %d %s", what, gatehouse.EReauthRequired, r.Status, r.Body)
	}
	msg := r.Message()
	if msg == "" || !containsFold(msg, "confirm your password") {
		t.Fatalf("%s: the message does not tell the user to confirm their password: %q", what, msg)
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func userID(r *testserver.Response) int64 {
	return r.User().ID
}

// A fresh sign-in may add a passkey and set up TOTP at once; eleven minutes later the same session
// must confirm the password first, and then may again. Confirming with a TOTP code works once MFA
// is on; a recovery code does not.
func TestReauthForPasskeyAndTOTP(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend, Localhost: true})
		alice, setup := e.Setup("alice", "alice@example.com", adminPW)
		uid := userID(setup)

		st := alice.Do("GET", "/api/account/reauth", nil)
		if st.Status != 200 || st.JSON["recently_authenticated"] != true || fmt.Sprint(st.JSON["methods"]) != "[password]" {
			t.Fatalf("state after sign-in: %d %s", st.Status, st.Body)
		}
		if want := e.Clock.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339); st.Str("until") != want {
			t.Fatalf("until = %s, want %s", st.Str("until"), want)
		}

		// Fresh sign-in: a passkey can be added at once.
		a := webauthntest.New(e.URL)
		if r := registerPasskey(t, alice, a, "Laptop"); r.Status != 201 {
			t.Fatalf("passkey right after sign-in: %d %s", r.Status, r.Body)
		}

		e.Clock.Advance(11 * time.Minute)
		if r := alice.Do("GET", "/api/account/reauth", nil); r.JSON["recently_authenticated"] != false {
			t.Fatalf("state after 11 minutes: %s", r.Body)
		}
		wantReauth(t, alice.Do("POST", "/api/account/passkeys/begin", nil), "passkey begin after 11 minutes")
		wantReauth(t, alice.Do("POST", "/api/account/mfa/totp/setup", nil), "TOTP setup after 11 minutes")
		pks := storedPasskeys(t, e, uid)
		wantReauth(t, alice.Do("DELETE", fmt.Sprintf("/api/account/passkeys/%d", pks[0].ID), nil), "passkey delete after 11 minutes")
		if n := len(storedPasskeys(t, e, uid)); n != 1 {
			t.Fatalf("refused delete removed the passkey: %d left", n)
		}

		// A wrong password changes nothing.
		if r := alice.Do("POST", "/api/account/reauth", map[string]string{"password": "not the password"}); r.Status != 401 || r.Code() != gatehouse.EInvalidCredentials || r.Field() != "password" {
			t.Fatalf("wrong password: %d %s", r.Status, r.Body)
		}
		wantReauth(t, alice.Do("POST", "/api/account/passkeys/begin", nil), "passkey begin after a wrong password")

		// The right password opens the window again, for ten minutes from now.
		r := alice.Do("POST", "/api/account/reauth", map[string]string{"password": adminPW})
		if r.Status != 200 || r.JSON["recently_authenticated"] != true || r.Str("until") != e.Clock.Now().Add(10*time.Minute).UTC().Format(time.RFC3339) {
			t.Fatalf("reauth with password: %d %s", r.Status, r.Body)
		}
		if r := registerPasskey(t, alice, webauthntest.New(e.URL), "Laptop 2"); r.Status != 201 {
			t.Fatalf("passkey after reauth: %d %s", r.Status, r.Body)
		}
		secret, recovery := enroll(t, e, alice) // setup + confirm
		if es := storeEvents(t, e, gatehouse.EventReauthenticated); len(es) != 1 || es[0].Data["method"] != "password" || es[0].SessionID == "" {
			t.Fatalf("reauth events: %+v", es)
		}

		// With MFA on, a current code confirms it (the password alone no longer does); a recovery
		// code does not.
		e.Clock.Advance(11 * time.Minute)
		wantReauth(t, alice.Do("POST", "/api/account/passkeys/begin", nil), "passkey begin, MFA on, after 11 minutes")
		if r := alice.Do("GET", "/api/account/reauth", nil); fmt.Sprint(r.JSON["methods"]) != "[totp passkey]" {
			t.Fatalf("methods with MFA on: %s", r.Body)
		}
		if r := alice.Do("POST", "/api/account/reauth", map[string]string{"code": recovery[0]}); r.Status != 401 || r.Field() != "code" {
			t.Fatalf("recovery code as reauth: %d %s", r.Status, r.Body)
		}
		wantReauth(t, alice.Do("POST", "/api/account/passkeys/begin", nil), "passkey begin after a recovery code")
		if r := alice.Do("POST", "/api/account/reauth", map[string]string{"code": code(t, e, secret, 0)}); r.Status != 200 || r.JSON["recently_authenticated"] != true {
			t.Fatalf("reauth with code: %d %s", r.Status, r.Body)
		}
		if r := alice.Do("POST", "/api/account/passkeys/begin", nil); r.Status != 200 {
			t.Fatalf("passkey begin after code reauth: %d %s", r.Status, r.Body)
		}
		// The same code again is a replay.
		if r := alice.Do("POST", "/api/account/reauth", map[string]string{"code": code(t, e, secret, 0)}); r.Status != 401 {
			t.Fatalf("replayed code: %d %s", r.Status, r.Body)
		}
	})
}

// Someone holding only an old session (a stolen cookie, or its refresh token) can neither add a
// passkey nor set up TOTP: refreshing tokens is not signing in.
func TestReauthStolenSession(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend, Localhost: true})
		e.Setup("alice", "alice@example.com", adminPW)
		stolen, login := e.Login("alice", adminPW)
		uid := userID(login)

		e.Clock.Advance(30 * time.Minute)
		wantReauth(t, stolen.Do("POST", "/api/account/passkeys/begin", nil), "stolen cookie: passkey begin")
		wantReauth(t, stolen.Do("POST", "/api/account/mfa/totp/setup", nil), "stolen cookie: TOTP setup")

		ref := e.Client().Do("POST", "/api/auth/refresh", map[string]string{"refresh_token": login.Str("refresh_token")})
		if ref.Status != 200 {
			t.Fatalf("refresh: %d %s", ref.Status, ref.Body)
		}
		bearer := e.Bearer(ref.Str("access_token"))
		wantReauth(t, bearer.Do("POST", "/api/account/passkeys/begin", nil), "refreshed token: passkey begin")
		wantReauth(t, bearer.Do("POST", "/api/account/mfa/totp/setup", nil), "refreshed token: TOTP setup")
		if pks := storedPasskeys(t, e, uid); len(pks) != 0 {
			t.Fatalf("passkeys: %d", len(pks))
		}
		if _, err := e.Store.TOTPByUser(context.Background(), uid); !gatehouse.IsCode(err, gatehouse.ENotFound) {
			t.Fatalf("a TOTP setup was stored: %v", err)
		}

		// The owner signing in anew does not help the old session.
		owner, _ := e.Login("alice", adminPW)
		if r := owner.Do("POST", "/api/account/passkeys/begin", nil); r.Status != 200 {
			t.Fatalf("owner's fresh session: %d %s", r.Status, r.Body)
		}
		wantReauth(t, stolen.Do("POST", "/api/account/passkeys/begin", nil), "stolen cookie after the owner signed in elsewhere")
	})
}

// An unfinished setup the owner left behind can be neither seen nor finished by a session that
// could not have started it.
func TestReauthPendingTOTPSetup(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	alice, _ := e.Setup("alice", "alice@example.com", adminPW)
	r := alice.Do("POST", "/api/account/mfa/totp/setup", nil)
	if r.Status != 200 {
		t.Fatalf("setup: %d %s", r.Status, r.Body)
	}
	secret := r.Str("secret")
	e.Clock.Advance(11 * time.Minute)
	wantReauth(t, alice.Do("POST", "/api/account/mfa/totp/confirm", map[string]string{"code": code(t, e, secret, 0)}), "confirm a stale setup")
	if r := alice.Do("GET", "/api/auth/me", nil); r.User().MFAEnabled {
		t.Fatalf("MFA turned on: %s", r.Body)
	}
}

// Re-authentication shares the per-user budget of password checks: the eleventh guess is 429,
// and every wrong one is in the event log.
func TestReauthGuessesLimited(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.Clock.Advance(11 * time.Minute)
	for i := range 11 {
		r := admin.Do("POST", "/api/account/reauth", map[string]string{"password": fmt.Sprintf("guess %d", i)})
		if i < 10 && r.Status != 401 || i == 10 && (r.Status != 429 || r.Header.Get("Retry-After") == "") {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
		}
	}
	// Even the right password waits now.
	if r := admin.Do("POST", "/api/account/reauth", map[string]string{"password": adminPW}); r.Status != 429 {
		t.Fatalf("right password while limited: %d %s", r.Status, r.Body)
	}
	n := 0
	for _, ev := range storeEvents(t, e, gatehouse.EventLoginFailed) {
		if ev.Data["during"] == "reauth" {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("login.failed during reauth: %d, want 10", n)
	}
	wantReauth(t, admin.Do("POST", "/api/account/mfa/totp/setup", nil), "TOTP setup after guesses")
}

func TestReauthBadInput(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.Clock.Advance(11 * time.Minute)
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]string{}, "password"},
		{map[string]string{"password": adminPW, "code": "123456"}, "code"},
		{map[string]string{"code": "123456"}, "code"}, // MFA is off
		{map[string]any{"password": adminPW, "remember": true}, "remember"},
		{`{"password":`, ""},
	} {
		r := admin.Do("POST", "/api/account/reauth", tc.body)
		if r.Status != 400 || r.Code() != gatehouse.EInvalid || (tc.field != "" && r.Field() != tc.field) {
			t.Fatalf("%v: %d %s", tc.body, r.Status, r.Body)
		}
	}
	wantReauth(t, admin.Do("POST", "/api/account/mfa/totp/setup", nil), "TOTP setup after bad input")
	if r := e.Client().Do("POST", "/api/account/reauth", map[string]string{"password": adminPW}); r.Status != 401 {
		t.Fatalf("without a session: %d %s", r.Status, r.Body)
	}
}

// The re-authentication is kept in the database: another instance honours it at once.
func TestReauthAcrossInstances(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		e.Setup("alice", "alice@example.com", adminPW)
		e2 := testserver.New(t, testserver.Options{Backend: backend, DSN: e.DSN, Clock: e.Clock})
		_, login := e.Login("alice", adminPW)
		e.Clock.Advance(11 * time.Minute)
		on1, on2 := e.Bearer(login.Str("access_token")), e2.Bearer(login.Str("access_token"))
		wantReauth(t, on2.Do("POST", "/api/account/mfa/totp/setup", nil), "second instance before reauth")
		if r := on1.Do("POST", "/api/account/reauth", map[string]string{"password": adminPW}); r.Status != 200 {
			t.Fatalf("reauth: %d %s", r.Status, r.Body)
		}
		if r := on2.Do("POST", "/api/account/mfa/totp/setup", nil); r.Status != 200 {
			t.Fatalf("second instance after reauth on the first: %d %s", r.Status, r.Body)
		}
	})
}

// A passkey that is the account's last way to sign in cannot be deleted.
func TestPasskeyDeleteKeepsLastWayIn(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Localhost: true})
	alice, setup := e.Setup("alice", "alice@example.com", adminPW)
	uid := userID(setup)
	a, b := webauthntest.New(e.URL), webauthntest.New(e.URL)
	if r := registerPasskey(t, alice, a, "One"); r.Status != 201 {
		t.Fatalf("add: %d %s", r.Status, r.Body)
	}
	if r := registerPasskey(t, alice, b, "Two"); r.Status != 201 {
		t.Fatalf("add: %d %s", r.Status, r.Body)
	}
	// The account loses its password, as one made by an external sign-in never has one.
	none := ""
	if _, err := e.Store.UpdateUser(context.Background(), uid, gatehouse.UserUpdate{PasswordHash: &none}); err != nil {
		t.Fatal(err)
	}
	pks := storedPasskeys(t, e, uid)
	if r := alice.Do("DELETE", fmt.Sprintf("/api/account/passkeys/%d", pks[0].ID), nil); r.Status != 204 && r.Status != 200 {
		t.Fatalf("delete one of two: %d %s", r.Status, r.Body)
	}
	r := alice.Do("DELETE", fmt.Sprintf("/api/account/passkeys/%d", pks[1].ID), nil)
	if r.Status != 409 || r.Code() != gatehouse.EConflict {
		t.Fatalf("delete the last way in: %d %s", r.Status, r.Body)
	}
	if msg := r.Message(); !containsFold(msg, "only way to sign in") {
		t.Fatalf("message: %q", msg)
	}
	if left := storedPasskeys(t, e, uid); len(left) != 1 || left[0].ID != pks[1].ID {
		t.Fatalf("passkeys left: %+v", left)
	}
	// Another user's passkey id is simply unknown.
	if r := alice.Do("DELETE", "/api/account/passkeys/999999", nil); r.Status != 404 {
		t.Fatalf("unknown passkey: %d %s", r.Status, r.Body)
	}
}

// Linking an external identity from the security page needs a recent authentication; the
// "Confirm it's you" form then continues to the provider, and the link completes.
func TestExternalLinkNeedsRecentAuth(t *testing.T) {
	t.Parallel()
	x := newExtEnv(t, "sqlite", nil)
	x.e.CreateUser(x.admin, "gina", "gina@example.com", "gina password 1", "user")
	b := x.browser()
	if r := b.Do("POST", "/api/auth/login", map[string]string{"login": "gina", "password": "gina password 1"}); r.Status != 200 {
		t.Fatal(r.Status)
	}
	x.e.Clock.Advance(11 * time.Minute)
	x.op.FastForward(11 * time.Minute)
	b.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r := b.Form("/settings/security/link/test-op", url.Values{}, "Origin", x.e.URL)
	if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "you to link an external identity") ||
		!strings.Contains(string(r.Body), `name="then" value="link:test-op"`) {
		t.Fatalf("link while not recent: %d %s", r.Status, r.Body)
	}
	if n := len(b.Do("GET", "/api/account/identities", nil).Identities().Items); n != 0 {
		t.Fatalf("%d identities", n)
	}
	r = b.Form("/settings/security/reauth", url.Values{"password": {"gina password 1"}, "then": {"link:test-op"}}, "Origin", x.e.URL)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), x.op.Issuer()) {
		t.Fatalf("reauth then link: %d %v %s", r.Status, r.Header, r.Body)
	}
	x.op.Queue(oidctest.User{Subject: "sub-gina", Email: "gina@elsewhere.example", EmailVerified: true})
	b.HTTP.CheckRedirect = nil
	follow := x.browser()
	follow.HTTP.Jar = b.HTTP.Jar
	if st, loc, body := follow.Page(t, r.Header.Get("Location")); st != http.StatusSeeOther || loc != "/settings/security?done=linked" {
		t.Fatalf("link: %d %q %s", st, loc, body)
	}
}

// A passkey assertion confirms it is the user too, but only with one of the user's own passkeys,
// and only through a ceremony started for that.
func TestReauthWithPasskey(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend, Localhost: true})
		alice, _ := e.Setup("alice", "alice@example.com", adminPW)
		e.CreateUser(alice, "bob", "bob@example.com", "bob password 1", "user")
		bob, _ := e.Login("bob", "bob password 1")
		aliceKey, bobKey := webauthntest.New(e.URL), webauthntest.New(e.URL)
		if r := registerPasskey(t, alice, aliceKey, "Alice's laptop"); r.Status != 201 {
			t.Fatalf("add: %d %s", r.Status, r.Body)
		}
		if r := registerPasskey(t, bob, bobKey, "Bob's key"); r.Status != 201 {
			t.Fatalf("add: %d %s", r.Status, r.Body)
		}
		e.Clock.Advance(11 * time.Minute)
		if r := alice.Do("GET", "/api/account/reauth", nil); fmt.Sprint(r.JSON["methods"]) != "[password passkey]" {
			t.Fatalf("methods: %s", r.Body)
		}

		// Bob's passkey does not confirm Alice.
		b := alice.Do("POST", "/api/account/reauth/passkey/begin", nil)
		if r := alice.Do("POST", "/api/account/reauth/passkey/finish", map[string]any{"ceremony": b.Str("ceremony"), "credential": bobKey.Get(publicKey(t, b))}); r.Status != 401 || r.Code() != gatehouse.EInvalidCredentials {
			t.Fatalf("bob's passkey for alice: %d %s", r.Status, r.Body)
		}
		wantReauth(t, alice.Do("POST", "/api/account/passkeys/begin", nil), "after bob's passkey")
		// Alice's ceremony cannot be finished in Bob's session, nor a sign-in ceremony used.
		b = alice.Do("POST", "/api/account/reauth/passkey/begin", nil)
		if r := bob.Do("POST", "/api/account/reauth/passkey/finish", map[string]any{"ceremony": b.Str("ceremony"), "credential": bobKey.Get(publicKey(t, b))}); r.Status != 400 || r.Field() != "ceremony" {
			t.Fatalf("alice's ceremony in bob's session: %d %s", r.Status, r.Body)
		}
		sb := e.Client().Do("POST", "/api/auth/passkey/begin", nil)
		if r := alice.Do("POST", "/api/account/reauth/passkey/finish", map[string]any{"ceremony": sb.Str("ceremony"), "credential": aliceKey.Get(publicKey(t, sb))}); r.Status != 400 || r.Field() != "ceremony" {
			t.Fatalf("sign-in ceremony for reauth: %d %s", r.Status, r.Body)
		}
		wantReauth(t, alice.Do("POST", "/api/account/passkeys/begin", nil), "after refused ceremonies")

		// Her own passkey does.
		b = alice.Do("POST", "/api/account/reauth/passkey/begin", nil)
		r := alice.Do("POST", "/api/account/reauth/passkey/finish", map[string]any{"ceremony": b.Str("ceremony"), "credential": aliceKey.Get(publicKey(t, b))})
		if r.Status != 200 || r.JSON["recently_authenticated"] != true {
			t.Fatalf("alice's passkey: %d %s", r.Status, r.Body)
		}
		if r := alice.Do("POST", "/api/account/passkeys/begin", nil); r.Status != 200 {
			t.Fatalf("passkey begin after passkey reauth: %d %s", r.Status, r.Body)
		}
		if es := storeEvents(t, e, gatehouse.EventReauthenticated); len(es) != 1 || es[0].Data["method"] != "passkey" {
			t.Fatalf("reauth events: %+v", es)
		}
	})
}

// With MFA on, the password alone does not re-authenticate: a stolen cookie plus a phished
// password must not be enough to add a way in that skips the second factor.
func TestReauthWithMFANeedsTheCode(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	secret, _ := enroll(t, e, admin)
	e.Clock.Advance(11 * time.Minute)
	if r := admin.Do("POST", "/api/account/reauth", map[string]string{"password": adminPW}); r.Status != 400 || r.Field() != "code" {
		t.Fatalf("password alone with MFA on: %d %s", r.Status, r.Body)
	}
	if r := admin.Do("POST", "/api/account/reauth", map[string]string{"code": code(t, e, secret, 0)}); r.Status != 200 {
		t.Fatalf("with the code: %d %s", r.Status, r.Body)
	}
}
