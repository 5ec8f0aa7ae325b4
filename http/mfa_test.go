package http_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// code computes the authenticator code at the server's (fake) time plus d, with pquerna/otp
// directly: what an authenticator app would show.
func code(t *testing.T, e *testserver.Env, secret string, d time.Duration) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, e.Clock.Now().Add(d))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enroll sets up an authenticator for the signed-in client and returns its secret and recovery
// codes. It leaves the clock one step later, so the confirmation code is not the current one.
func enroll(t *testing.T, e *testserver.Env, c *testserver.Client) (string, []string) {
	t.Helper()
	r := c.Do("POST", "/api/account/mfa/totp/setup", nil)
	if r.Status != 200 || r.Str("secret") == "" || !strings.HasPrefix(r.Str("otpauth_url"), "otpauth://totp/") {
		t.Fatalf("setup: %d %s", r.Status, r.Body)
	}
	secret := r.Str("secret")
	if !strings.Contains(r.Str("otpauth_url"), "secret="+secret) {
		t.Fatalf("otpauth_url %q lacks the secret", r.Str("otpauth_url"))
	}
	r = c.Do("POST", "/api/account/mfa/totp/confirm", map[string]string{"code": code(t, e, secret, 0)})
	if r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	codes := testserver.Decode[testserver.RecoveryCodes](r).RecoveryCodes
	e.Clock.Advance(30 * time.Second)
	return secret, codes
}

// passwordStep signs in with a password and expects the MFA challenge; it returns the token.
func passwordStep(t *testing.T, e *testserver.Env, c *testserver.Client, login, pw string) string {
	t.Helper()
	r := c.Do("POST", "/api/auth/login", map[string]any{"login": login, "password": pw})
	if r.Status != 200 || r.JSON["mfa_required"] != true || r.Str("mfa_token") == "" {
		t.Fatalf("password step: %d %s", r.Status, r.Body)
	}
	if r.Str("access_token") != "" || r.Header.Get("Set-Cookie") != "" {
		t.Fatalf("the password step of an MFA account gave credentials: %s / %q", r.Body, r.Header.Get("Set-Cookie"))
	}
	if fmt.Sprint(r.JSON["methods"]) != "[totp recovery_code]" || r.JSON["expires_in"] != float64(300) {
		t.Fatalf("challenge: %s", r.Body)
	}
	return r.Str("mfa_token")
}

func events(t *testing.T, admin *testserver.Client, kind string) []testserver.Event {
	t.Helper()
	r := admin.Do("GET", "/api/admin/events?kind="+kind, nil)
	if r.Status != 200 {
		t.Fatalf("events: %d %s", r.Status, r.Body)
	}
	return r.Events().Items
}

func TestMFASignInWithCodeAndRecoveryCode(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)

		// Confirming needs the right code; a wrong one changes nothing.
		r := admin.Do("POST", "/api/account/mfa/totp/confirm", map[string]string{"code": "123456"})
		if r.Status != 404 {
			t.Fatalf("confirm before setup: %d %s", r.Status, r.Body)
		}
		r = admin.Do("POST", "/api/account/mfa/totp/setup", nil)
		secret := r.Str("secret")
		wrong := fmt.Sprintf("%06d", (atoi(code(t, e, secret, 0))+1)%1000000)
		r = admin.Do("POST", "/api/account/mfa/totp/confirm", map[string]string{"code": wrong})
		if r.Status != 400 || r.Code() != "invalid_input" || r.Field() != "code" {
			t.Fatalf("wrong confirmation code: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("GET", "/api/auth/me", nil); r.User().MFAEnabled {
			t.Fatalf("MFA on after a wrong code: %s", r.Body)
		}
		confirmCode := code(t, e, secret, 0)
		r = admin.Do("POST", "/api/account/mfa/totp/confirm", map[string]string{"code": confirmCode})
		if r.Status != 200 {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		codes := testserver.Decode[testserver.RecoveryCodes](r).RecoveryCodes
		if len(codes) != 10 {
			t.Fatalf("%d recovery codes", len(codes))
		}
		seen := map[string]bool{}
		for _, c := range codes {
			s := c
			if len(s) != 19 || seen[s] {
				t.Fatalf("recovery codes %v", codes)
			}
			seen[s] = true
		}
		if r := admin.Do("GET", "/api/auth/me", nil); !r.User().MFAEnabled {
			t.Fatalf("me after enabling: %s", r.Body)
		}
		// Setting up again while on is refused.
		if r := admin.Do("POST", "/api/account/mfa/totp/setup", nil); r.Status != 409 {
			t.Fatalf("second setup: %d %s", r.Status, r.Body)
		}

		// A correct password alone gives no session.
		c := e.Client()
		tok := passwordStep(t, e, c, "alice", adminPW)
		if r := c.Do("GET", "/api/auth/me", nil); r.Status != 401 {
			t.Fatalf("me after the password step: %d", r.Status)
		}
		// The code used to confirm is spent (same time step): replay refused.
		r = c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": confirmCode})
		if r.Status != 401 || r.Code() != "invalid_credentials" || r.Field() != "code" || !strings.Contains(r.Message(), "4 attempts left") {
			t.Fatalf("replayed confirmation code: %d %s", r.Status, r.Body)
		}
		e.Clock.Advance(30 * time.Second)
		good := code(t, e, secret, 0)
		r = c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": good})
		if r.Status != 200 || r.Str("access_token") == "" || r.JSON["recovery_codes_remaining"] != float64(10) || !strings.Contains(r.Header.Get("Set-Cookie"), "gatehouse_session=") {
			t.Fatalf("code step: %d %s", r.Status, r.Body)
		}
		if r := c.Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("me with the cookie after MFA: %d", r.Status)
		}
		if r := e.Bearer(r.Str("access_token")).Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("me with the token after MFA: %d", r.Status)
		}
		// The finished challenge is gone.
		if r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": good}); r.Status != 401 || r.Code() != "unauthorized" {
			t.Fatalf("finished challenge reused: %d %s", r.Status, r.Body)
		}
		// The same code on a new challenge: replay.
		c2 := e.Client()
		tok2 := passwordStep(t, e, c2, "alice@example.com", adminPW)
		if r := c2.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok2, "code": good}); r.Status != 401 || r.Code() != "invalid_credentials" {
			t.Fatalf("replayed code: %d %s", r.Status, r.Body)
		}

		// A recovery code works once, in any case and without dashes, and the count drops.
		rc := codes[3]
		r = c2.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok2, "recovery_code": strings.ToUpper(strings.ReplaceAll(rc, "-", ""))})
		if r.Status != 200 || r.JSON["recovery_codes_remaining"] != float64(9) {
			t.Fatalf("recovery code: %d %s", r.Status, r.Body)
		}
		c3 := e.Client()
		tok3 := passwordStep(t, e, c3, "alice", adminPW)
		if r := c3.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok3, "recovery_code": rc}); r.Status != 401 || r.Field() != "recovery_code" {
			t.Fatalf("recovery code used twice: %d %s", r.Status, r.Body)
		}

		// Bad input names the field and costs nothing.
		for _, tc := range []struct {
			body  map[string]string
			field string
		}{
			{map[string]string{"mfa_token": tok3, "code": "123456", "recovery_code": rc}, "code"},
			{map[string]string{"mfa_token": tok3}, "code"},
			{map[string]string{"code": "123456"}, "mfa_token"},
		} {
			if r := c3.Do("POST", "/api/auth/login/mfa", tc.body); r.Status != 400 || r.Field() != tc.field {
				t.Fatalf("%v: %d %s", tc.body, r.Status, r.Body)
			}
		}
		if r := c3.Do("POST", "/api/auth/login/mfa", `{"mfa_token":"x","code":"1","extra":1}`); r.Status != 400 || r.Field() != "extra" {
			t.Fatalf("unknown field: %d %s", r.Status, r.Body)
		}

		for kind, n := range map[string]int{"mfa.enabled": 1, "login.mfa_required": 3, "mfa.succeeded": 2, "mfa.failed": 4, "mfa.recovery_code_used": 1} {
			if ev := events(t, admin, kind); len(ev) != n {
				t.Errorf("%d %s events, want %d: %v", len(ev), kind, n, ev)
			}
		}
		if ev := events(t, admin, "mfa.recovery_code_used"); ev[0].Data["remaining"] != float64(9) {
			t.Errorf("recovery code event: %v", ev)
		}
		// The sessions record how they were authenticated.
		methods := map[string]bool{}
		for _, s := range admin.Do("GET", "/api/account/sessions", nil).Sessions().Items {
			methods[s.AuthMethod] = true
		}
		if !methods["totp"] || !methods["recovery_code"] {
			t.Fatalf("session methods %v", methods)
		}
	})
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

func TestMFAClockSkew(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	c, _ := e.Setup("alice", "alice@example.com", adminPW)
	secret, _ := enroll(t, e, c)
	// Align to the start of a step so ±30 s is exactly ±1 step.
	e.Clock.Advance(time.Duration(30-e.Clock.Now().Unix()%30) * time.Second)

	try := func(d time.Duration) int {
		tok := passwordStep(t, e, e.Client(), "alice", adminPW)
		return e.Client().Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": code(t, e, secret, d)}).Status
	}
	// Two steps off either way: refused.
	for _, d := range []time.Duration{-60 * time.Second, 60 * time.Second} {
		if s := try(d); s != 401 {
			t.Fatalf("code %v off: %d, want 401", d, s)
		}
	}
	// One step behind, then one ahead: accepted (each a later step than the last used).
	for _, d := range []time.Duration{-30 * time.Second, 30 * time.Second} {
		if s := try(d); s != 200 {
			t.Fatalf("code %v off: %d, want 200", d, s)
		}
	}
	// Having used the step ahead, the current one is older: refused as a replay.
	if s := try(0); s != 401 {
		t.Fatalf("code older than the last used step: %d, want 401", s)
	}
}

func TestMFAAttemptLimitAndExpiry(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		secret, _ := enroll(t, e, admin)

		// Five attempts (auth_mfa_max_attempts), then the challenge is dead, even for the right code.
		c := e.Client()
		tok := passwordStep(t, e, c, "alice", adminPW)
		for i := 1; i <= 5; i++ {
			r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": "000000"})
			want := "invalid_credentials"
			if i == 5 {
				want = "unauthorized" // the last one says to start over
			}
			if r.Status != 401 || r.Code() != want {
				t.Fatalf("wrong code %d: %d %s", i, r.Status, r.Body)
			}
		}
		if r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": code(t, e, secret, 0)}); r.Status != 401 || r.Code() != "unauthorized" {
			t.Fatalf("right code after the attempts ran out: %d %s", r.Status, r.Body)
		}
		// The setting is honoured.
		if r := admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_mfa_max_attempts": 2, "auth_mfa_challenge_ttl_secs": 60}); r.Status != 204 && r.Status != 200 {
			t.Fatalf("settings: %d %s", r.Status, r.Body)
		}
		tok = passwordStep2(t, c, "alice", 60)
		c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": "000000"})
		if r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": "000000"}); r.Code() != "unauthorized" {
			t.Fatalf("second wrong code with max 2: %d %s", r.Status, r.Body)
		}

		// Expiry: the challenge lives auth_mfa_challenge_ttl_secs (now 60).
		tok = passwordStep2(t, c, "alice", 60)
		e.Clock.Advance(61 * time.Second)
		if r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": code(t, e, secret, 0)}); r.Status != 401 || r.Code() != "unauthorized" {
			t.Fatalf("right code after expiry: %d %s", r.Status, r.Body)
		}
		tok = passwordStep2(t, c, "alice", 60)
		e.Clock.Advance(59 * time.Second)
		if r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": code(t, e, secret, 0)}); r.Status != 200 {
			t.Fatalf("right code before expiry: %d %s", r.Status, r.Body)
		}
	})
}

// passwordStep2 is passwordStep for a challenge lifetime other than the default.
func passwordStep2(t *testing.T, c *testserver.Client, login string, ttl int) string {
	t.Helper()
	r := c.Do("POST", "/api/auth/login", map[string]any{"login": login, "password": adminPW})
	if r.JSON["mfa_required"] != true || r.JSON["expires_in"] != float64(ttl) {
		t.Fatalf("password step: %d %s", r.Status, r.Body)
	}
	return r.Str("mfa_token")
}

// Racing completions of one challenge, each with a valid code: exactly one session.
func TestMFAConcurrentCompletion(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	secret, codes := enroll(t, e, admin)
	tok := passwordStep(t, e, e.Client(), "alice", adminPW)
	var wg sync.WaitGroup
	statuses := make([]int, 6)
	for i := range statuses {
		wg.Go(func() {
			body := map[string]string{"mfa_token": tok, "code": code(t, e, secret, 0)}
			if i%2 == 1 {
				body = map[string]string{"mfa_token": tok, "recovery_code": codes[i]}
			}
			statuses[i] = e.Client().Do("POST", "/api/auth/login/mfa", body).Status
		})
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == 200 {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d completions succeeded, want 1: %v", ok, statuses)
	}
}

func TestMFARegenerateAndDisable(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		secret, old := enroll(t, e, admin)

		// Regenerating needs a current code or the password.
		for _, tc := range []struct {
			body   map[string]string
			status int
			field  string
		}{
			{map[string]string{}, 400, "code"},
			{map[string]string{"code": "000000", "password": adminPW}, 400, "code"},
			{map[string]string{"password": "wrong password"}, 401, "password"},
			{map[string]string{"code": "000000"}, 401, "code"},
		} {
			if r := admin.Do("POST", "/api/account/mfa/recovery-codes", tc.body); r.Status != tc.status || r.Field() != tc.field {
				t.Fatalf("%v: %d %s", tc.body, r.Status, r.Body)
			}
		}
		r := admin.Do("POST", "/api/account/mfa/recovery-codes", map[string]string{"password": adminPW})
		fresh := testserver.Decode[testserver.RecoveryCodes](r).RecoveryCodes
		if r.Status != 200 || len(fresh) != 10 {
			t.Fatalf("regenerate: %d %s", r.Status, r.Body)
		}
		c := e.Client()
		tok := passwordStep(t, e, c, "alice", adminPW)
		if r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "recovery_code": old[0]}); r.Status != 401 {
			t.Fatalf("an old recovery code after regenerating: %d %s", r.Status, r.Body)
		}
		if r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "recovery_code": fresh[0]}); r.Status != 200 || r.JSON["recovery_codes_remaining"] != float64(9) {
			t.Fatalf("a new recovery code: %d %s", r.Status, r.Body)
		}

		// Turning off with a current code.
		if r := admin.Do("DELETE", "/api/account/mfa/totp", map[string]string{"code": "000000"}); r.Status != 401 || r.Field() != "code" {
			t.Fatalf("disable with a wrong code: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("DELETE", "/api/account/mfa/totp", map[string]string{"code": code(t, e, secret, 0)}); r.Status != 204 {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("DELETE", "/api/account/mfa/totp", map[string]string{"password": adminPW}); r.Status != 409 {
			t.Fatalf("disable twice: %d %s", r.Status, r.Body)
		}
		if _, r := e.Login("alice", adminPW); r.Str("access_token") == "" || r.User().MFAEnabled {
			t.Fatalf("login after disabling: %s", r.Body)
		}
		if len(events(t, admin, "mfa.disabled")) != 1 || len(events(t, admin, "mfa.recovery_codes_regenerated")) != 1 {
			t.Fatal("missing mfa.disabled or mfa.recovery_codes_regenerated event")
		}
		// And on again with a new secret, turned off with the password this time.
		enroll(t, e, admin)
		if r := admin.Do("DELETE", "/api/account/mfa/totp", map[string]string{"password": adminPW}); r.Status != 204 {
			t.Fatalf("disable with the password: %d %s", r.Status, r.Body)
		}
	})
}

func TestAdminResetMFA(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		id := e.CreateUser(admin, "bob", "bob@example.com", adminPW, "user")
		bob, login := e.Login("bob", adminPW)
		bobToken := login.Str("access_token")
		secret, _ := enroll(t, e, bob)
		// A second session through MFA, and an unfinished challenge.
		bob2 := e.Client()
		tok := passwordStep(t, e, bob2, "bob", adminPW)
		if r := bob2.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": code(t, e, secret, 0)}); r.Status != 200 {
			t.Fatalf("bob's MFA sign-in: %d %s", r.Status, r.Body)
		}
		pending := passwordStep(t, e, e.Client(), "bob", adminPW)

		// Only administrators.
		if r := bob.Do("DELETE", fmt.Sprintf("/api/admin/users/%d/mfa", id), nil); r.Status != 403 {
			t.Fatalf("reset by a user: %d", r.Status)
		}
		r := admin.Do("DELETE", fmt.Sprintf("/api/admin/users/%d/mfa", id), nil)
		if r.Status != 200 || r.JSON["sessions_ended"] != float64(2) {
			t.Fatalf("reset: %d %s", r.Status, r.Body)
		}
		// Every session of bob has ended, at once, for cookie and Bearer alike.
		for name, c := range map[string]*testserver.Client{"cookie 1": bob, "cookie 2": bob2, "bearer": e.Bearer(bobToken)} {
			if r := c.Do("GET", "/api/auth/me", nil); r.Status != 401 {
				t.Fatalf("%s after the reset: %d", name, r.Status)
			}
		}
		// The unfinished challenge died with it.
		e.Clock.Advance(30 * time.Second)
		if r := e.Client().Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": pending, "code": code(t, e, secret, 0)}); r.Status != 401 || r.Code() != "unauthorized" {
			t.Fatalf("a challenge from before the reset: %d %s", r.Status, r.Body)
		}
		// Bob signs in with the password alone and can set up MFA again.
		bob3, r := e.Login("bob", adminPW)
		if r.Str("access_token") == "" || r.User().MFAEnabled {
			t.Fatalf("login after reset: %s", r.Body)
		}
		if r := bob3.Do("POST", "/api/account/mfa/totp/setup", nil); r.Status != 200 {
			t.Fatalf("setup after reset: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("GET", fmt.Sprintf("/api/admin/users/%d", id), nil); r.JSON["mfa_enabled"] != false {
			t.Fatalf("user after reset: %s", r.Body)
		}
		// Nothing to reset now; unknown users are 404.
		if r := admin.Do("DELETE", fmt.Sprintf("/api/admin/users/%d/mfa", id), nil); r.Status != 409 {
			t.Fatalf("second reset: %d %s", r.Status, r.Body)
		}
		if r := admin.Do("DELETE", "/api/admin/users/99999/mfa", nil); r.Status != 404 {
			t.Fatalf("reset of a missing user: %d %s", r.Status, r.Body)
		}
		ev := events(t, admin, "mfa.reset")
		if len(ev) != 1 || ev[0].Data["target_user_id"] != float64(id) || ev[0].Data["sessions_ended"] != float64(2) {
			t.Fatalf("mfa.reset events: %v", ev)
		}
		n := 0
		for _, l := range events(t, admin, "logout") {
			if l.Data["reason"] == "mfa_reset" {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%d logout events with reason mfa_reset, want 2", n)
		}
	})
}

// A changed mfa_secret_key: the TOTP step fails with a clear code and message and a log line that
// names the cause; recovery codes still work; nothing crashes.
func TestMFAChangedSecretKey(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		secret, codes := enroll(t, e, admin)

		var logs bytes.Buffer
		var mu sync.Mutex
		e2 := testserver.New(t, testserver.Options{Backend: backend, DSN: e.DSN, Clock: e.Clock,
			MFASecretKey: "another-mfa-key-0123456789abcdefghij", Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))})
		c := e2.Client()
		tok := passwordStep(t, e2, c, "alice", adminPW)
		r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": code(t, e, secret, 0)})
		if r.Status != http.StatusInternalServerError || r.Code() != "mfa_unavailable" || !strings.Contains(r.Message(), "MFA key has changed") {
			t.Fatalf("code with a changed key: %d %s", r.Status, r.Body)
		}
		mu.Lock()
		l := logs.String()
		mu.Unlock()
		if !strings.Contains(l, "mfa_secret_key has probably changed") {
			t.Fatalf("log does not explain: %s", l)
		}
		// Recovery codes do not depend on the key.
		if r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "recovery_code": codes[0]}); r.Status != 200 {
			t.Fatalf("recovery code with a changed key: %d %s", r.Status, r.Body)
		}
		// The old key still works on the first server.
		e.Clock.Advance(30 * time.Second)
		c1 := e.Client()
		tok = passwordStep(t, e, c1, "alice", adminPW)
		if r := c1.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": code(t, e, secret, 0)}); r.Status != 200 {
			t.Fatalf("code with the original key: %d %s", r.Status, r.Body)
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// Guesses are limited per user across challenges: opening challenge after challenge with the
// right password does not give an attacker more than the bucket.
func TestMFAGuessesLimitedAcrossChallenges(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	enroll(t, e, admin)
	c := e.Client()
	limited := false
	for i := 0; i < 20 && !limited; i++ {
		tok := passwordStep(t, e, c, "alice", adminPW)
		for range 2 {
			r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": "000000"})
			if r.Status == 429 {
				limited = true
				break
			}
		}
	}
	if !limited {
		t.Fatal("40 wrong codes over 20 challenges were never rate limited")
	}
}

// failingLimiter is a rate limiter whose store is down (Redis unreachable).
type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string, int, time.Duration) (bool, time.Duration, error) {
	return false, 0, errors.New("redis: connection refused")
}
func (failingLimiter) Peek(context.Context, string, int, int, time.Duration) (bool, time.Duration, error) {
	return false, 0, errors.New("redis: connection refused")
}
func (failingLimiter) Reset(context.Context, string) error {
	return errors.New("redis: connection refused")
}

// With the limiter down, passwords still work (the hashing pool bounds guessing) but codes are
// not checked: nothing else would slow guessing a six-digit code.
func TestMFAFailsClosedWithoutTheLimiter(t *testing.T) {
	t.Parallel()
	first := testserver.New(t, testserver.Options{})
	admin, _ := first.Setup("alice", "alice@example.com", adminPW)
	secret, _ := enroll(t, first, admin)
	// The same database, served by an instance whose limiter is down.
	e := testserver.New(t, testserver.Options{DSN: first.DSN, Clock: first.Clock, Limiter: failingLimiter{}})
	c := e.Client()
	tok := passwordStep(t, e, c, "alice", adminPW)
	r := c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": code(t, e, secret, 0)})
	if r.Status != 503 || r.Code() != "server_busy" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("second factor with the limiter down: %d %s", r.Status, r.Body)
	}
}
