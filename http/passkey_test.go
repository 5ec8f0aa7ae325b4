package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/internal/webauthntest"
)

func publicKey(t *testing.T, r *testserver.Response) json.RawMessage {
	t.Helper()
	if r.Status != 200 || r.Str("ceremony") == "" {
		t.Fatalf("begin: %d %s", r.Status, r.Body)
	}
	b, err := json.Marshal(r.JSON["publicKey"])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// registerPasskey runs a whole registration with the software authenticator.
func registerPasskey(t *testing.T, c *testserver.Client, a *webauthntest.Authenticator, name string) *testserver.Response {
	t.Helper()
	b := c.Do("POST", "/api/account/passkeys/begin", nil)
	return c.Do("POST", "/api/account/passkeys/finish", map[string]any{"ceremony": b.Str("ceremony"), "name": name, "credential": a.Create(publicKey(t, b))})
}

// passkeySignIn runs a whole sign-in in a fresh client and returns it with the finish answer.
func passkeySignIn(t *testing.T, e *testserver.Env, a *webauthntest.Authenticator) (*testserver.Client, *testserver.Response) {
	t.Helper()
	c := e.Client()
	b := c.Do("POST", "/api/auth/passkey/begin", nil)
	return c, c.Do("POST", "/api/auth/passkey/finish", map[string]any{"ceremony": b.Str("ceremony"), "credential": a.Get(publicKey(t, b))})
}

func storeEvents(t *testing.T, e *testserver.Env, kind string) []*gatehouse.Event {
	t.Helper()
	es, _, err := e.Store.ListEvents(context.Background(), gatehouse.EventFilter{Kind: kind, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func storedPasskeys(t *testing.T, e *testserver.Env, uid int64) []*gatehouse.Passkey {
	t.Helper()
	ps, err := e.Store.ListPasskeys(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend, Localhost: true})
		alice, setup := e.Setup("alice", "alice@example.com", adminPW)
		uid := setup.User().ID
		if r := e.Client().Do("GET", "/api/auth/state", nil); r.JSON["passkey_enabled"] != true {
			t.Fatalf("state on localhost: %s", r.Body)
		}

		// Creation options: discoverable, user verification required, this RP, a random handle.
		b := alice.Do("POST", "/api/account/passkeys/begin", nil)
		var opts struct {
			RP struct {
				ID string `json:"id"`
			} `json:"rp"`
			User struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"user"`
			AuthenticatorSelection struct {
				ResidentKey      string `json:"residentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
		}
		if err := json.Unmarshal(publicKey(t, b), &opts); err != nil {
			t.Fatal(err)
		}
		if opts.RP.ID != "localhost" || opts.User.Name != "alice" || opts.AuthenticatorSelection.ResidentKey != "required" ||
			opts.AuthenticatorSelection.UserVerification != "required" || len(opts.User.ID) < 40 {
			t.Fatalf("creation options: %s", b.Body)
		}

		a := webauthntest.New(e.URL)
		r := registerPasskey(t, alice, a, "  MacBook  ")
		if p := testserver.Decode[testserver.Passkey](r); r.Status != 201 || p.Name != "MacBook" || !p.BackupEligible || !p.BackupState || p.LastUsedAt != nil {
			t.Fatalf("finish registration: %d %s", r.Status, r.Body)
		}
		// The same authenticator cannot be registered twice.
		a2 := *a
		if r := registerPasskey(t, alice, &a2, "again"); r.Status != 409 || r.Field() != "credential" {
			t.Fatalf("duplicate registration: %d %s", r.Status, r.Body)
		}
		list := alice.Do("GET", "/api/account/passkeys", nil)
		items := testserver.Items[testserver.Passkey](list)
		if len(items) != 1 || items[0].Name != "MacBook" {
			t.Fatalf("list: %s", list.Body)
		}
		if es := storeEvents(t, e, gatehouse.EventPasskeyAdded); len(es) != 1 || es[0].Data["name"] != "MacBook" || *es[0].UserID != uid {
			t.Fatalf("passkey.added: %+v", es)
		}

		// Request options: no allowCredentials (discoverable), user verification required.
		c := e.Client()
		b = c.Do("POST", "/api/auth/passkey/begin", nil)
		pk := publicKey(t, b)
		var ro webauthntest.RequestOptions
		_ = json.Unmarshal(pk, &ro)
		if ro.RPID != "localhost" || ro.UserVerification != "required" || len(ro.AllowCredentials) != 0 {
			t.Fatalf("request options: %s", pk)
		}
		e.Clock.Advance(time.Minute)
		r = c.Do("POST", "/api/auth/passkey/finish", map[string]any{"ceremony": b.Str("ceremony"), "credential": a.Get(pk)})
		if r.Status != 200 || r.Str("access_token") == "" || r.Str("refresh_token") == "" {
			t.Fatalf("passkey sign-in: %d %s", r.Status, r.Body)
		}
		if !strings.Contains(r.Header.Get("Set-Cookie"), "gatehouse_session=") {
			t.Fatalf("no session cookie: %v", r.Header)
		}
		if me := c.Do("GET", "/api/auth/me", nil); me.Status != 200 || me.User().Username != "alice" {
			t.Fatalf("me after passkey sign-in: %d %s", me.Status, me.Body)
		}
		ls := storeEvents(t, e, gatehouse.EventLoginSucceeded)
		if ls[0].Data["method"] != gatehouse.AuthPasskey {
			t.Fatalf("login.succeeded: %+v", ls[0])
		}
		// The library's updated copy was stored: counter and last use.
		ps := storedPasskeys(t, e, uid)
		if ps[0].SignCount != 1 || ps[0].LastUsedAt == nil || !ps[0].LastUsedAt.Equal(e.Clock.Now()) {
			t.Fatalf("stored after sign-in: %+v", ps[0])
		}

		// The ceremony was spent: the same answer again is refused, and nothing changes.
		r = c.Do("POST", "/api/auth/passkey/finish", map[string]any{"ceremony": b.Str("ceremony"), "credential": a.Get(pk)})
		if r.Status != 400 || r.Field() != "ceremony" {
			t.Fatalf("replayed ceremony: %d %s", r.Status, r.Body)
		}
		// A new ceremony does not accept an answer to an old challenge.
		b2 := c.Do("POST", "/api/auth/passkey/begin", nil)
		publicKey(t, b2)
		r = c.Do("POST", "/api/auth/passkey/finish", map[string]any{"ceremony": b2.Str("ceremony"), "credential": a.Get(pk)})
		if r.Status != 401 || r.Code() != gatehouse.EInvalidCredentials {
			t.Fatalf("old challenge, new ceremony: %d %s", r.Status, r.Body)
		}
		if n := len(storeEvents(t, e, gatehouse.EventLoginSucceeded)); n != len(ls) {
			t.Fatalf("a replay signed in (%d sign-ins)", n)
		}

		// Rename and delete; then the passkey no longer signs in.
		id := items[0].ID
		idPath := "/api/account/passkeys/" + jsonInt(id)
		if r := alice.Do("PATCH", idPath, map[string]string{"name": " "}); r.Status != 400 || r.Field() != "name" {
			t.Fatalf("empty name: %d %s", r.Status, r.Body)
		}
		if r := alice.Do("PATCH", idPath, map[string]string{"name": strings.Repeat("x", 65)}); r.Status != 400 || r.Field() != "name" {
			t.Fatalf("long name: %d %s", r.Status, r.Body)
		}
		if r := alice.Do("PATCH", idPath, map[string]string{"name": "iPhone"}); r.Status != 200 || testserver.Decode[testserver.Passkey](r).Name != "iPhone" {
			t.Fatalf("rename: %d %s", r.Status, r.Body)
		}
		if r := alice.Do("DELETE", idPath, nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := alice.Do("DELETE", idPath, nil); r.Status != 404 {
			t.Fatalf("delete twice: %d %s", r.Status, r.Body)
		}
		if es := storeEvents(t, e, gatehouse.EventPasskeyRemoved); len(es) != 1 || es[0].Data["name"] != "iPhone" {
			t.Fatalf("passkey.removed: %+v", es)
		}
		if _, r := passkeySignIn(t, e, a); r.Status != 401 || r.Code() != gatehouse.EInvalidCredentials {
			t.Fatalf("sign-in with a deleted passkey: %d %s", r.Status, r.Body)
		}
		// The password still works: passkeys never replaced it.
		e.Login("alice", adminPW)
	})
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestPasskeySignInRefusals drives the ceremony with a software authenticator that gets one
// thing wrong at a time; each answer is refused and signs nobody in.
func TestPasskeySignInRefusals(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Localhost: true})
	alice, setup := e.Setup("alice", "alice@example.com", adminPW)
	uid := setup.User().ID
	a := webauthntest.New(e.URL)
	if r := registerPasskey(t, alice, a, "Laptop"); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	bob := e.CreateUser(alice, "bob", "bob@example.com", "bob password 1", "user")
	bobC, _ := e.Login("bob", "bob password 1")
	bobKey := webauthntest.New(e.URL)
	if r := registerPasskey(t, bobC, bobKey, "Bob's key"); r.Status != 201 {
		t.Fatalf("register bob: %d %s", r.Status, r.Body)
	}

	refused := func(name string, a *webauthntest.Authenticator) {
		t.Helper()
		before := len(storeEvents(t, e, gatehouse.EventLoginSucceeded))
		_, r := passkeySignIn(t, e, a)
		if r.Status != 401 || r.Code() != gatehouse.EInvalidCredentials || r.Str("access_token") != "" || r.Header.Get("Set-Cookie") != "" {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
		if n := len(storeEvents(t, e, gatehouse.EventLoginSucceeded)); n != before {
			t.Fatalf("%s signed in", name)
		}
	}
	with := func(f func(c *webauthntest.Authenticator)) *webauthntest.Authenticator {
		c := *a
		f(&c)
		return &c
	}
	refused("wrong origin", with(func(c *webauthntest.Authenticator) { c.Origin = "https://evil.example" }))
	refused("other port, same host", with(func(c *webauthntest.Authenticator) { c.Origin = "http://localhost:1" }))
	refused("wrong RP ID", with(func(c *webauthntest.Authenticator) { c.RPID = "evil.example" }))
	refused("no user verification", with(func(c *webauthntest.Authenticator) { c.Flags &^= webauthntest.FlagUV }))
	refused("no user presence", with(func(c *webauthntest.Authenticator) { c.Flags &^= webauthntest.FlagUP }))
	// Discoverable sign-in trusts the user handle only together with the key: Bob's handle with
	// Alice's credential, or an unknown handle, is refused.
	refused("another user's handle", with(func(c *webauthntest.Authenticator) { c.UserHandle = bobKey.UserHandle }))
	refused("unknown handle", with(func(c *webauthntest.Authenticator) { c.UserHandle = []byte("no such user handle") }))
	refused("wrong key", with(func(c *webauthntest.Authenticator) { c.Key = webauthntest.New(e.URL).Key }))
	lf := storeEvents(t, e, gatehouse.EventLoginFailed)
	if len(lf) < 8 || lf[0].Data["method"] != gatehouse.AuthPasskey || lf[0].Data["reason"] != "passkey_refused" {
		t.Fatalf("login.failed events: %d, newest %+v", len(lf), lf[0])
	}
	if ps := storedPasskeys(t, e, uid); ps[0].SignCount != 0 || ps[0].LastUsedAt != nil {
		t.Fatalf("a refused sign-in changed the passkey: %+v", ps[0])
	}

	// Expired ceremony (5 minutes, by the server's clock).
	c := e.Client()
	b := c.Do("POST", "/api/auth/passkey/begin", nil)
	pk := publicKey(t, b)
	e.Clock.Advance(5*time.Minute + time.Second)
	if r := c.Do("POST", "/api/auth/passkey/finish", map[string]any{"ceremony": b.Str("ceremony"), "credential": a.Get(pk)}); r.Status != 400 || r.Field() != "ceremony" {
		t.Fatalf("expired ceremony: %d %s", r.Status, r.Body)
	}
	// A registration ceremony is not a sign-in ceremony.
	rb := alice.Do("POST", "/api/account/passkeys/begin", nil)
	if r := c.Do("POST", "/api/auth/passkey/finish", map[string]any{"ceremony": rb.Str("ceremony"), "credential": a.Get(publicKey(t, rb))}); r.Status != 400 || r.Field() != "ceremony" {
		t.Fatalf("registration ceremony used to sign in: %d %s", r.Status, r.Body)
	}
	// Bad input names its field.
	if r := c.Do("POST", "/api/auth/passkey/finish", map[string]any{"ceremony": "x"}); r.Status != 400 || r.Field() != "credential" {
		t.Fatalf("missing credential: %d %s", r.Status, r.Body)
	}
	if r := c.Do("POST", "/api/auth/passkey/finish", map[string]any{"ceremony": "x", "credential": map[string]any{}, "extra": 1}); r.Status != 400 || r.Field() != "extra" {
		t.Fatalf("unknown field: %d %s", r.Status, r.Body)
	}

	// A disabled user is told so only after a valid assertion.
	disabled := true
	if r := alice.Do("PATCH", "/api/admin/users/"+jsonInt(bob), map[string]any{"disabled": disabled}); r.Status != 200 {
		t.Fatalf("disable bob: %d %s", r.Status, r.Body)
	}
	if _, r := passkeySignIn(t, e, bobKey); r.Status != 403 || r.Code() != gatehouse.EAccountDisabled {
		t.Fatalf("disabled user's passkey: %d %s", r.Status, r.Body)
	}
}

// TestPasskeyCounterRegression: an authenticator that keeps a signature counter and reports one
// that did not increase may be a clone; go-webauthn only flags it, gatehouse refuses it.
func TestPasskeyCounterRegression(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend, Localhost: true})
		alice, setup := e.Setup("alice", "alice@example.com", adminPW)
		uid := setup.User().ID
		a := webauthntest.New(e.URL)
		a.SignCount = 10
		if r := registerPasskey(t, alice, a, "YubiKey"); r.Status != 201 {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		if _, r := passkeySignIn(t, e, a); r.Status != 200 { // counter 11
			t.Fatalf("first sign-in: %d %s", r.Status, r.Body)
		}
		clone := *a
		clone.SignCount = 5 // reports 6: behind the stored 11
		if _, r := passkeySignIn(t, e, &clone); r.Status != 401 || r.Code() != gatehouse.EInvalidCredentials {
			t.Fatalf("regressed counter: %d %s", r.Status, r.Body)
		}
		same := *a
		same.CountStep = 0 // reports 11 again
		if _, r := passkeySignIn(t, e, &same); r.Status != 401 {
			t.Fatalf("repeated counter: %d %s", r.Status, r.Body)
		}
		cw := storeEvents(t, e, gatehouse.EventPasskeyCloneWarning)
		if len(cw) != 2 || *cw[0].UserID != uid || cw[0].Data["name"] != "YubiKey" {
			t.Fatalf("clone warnings: %+v", cw)
		}
		if lf := storeEvents(t, e, gatehouse.EventLoginFailed); lf[0].Data["reason"] != "sign_count_not_increased" {
			t.Fatalf("login.failed: %+v", lf[0])
		}
		if ps := storedPasskeys(t, e, uid); ps[0].SignCount != 11 {
			t.Fatalf("stored counter %d after refusals, want 11", ps[0].SignCount)
		}
		// The genuine authenticator goes on.
		if _, r := passkeySignIn(t, e, a); r.Status != 200 {
			t.Fatalf("genuine after clone: %d %s", r.Status, r.Body)
		}

		// An authenticator without a counter (always 0, as synced passkeys) is fine.
		noCount := webauthntest.New(e.URL)
		noCount.CountStep = 0
		if r := registerPasskey(t, alice, noCount, "Phone"); r.Status != 201 {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		for i := range 2 {
			if _, r := passkeySignIn(t, e, noCount); r.Status != 200 {
				t.Fatalf("counterless sign-in %d: %d %s", i, r.Status, r.Body)
			}
		}
	})
}

func TestPasskeyRegistrationRefusals(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Localhost: true})
	alice, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.CreateUser(alice, "bob", "bob@example.com", "bob password 1", "user")
	bob, _ := e.Login("bob", "bob password 1")

	finish := func(c *testserver.Client, ceremony, name string, cred json.RawMessage) *testserver.Response {
		return c.Do("POST", "/api/account/passkeys/finish", map[string]any{"ceremony": ceremony, "name": name, "credential": cred})
	}
	try := func(what string, mod func(a *webauthntest.Authenticator), wantField string) {
		t.Helper()
		a := webauthntest.New(e.URL)
		mod(a)
		b := alice.Do("POST", "/api/account/passkeys/begin", nil)
		if r := finish(alice, b.Str("ceremony"), "key", a.Create(publicKey(t, b))); r.Status != 400 || r.Field() != wantField {
			t.Fatalf("%s: %d %s", what, r.Status, r.Body)
		}
	}
	try("wrong origin", func(a *webauthntest.Authenticator) { a.Origin = "https://evil.example" }, "credential")
	try("wrong RP ID", func(a *webauthntest.Authenticator) { a.RPID = "evil.example" }, "credential")
	try("no user verification", func(a *webauthntest.Authenticator) { a.Flags &^= webauthntest.FlagUV }, "credential")

	// Bob cannot finish Alice's ceremony, and Alice's ceremony is spent by the attempt.
	b := alice.Do("POST", "/api/account/passkeys/begin", nil)
	cred := webauthntest.New(e.URL).Create(publicKey(t, b))
	if r := finish(bob, b.Str("ceremony"), "mine", cred); r.Status != 400 || r.Field() != "ceremony" {
		t.Fatalf("another user's ceremony: %d %s", r.Status, r.Body)
	}
	if r := finish(alice, b.Str("ceremony"), "mine", cred); r.Status != 400 || r.Field() != "ceremony" {
		t.Fatalf("spent ceremony: %d %s", r.Status, r.Body)
	}
	b = alice.Do("POST", "/api/account/passkeys/begin", nil)
	if r := finish(alice, b.Str("ceremony"), "", webauthntest.New(e.URL).Create(publicKey(t, b))); r.Status != 400 || r.Field() != "name" {
		t.Fatalf("no name: %d %s", r.Status, r.Body)
	}
	// Nothing was stored by any of these.
	if r := alice.Do("GET", "/api/account/passkeys", nil); len(testserver.Items[testserver.Passkey](r)) != 0 {
		t.Fatalf("passkeys after refusals: %s", r.Body)
	}
	if es := storeEvents(t, e, gatehouse.EventPasskeyAdded); len(es) != 0 {
		t.Fatalf("passkey.added after refusals: %+v", es)
	}

	// Signed out: 401. Cross-site with the cookie: refused before anything happens.
	if r := e.Client().Do("POST", "/api/account/passkeys/begin", nil); r.Status != 401 {
		t.Fatalf("signed out: %d", r.Status)
	}
	if r := alice.Do("POST", "/api/account/passkeys/begin", nil, "Sec-Fetch-Site", "cross-site"); r.Status != 403 || r.Code() != "csrf_failed" {
		t.Fatalf("cross-site begin: %d %s", r.Status, r.Body)
	}
	if r := alice.Do("DELETE", "/api/account/passkeys/1", nil, "Origin", "https://evil.example"); r.Status != 403 || r.Code() != "csrf_failed" {
		t.Fatalf("cross-site delete: %d %s", r.Status, r.Body)
	}
}

func TestPasskeyAdmin(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Localhost: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	bobID := e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	bob, _ := e.Login("bob", "bob password 1")
	key := webauthntest.New(e.URL)
	r := registerPasskey(t, bob, key, "Bob's phone")
	if r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	pid := jsonInt(r.ID())
	base := "/api/admin/users/" + jsonInt(bobID) + "/passkeys"

	// Only administrators; not another user's passkey through one's own account API either.
	if r := bob.Do("GET", base, nil); r.Status != 403 {
		t.Fatalf("non-admin list: %d", r.Status)
	}
	if r := admin.Do("DELETE", "/api/account/passkeys/"+pid, nil); r.Status != 404 {
		t.Fatalf("deleting another user's passkey through the account API: %d", r.Status)
	}
	if r := admin.Do("PATCH", "/api/account/passkeys/"+pid, map[string]string{"name": "mine"}); r.Status != 404 {
		t.Fatalf("renaming another user's passkey: %d", r.Status)
	}
	if r := admin.Do("GET", "/api/admin/users/999999/passkeys", nil); r.Status != 404 {
		t.Fatalf("unknown user: %d", r.Status)
	}
	l := admin.Do("GET", base, nil)
	if items := testserver.Items[testserver.Passkey](l); l.Status != 200 || len(items) != 1 || items[0].Name != "Bob's phone" {
		t.Fatalf("admin list: %d %s", l.Status, l.Body)
	}
	if r := admin.Do("DELETE", "/api/admin/users/1/passkeys/"+pid, nil); r.Status != 404 {
		t.Fatalf("passkey under the wrong user: %d", r.Status)
	}
	if r := admin.Do("DELETE", base+"/"+pid, nil); r.Status != 204 {
		t.Fatalf("admin delete: %d %s", r.Status, r.Body)
	}
	es := storeEvents(t, e, gatehouse.EventPasskeyRemoved)
	if len(es) != 1 || es[0].Data["by"] != "admin" || es[0].Data["target_user_id"] != float64(bobID) {
		t.Fatalf("passkey.removed: %+v", es)
	}
	if _, r := passkeySignIn(t, e, key); r.Status != 401 {
		t.Fatalf("sign-in after admin removal: %d", r.Status)
	}
}

// TestPasskeysOffOnIPAddress: the default test server's public URL is http://127.0.0.1:PORT, and
// an IP address cannot be a WebAuthn relying party ID.
func TestPasskeysOffOnIPAddress(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	if r := e.Client().Do("GET", "/api/auth/state", nil); r.JSON["passkey_enabled"] != false {
		t.Fatalf("state: %s", r.Body)
	}
	for _, path := range []string{"/api/auth/passkey/begin", "/api/account/passkeys/begin"} {
		r := admin.Do("POST", path, nil)
		if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "IP address 127.0.0.1") {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	page := admin.Do("GET", "/admin/settings", nil)
	if page.Status != 200 || !strings.Contains(string(page.Body), "Passkeys are <strong>off</strong>") || !strings.Contains(string(page.Body), "IP address 127.0.0.1") {
		t.Fatalf("admin settings page does not say why passkeys are off: %d", page.Status)
	}
	login := e.Client().Do("GET", "/login", nil)
	if strings.Contains(string(login.Body), "passkey-signin") {
		t.Fatal("the login page offers passkeys although they are off")
	}
}
