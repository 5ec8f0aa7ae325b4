package http_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/oidctest"
	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/internal/webauthntest"
)

// extEnv is a gatehouse (clock at real time, so the real provider's tokens are fresh) with an
// administrator and one real OpenID provider registered as "test-op".
type extEnv struct {
	e     *testserver.Env
	op    *oidctest.Provider
	admin *testserver.Client
}

func newExtEnv(t *testing.T, backend string, provider map[string]any) *extEnv {
	t.Helper()
	return newExtEnvWith(t, testserver.Options{Backend: backend}, provider)
}

func newExtEnvWith(t *testing.T, o testserver.Options, provider map[string]any) *extEnv {
	t.Helper()
	o.Clock, o.Web = testserver.NewClockAtNow(), true
	e := testserver.New(t, o)
	admin, _ := e.Setup("admin", "admin@example.com", adminPW)
	op := oidctest.Start(t)
	body := map[string]any{"id": "test-op", "name": "Test OP", "issuer": op.Issuer(), "client_id": op.ClientID(),
		"client_secret": op.ClientSecret(), "scopes": []string{"openid", "email", "profile"}}
	for k, v := range provider {
		body[k] = v
	}
	if r := admin.Do("POST", "/api/admin/providers", body); r.Status != http.StatusCreated {
		t.Fatalf("create provider: %d %s", r.Status, r.Body)
	}
	return &extEnv{e: e, op: op, admin: admin}
}

// browser is a cookie jar that follows redirects through gatehouse's external sign-in endpoints
// and the provider, and stops at the first answer that leaves them (testserver.ExternalBrowser).
type browser struct{ *testserver.Client }

func (x *extEnv) browser() *browser { return &browser{Client: x.e.ExternalBrowser()} }

// signIn clicks the provider's button on the login page and follows the flow to its end.
func (b *browser) signIn(t *testing.T, rd string) (int, string, string) {
	t.Helper()
	u := "/api/auth/oidc/test-op/start"
	if rd != "" {
		u += "?rd=" + url.QueryEscape(rd)
	}
	return b.Page(t, u)
}

func TestExternalProvidersAdmin(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		x := newExtEnv(t, backend, nil)
		r := x.admin.Do("GET", "/api/admin/providers", nil)
		items := testserver.Items[testserver.Provider](r)
		if len(items) != 1 {
			t.Fatalf("list: %s", r.Body)
		}
		p := items[0]
		if p.ID != "test-op" || p.RedirectURI != x.e.URL+"/api/auth/oidc/test-op/callback" || !p.Enabled || !p.ClientSecretSet {
			t.Fatalf("provider: %+v", p)
		}
		if strings.Contains(string(r.Body), x.op.ClientSecret()) || strings.Contains(string(r.Body), "client_secret\"") {
			t.Fatalf("the secret (or a field for it) is shown: %s", r.Body)
		}
		// The sealed secret in the store is not the secret.
		stored, err := x.e.Store.ProviderByID(t.Context(), "test-op")
		if err != nil || strings.Contains(string(stored.ClientSecretSealed), x.op.ClientSecret()) {
			t.Fatalf("stored secret: %v %q", err, stored.ClientSecretSealed)
		}

		base := map[string]any{"name": "Other", "issuer": x.op.Issuer(), "client_id": "c", "client_secret": "s"}
		with := func(k string, v any) map[string]any {
			m := map[string]any{}
			for a, b := range base {
				m[a] = b
			}
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		bad := []struct {
			body  map[string]any
			field string
		}{
			{with("id", "Bad_ID"), "id"},
			{with("id", "-x"), "id"},
			{with("name", ""), "name"},
			{with("issuer", "ftp://example.com"), "issuer"},
			{with("issuer", "http://example.com"), "issuer"},
			{with("issuer", x.op.Issuer()+"/nope"), "issuer"},
			{with("client_id", ""), "client_id"},
			{with("client_secret", nil), "client_secret"},
			{with("scopes", "openid"), "scopes"},
			{with("token_auth_method", "private_key_jwt"), "token_auth_method"},
			{with("token_auth_method", "none"), "token_auth_method"},
			{with("allowed_email_domains", []string{"not a domain"}), "allowed_email_domains"},
			{with("allowed_email_domains", []string{"user@example.com"}), "allowed_email_domains"},
			{with("surprise", true), "surprise"},
		}
		for _, c := range bad {
			r := x.admin.Do("POST", "/api/admin/providers", c.body)
			if r.Status != http.StatusBadRequest || r.Field() != c.field {
				t.Errorf("%v: %d %s, want 400 naming %s", c.body, r.Status, r.Body, c.field)
			}
		}
		if r := x.admin.Do("POST", "/api/admin/providers", with("id", "test-op")); r.Status != http.StatusConflict || r.Field() != "id" {
			t.Fatalf("duplicate id: %d %s", r.Status, r.Body)
		}
		if r := x.admin.Do("GET", "/api/admin/providers", nil); len(testserver.Items[testserver.Provider](r)) != 1 {
			t.Fatalf("a refused provider was saved: %s", r.Body)
		}
		// Discovery failures name the issuer.
		r = x.admin.Do("POST", "/api/admin/providers", with("issuer", "http://127.0.0.1:1/unreachable"))
		if r.Status != 400 || r.Field() != "issuer" || !strings.Contains(string(r.Body), "(http://127.0.0.1:1/unreachable/.well-known/openid-configuration)") {
			t.Fatalf("unreachable issuer: %d %s", r.Status, r.Body)
		}
		// An issuer with a trailing slash: the discovery address is named without a double slash.
		r = x.admin.Do("POST", "/api/admin/providers", with("issuer", "http://127.0.0.1:1/realms/x/"))
		if r.Status != 400 || !strings.Contains(string(r.Body), "(http://127.0.0.1:1/realms/x/.well-known/openid-configuration)") || strings.Contains(string(r.Body), "//.well-known") {
			t.Fatalf("trailing slash issuer: %d %s", r.Status, r.Body)
		}
		// The token auth method defaults to client_secret_basic and can be changed.
		if r := x.admin.Do("GET", "/api/admin/providers/test-op", nil); r.Str("token_auth_method") != "client_secret_basic" {
			t.Fatalf("default auth method: %s", r.Body)
		}

		// The id comes from the name when absent.
		r = x.admin.Do("POST", "/api/admin/providers", with("name", "Company SSO"))
		if r.Status != 201 || r.Str("id") != "company-sso" {
			t.Fatalf("derived id: %d %s", r.Status, r.Body)
		}
		// Disabled providers are not on the login page.
		if r := x.admin.Do("PATCH", "/api/admin/providers/company-sso", map[string]any{"enabled": false}); r.Status != 200 || r.JSON["enabled"] != false {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		st := x.e.Client().Do("GET", "/api/auth/state", nil)
		ps := testserver.Decode[struct {
			Providers []testserver.Provider `json:"providers"`
		}](st).Providers
		if len(ps) != 1 || ps[0].ID != "test-op" || ps[0].Name != "Test OP" {
			t.Fatalf("state providers: %s", st.Body)
		}
		if r := x.admin.Do("PATCH", "/api/admin/providers/company-sso", map[string]any{"id": "renamed"}); r.Status != 400 || r.Field() != "id" {
			t.Fatalf("id change: %d %s", r.Status, r.Body)
		}
		if r := x.admin.Do("PATCH", "/api/admin/providers/company-sso", map[string]any{"issuer": "https://127.0.0.1:1"}); r.Status != 400 || r.Field() != "issuer" {
			t.Fatalf("issuer change checked: %d %s", r.Status, r.Body)
		}
		if r := x.admin.Do("PATCH", "/api/admin/providers/nope", map[string]any{"enabled": true}); r.Status != 404 {
			t.Fatalf("patch unknown: %d", r.Status)
		}
		if r := x.admin.Do("DELETE", "/api/admin/providers/company-sso", nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := x.admin.Do("DELETE", "/api/admin/providers/company-sso", nil); r.Status != 404 {
			t.Fatalf("delete twice: %d", r.Status)
		}
		for _, k := range []string{gatehouse.EventProviderCreated, gatehouse.EventProviderUpdated, gatehouse.EventProviderDeleted} {
			if len(x.admin.EventsOf(t, k)) == 0 {
				t.Errorf("no %s event", k)
			}
		}
		// Users are not administrators.
		x.e.CreateUser(x.admin, "bob", "bob@example.com", "bob password 1", "user")
		bob, _ := x.e.Login("bob", "bob password 1")
		if r := bob.Do("GET", "/api/admin/providers", nil); r.Status != 403 {
			t.Fatalf("user lists providers: %d", r.Status)
		}
	})
}

func TestExternalAutoCreateThenBoundSignIn(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		x := newExtEnv(t, backend, map[string]any{"auto_create_users": true, "allowed_email_domains": []string{"corp.example", "@Corp.Example"}})
		x.e.CreateUser(x.admin, "jane", "other-jane@example.com", "jane password 1", "user")
		if r := x.admin.Do("GET", "/api/admin/providers/test-op", nil); fmt.Sprint(r.JSON["allowed_email_domains"]) != "[corp.example]" {
			t.Fatalf("domains normalised: %s", r.Body)
		}
		// Public registration is closed: auto-create is the provider's switch alone (seed 000),
		// but only for verified addresses at an allowed domain.
		for _, u := range []oidctest.User{
			{Subject: "sub-mallory", Email: "mallory@elsewhere.example", EmailVerified: true},
			{Subject: "sub-mallory", Email: "mallory@corp.example", EmailVerified: false},
		} {
			x.op.Queue(u)
			st, _, body := x.browser().signIn(t, "")
			if st != http.StatusForbidden || !strings.Contains(body, "email domain") {
				t.Fatalf("%+v: %d %s", u, st, body)
			}
		}
		if r := x.admin.Do("GET", "/api/admin/users?query=mallory", nil); len(r.Users().Items) != 0 {
			t.Fatalf("an account was created outside the allowed domains: %s", r.Body)
		}
		x.op.Queue(oidctest.User{Subject: "sub-jane", Email: "jane@corp.example", PreferredUsername: "Jane", EmailVerified: true})
		b := x.browser()
		st, loc, body := b.signIn(t, x.e.URL+"/after?x=1")
		if st != http.StatusSeeOther || loc != x.e.URL+"/after?x=1" {
			t.Fatalf("first sign-in: %d %q %s", st, loc, body)
		}
		name, email := b.Me(t)
		if name != "jane-2" || email != "jane@corp.example" {
			t.Fatalf("created user: %q %q", name, email)
		}
		// The created account has no password: password sign-in fails like a wrong password.
		if r := x.e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "jane-2", "password": "anything at all"}); r.Status != 401 || r.Code() != gatehouse.EInvalidCredentials {
			t.Fatalf("password sign-in of external user: %d %s", r.Status, r.Body)
		}
		ids := b.Do("GET", "/api/account/identities", nil)
		items := ids.Identities().Items
		if len(items) != 1 {
			t.Fatalf("identities: %s", ids.Body)
		}
		it := items[0]
		if it.Provider != "test-op" || it.Subject != "sub-jane" || it.Email != "jane@corp.example" || it.BoundAt == nil || it.LastUsedAt == nil {
			t.Fatalf("identity: %s", ids.Body)
		}
		// Second sign-in: the bound identity, same user, even with another email at the provider.
		x.op.Queue(oidctest.User{Subject: "sub-jane", Email: "jane.new@corp.example", EmailVerified: true})
		b2 := x.browser()
		st, loc, _ = b2.signIn(t, "https://evil.example/steal")
		if st != http.StatusSeeOther || loc != "/settings/security" {
			t.Fatalf("bound sign-in (unsafe rd dropped): %d %q", st, loc)
		}
		if name, _ := b2.Me(t); name != "jane-2" {
			t.Fatalf("bound sign-in user: %q", name)
		}
		if r := x.admin.Do("GET", "/api/admin/users?query=jane", nil); len(r.Users().Items) != 2 {
			t.Fatalf("a second account was created: %s", r.Body)
		}
		r := b2.Do("GET", "/api/auth/me", nil)
		if r.Me().Session.Via != "cookie" {
			t.Fatalf("session: %s", r.Body)
		}
		ss := b2.Do("GET", "/api/account/sessions", nil).Sessions().Items
		if len(ss) == 0 || ss[0].AuthMethod != gatehouse.AuthExternal {
			t.Fatalf("auth method: %v", ss[0])
		}
		for _, k := range []string{gatehouse.EventUserCreatedExternal, gatehouse.EventIdentityBound, gatehouse.EventLoginExternal, gatehouse.EventLoginExternalFailed} {
			if len(x.admin.EventsOf(t, k)) == 0 {
				t.Errorf("no %s event", k)
			}
		}
		if n := len(x.admin.EventsOf(t, gatehouse.EventLoginExternal)); n != 2 {
			t.Errorf("%d login.external events, want 2", n)
		}
		// Unlinking the only way to sign in is refused; nothing changes.
		id := it.ID
		r = b2.Do("DELETE", "/api/account/identities/"+itoa(id), nil)
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "only way to sign in") {
			t.Fatalf("unlink last way: %d %s", r.Status, r.Body)
		}
		// The page says why, on the security page.
		r = b2.Form("/settings/security/identities/"+itoa(id)+"/unlink", url.Values{}, "Origin", x.e.URL)
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "only way to sign in") || !strings.Contains(string(r.Body), "External identities") {
			t.Fatalf("unlink last way, page: %d %s", r.Status, r.Body)
		}
		if ids := b2.Do("GET", "/api/account/identities", nil); len(ids.Identities().Items) != 1 {
			t.Fatalf("identity gone after refusal: %s", ids.Body)
		}
		// A disabled user is refused.
		uid := b2.Do("GET", "/api/auth/me", nil).User().ID
		if r := x.admin.Do("PATCH", "/api/admin/users/"+itoa(uid), map[string]any{"disabled": true}); r.Status != 200 {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		x.op.Queue(oidctest.User{Subject: "sub-jane", Email: "jane@corp.example", EmailVerified: true})
		st, _, body = x.browser().signIn(t, "")
		if st != http.StatusForbidden || !strings.Contains(body, "disabled") {
			t.Fatalf("disabled user: %d %s", st, body)
		}
	})
}

func TestExternalAutoBind(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		x := newExtEnv(t, backend, map[string]any{"auto_bind_verified_email": true})
		carol := x.e.CreateUser(x.admin, "carol", "carol@example.com", "carol password 1", "user")
		// Unverified at the provider: no bind.
		x.op.Queue(oidctest.User{Subject: "sub-carol", Email: "Carol@Example.com", EmailVerified: false})
		b := x.browser()
		st, _, body := b.signIn(t, "")
		if st != http.StatusForbidden || !strings.Contains(body, "not linked") || !strings.Contains(body, "Settings") {
			t.Fatalf("unverified email: %d %s", st, body)
		}
		if name, _ := b.Me(t); name != "" {
			t.Fatalf("signed in as %q", name)
		}
		// JSON clients get the error as JSON.
		x.op.Queue(oidctest.User{Subject: "sub-carol", Email: "carol@example.com", EmailVerified: false})
		r := x.browser().Do("GET", "/api/auth/oidc/test-op/start", nil)
		if r.Status != http.StatusForbidden || r.Code() != gatehouse.ENotLinked {
			t.Fatalf("API client: %d %s", r.Status, r.Body)
		}
		// Verified: bound to carol and signed in.
		x.op.Queue(oidctest.User{Subject: "sub-carol", Email: "carol@example.com", EmailVerified: true})
		b = x.browser()
		st, loc, body := b.signIn(t, "")
		if st != http.StatusSeeOther || loc != "/settings/security" {
			t.Fatalf("verified email: %d %q %s", st, loc, body)
		}
		if name, _ := b.Me(t); name != "carol" {
			t.Fatalf("auto-bind user: %q", name)
		}
		ev := x.admin.EventsOf(t, gatehouse.EventIdentityBound)
		if len(ev) != 1 || ev[0].Data["how"] != "auto_bind" || ev[0].UID() != carol {
			t.Fatalf("bound event: %v", ev)
		}
		// Carol has a password, so she may unlink; after that the same rule binds again.
		id := b.Do("GET", "/api/account/identities", nil).Identities().Items[0].ID
		if r := b.Do("DELETE", "/api/account/identities/"+itoa(id), nil); r.Status != 204 {
			t.Fatalf("unlink: %d %s", r.Status, r.Body)
		}
		if r := b.Do("DELETE", "/api/account/identities/"+itoa(id), nil); r.Status != 404 {
			t.Fatalf("unlink twice: %d", r.Status)
		}
		if len(x.admin.EventsOf(t, gatehouse.EventIdentityUnbound)) != 1 {
			t.Fatal("no identity.unbound event")
		}
		// Another user cannot unlink carol's identity.
		x.op.Queue(oidctest.User{Subject: "sub-carol", Email: "carol@example.com", EmailVerified: true})
		b = x.browser()
		if st, _, _ := b.signIn(t, ""); st != http.StatusSeeOther {
			t.Fatalf("re-bind after unlink: %d", st)
		}
		id = b.Do("GET", "/api/account/identities", nil).Identities().Items[0].ID
		if r := x.admin.Do("DELETE", "/api/account/identities/"+itoa(id), nil); r.Status != 404 {
			t.Fatalf("other user's identity: %d", r.Status)
		}
		// A local account whose address was never proved is not auto-bound (pre-hijacking).
		dave := x.e.Store
		u := &gatehouse.User{Username: "dave", Email: "dave@example.com", Role: gatehouse.RoleUser, EmailVerified: false}
		if err := dave.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		x.op.Queue(oidctest.User{Subject: "sub-dave", Email: "dave@example.com", EmailVerified: true})
		if st, _, body := x.browser().signIn(t, ""); st != http.StatusForbidden || !strings.Contains(body, "not linked") {
			t.Fatalf("unverified local address: %d %s", st, body)
		}
		// Auto-bind off: a verified address is not enough.
		if r := x.admin.Do("PATCH", "/api/admin/providers/test-op", map[string]any{"auto_bind_verified_email": false}); r.Status != 200 {
			t.Fatal(r.Status)
		}
		x.e.CreateUser(x.admin, "erin", "erin@example.com", "erin password 1", "user")
		x.op.Queue(oidctest.User{Subject: "sub-erin", Email: "erin@example.com", EmailVerified: true})
		if st, _, body := x.browser().signIn(t, ""); st != http.StatusForbidden || !strings.Contains(body, "not linked") {
			t.Fatalf("auto-bind off: %d %s", st, body)
		}
	})
}

func TestExternalRefusals(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		x := newExtEnv(t, backend, map[string]any{"auto_bind_verified_email": true})
		x.e.CreateUser(x.admin, "frank", "frank@example.com", "frank password 1", "user")
		frank := oidctest.User{Subject: "sub-frank", Email: "frank@example.com", EmailVerified: true}

		// Stop at the callback to play with it.
		stopAtCallback := func(b *browser) string {
			t.Helper()
			b.HTTP.CheckRedirect = func(req *http.Request, via []*http.Request) error {
				if strings.HasSuffix(req.URL.Path, "/callback") {
					return http.ErrUseLastResponse
				}
				return nil
			}
			x.op.Queue(frank)
			st, loc, body := b.signIn(t, "")
			if st != http.StatusFound || !strings.Contains(loc, "/api/auth/oidc/test-op/callback?") {
				t.Fatalf("to callback: %d %q %s", st, loc, body)
			}
			return loc
		}
		// State tampering.
		b := x.browser()
		cb := stopAtCallback(b)
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Set("state", q.Get("state")+"x")
		u.RawQuery = q.Encode()
		if st, _, body := b.Page(t, u.String()); st != http.StatusBadRequest || !strings.Contains(body, "start the sign-in again") {
			t.Fatalf("tampered state: %d %s", st, body)
		}
		// The callback URL completed in another browser (no binding cookie).
		b = x.browser()
		cb = stopAtCallback(b)
		other := x.browser()
		if st, _, body := other.Page(t, cb); st != http.StatusBadRequest || !strings.Contains(body, "another browser") {
			t.Fatalf("other browser: %d %s", st, body)
		}
		if name, _ := other.Me(t); name != "" {
			t.Fatal("other browser signed in")
		}
		// ... and it used the state up: the right browser cannot reuse it either.
		if st, _, _ := b.Page(t, cb); st != http.StatusBadRequest {
			t.Fatalf("state reused: %d", st)
		}
		// Replay of a completed callback.
		b = x.browser()
		cb = stopAtCallback(b)
		if st, _, _ := b.Page(t, cb); st != http.StatusOK { // followed on to the security page
			t.Fatalf("callback: %d", st)
		}
		if name, _ := b.Me(t); name != "frank" {
			t.Fatalf("callback signed in %q", name)
		}
		if st, _, _ := b.Page(t, cb); st != http.StatusBadRequest {
			t.Fatalf("replayed callback: %d", st)
		}
		// An expired flow.
		b = x.browser()
		cb = stopAtCallback(b)
		x.e.Clock.Advance(11 * 60e9)
		if st, _, _ := b.Page(t, cb); st != http.StatusBadRequest {
			t.Fatalf("expired flow: %d", st)
		}
		x.e.Clock.Advance(-11 * 60e9)

		// Nonce mismatch: the provider puts another nonce in the ID token.
		x.op.TamperNonce("not-the-nonce")
		x.op.Queue(frank)
		st, _, body := x.browser().signIn(t, "")
		if st != http.StatusBadGateway || !strings.Contains(body, "nonce") {
			t.Fatalf("nonce mismatch: %d %s", st, body)
		}
		x.op.TamperNonce("")
		// The provider refuses (error= on the callback).
		x.op.RefuseNext("access_denied")
		st, _, body = x.browser().signIn(t, "")
		if st != http.StatusBadGateway || !strings.Contains(body, "access_denied") {
			t.Fatalf("provider error: %d %s", st, body)
		}
		found := false
		for _, ev := range x.admin.EventsOf(t, gatehouse.EventLoginExternalFailed) {
			if d := ev.Data; d["provider_error"] == "access_denied: the user cancelled" {
				found = true
			}
		}
		if !found {
			t.Fatal("no event with the provider's error")
		}
		// Wrong issuer: discovery announces another issuer.
		x.op.AnnounceIssuer("https://impostor.example")
		st, _, body = x.browser().signIn(t, "")
		if st != http.StatusBadGateway || !strings.Contains(body, "did not answer as an OpenID provider") {
			t.Fatalf("wrong issuer: %d %s", st, body)
		}
		x.op.AnnounceIssuer("")
		// Nothing above signed anyone in.
		if n := len(x.admin.EventsOf(t, gatehouse.EventLoginExternal)); n != 1 {
			t.Fatalf("%d external sign-ins, want 1", n)
		}
		// An unknown or disabled provider.
		if st, _, _ := x.browser().Page(t, "/api/auth/oidc/nope/start"); st != http.StatusNotFound {
			t.Fatalf("unknown provider: %d", st)
		}
		// The provider is down: a clear page.
		x.op.Stop()
		st, _, body = x.browser().signIn(t, "")
		if st != http.StatusBadGateway || !strings.Contains(body, "cannot be reached") || !strings.Contains(body, "Back to sign-in") {
			t.Fatalf("provider down: %d %s", st, body)
		}
		r := x.browser().Do("GET", "/api/auth/oidc/test-op/start", nil)
		if r.Status != http.StatusBadGateway || r.Code() != gatehouse.EProvider {
			t.Fatalf("provider down, JSON: %d %s", r.Status, r.Body)
		}
	})
}

func TestExternalSecretKeyChanged(t *testing.T) {
	t.Parallel()
	x := newExtEnv(t, "sqlite", nil)
	// The same database served with another auth.mfa_secret_key.
	e2 := testserver.New(t, testserver.Options{DSN: x.e.DSN, Clock: testserver.NewClockAtNow(), MFASecretKey: "another-mfa-key-0123456789abcdefgh"})
	b := &browser{Client: e2.Client()}
	b.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	st, _, body := b.Page(t, "/api/auth/oidc/test-op/start")
	if st != http.StatusBadGateway || !strings.Contains(body, "client secret cannot be decrypted") {
		t.Fatalf("changed key: %d %s", st, body)
	}
}

func TestExternalLinkFromSettings(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		x := newExtEnv(t, backend, nil)
		x.e.CreateUser(x.admin, "gina", "gina@example.com", "gina password 1", "user")
		x.e.CreateUser(x.admin, "hank", "hank@example.com", "hank password 1", "user")
		// Not linked yet: a clear page that says how to link.
		x.op.Queue(oidctest.User{Subject: "sub-gina", Email: "gina@elsewhere.example", EmailVerified: true})
		if st, _, body := x.browser().signIn(t, ""); st != http.StatusForbidden || !strings.Contains(body, "Settings → Security") {
			t.Fatalf("unlinked: %d %s", st, body)
		}
		b := x.browser()
		if r := b.Do("POST", "/api/auth/login", map[string]string{"login": "gina", "password": "gina password 1"}); r.Status != 200 {
			t.Fatal(r.Status)
		}
		// The security page offers the provider.
		st, _, body := b.Page(t, "/settings/security")
		if st != 200 || !strings.Contains(body, "External identities") || !strings.Contains(body, "Link Test OP") {
			t.Fatalf("security page: %d %s", st, body)
		}
		// A plain sign-in flow started while signed in does not link (a GET another site could start).
		x.op.Queue(oidctest.User{Subject: "sub-gina", Email: "gina@elsewhere.example", EmailVerified: true})
		if st, _, _ := b.signIn(t, ""); st != http.StatusForbidden {
			t.Fatalf("GET flow linked while signed in: %d", st)
		}
		// Link: a same-origin POST from the security page, which sends the browser to the provider.
		linkStart := func(b *browser) string {
			t.Helper()
			follow := b.HTTP.CheckRedirect
			b.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			defer func() { b.HTTP.CheckRedirect = follow }()
			r := b.Form("/settings/security/link/test-op", url.Values{}, "Origin", x.e.URL)
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), x.op.Issuer()) {
				t.Fatalf("link start: %d %v %s", r.Status, r.Header, r.Body)
			}
			return r.Header.Get("Location")
		}
		x.op.Queue(oidctest.User{Subject: "sub-gina", Email: "gina@elsewhere.example", EmailVerified: true})
		st, loc, body := b.Page(t, linkStart(b))
		if st != http.StatusSeeOther || loc != "/settings/security?done=linked" {
			t.Fatalf("link: %d %q %s", st, loc, body)
		}
		if _, _, body := b.Page(t, loc); !strings.Contains(body, "The external identity is linked") || !strings.Contains(body, "gina@elsewhere.example") {
			t.Fatalf("linked page: %s", body)
		}
		// Cross-site link start is refused.
		if r := b.Form("/settings/security/link/test-op", url.Values{}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); r.Status != http.StatusForbidden {
			t.Fatalf("cross-site link: %d", r.Status)
		}
		// Now the identity signs in to gina.
		x.op.Queue(oidctest.User{Subject: "sub-gina", Email: "gina@elsewhere.example", EmailVerified: true})
		b2 := x.browser()
		if st, _, _ := b2.signIn(t, ""); st != http.StatusSeeOther {
			t.Fatalf("linked sign-in: %d", st)
		}
		if name, _ := b2.Me(t); name != "gina" {
			t.Fatalf("linked sign-in user %q", name)
		}
		// Hank cannot link gina's identity.
		h := x.browser()
		h.Do("POST", "/api/auth/login", map[string]string{"login": "hank", "password": "hank password 1"})
		x.op.Queue(oidctest.User{Subject: "sub-gina", Email: "gina@elsewhere.example", EmailVerified: true})
		if st, _, body := h.Page(t, linkStart(h)); st != http.StatusConflict || !strings.Contains(body, "already linked to another") {
			t.Fatalf("link taken identity: %d %s", st, body)
		}
		// A link flow finished after signing out is refused.
		x.op.Queue(oidctest.User{Subject: "sub-gina-2", Email: "gina2@elsewhere.example", EmailVerified: true})
		to := linkStart(b)
		b.Do("POST", "/api/auth/logout", nil)
		if st, _, body := b.Page(t, to); st != http.StatusUnauthorized || !strings.Contains(body, "no longer signed in") {
			t.Fatalf("link after sign-out: %d %s", st, body)
		}
		// Unlink from the page; gina has a password, so it is allowed.
		b3 := x.browser()
		b3.Do("POST", "/api/auth/login", map[string]string{"login": "gina", "password": "gina password 1"})
		id := b3.Do("GET", "/api/account/identities", nil).Identities().Items[0].ID
		r := b3.Form("/settings/security/identities/"+itoa(id)+"/unlink", url.Values{}, "Origin", x.e.URL)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/settings/security?done=unlinked" {
			t.Fatalf("unlink page: %d %s", r.Status, r.Body)
		}
		if n := len(b3.Do("GET", "/api/account/identities", nil).Identities().Items); n != 0 {
			t.Fatalf("%d identities after unlink", n)
		}
	})
}

func TestExternalAdminPages(t *testing.T) {
	t.Parallel()
	x := newExtEnv(t, "sqlite", nil)
	b := x.browser()
	b.Do("POST", "/api/auth/login", map[string]string{"login": "admin", "password": adminPW})
	st, _, body := b.Page(t, "/admin/providers")
	if st != 200 || !strings.Contains(body, "Test OP") || !strings.Contains(body, x.e.URL+"/api/auth/oidc/test-op/callback") {
		t.Fatalf("list page: %d %s", st, body)
	}
	// Create with a bad issuer: the field is named, nothing saved.
	form := url.Values{"name": {"Corp"}, "issuer": {"http://127.0.0.1:1"}, "client_id": {"c"}, "client_secret": {"s"}, "scopes": {"openid email"}, "enabled": {"1"}}
	r := b.Form("/admin/providers", form, "Origin", x.e.URL)
	if r.Status != 400 || !strings.Contains(string(r.Body), `id="e-issuer"`) || !strings.Contains(string(r.Body), "value=\"Corp\"") {
		t.Fatalf("bad issuer: %d %s", r.Status, r.Body)
	}
	form.Set("issuer", x.op.Issuer())
	r = b.Form("/admin/providers", form, "Origin", x.e.URL)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/admin/providers/corp?done=created" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	st, _, body = b.Page(t, "/admin/providers/corp?done=created")
	if st != 200 || !strings.Contains(body, x.e.URL+"/api/auth/oidc/corp/callback") || strings.Contains(body, `value="s"`) {
		t.Fatalf("edit page: %d %s", st, body)
	}
	// Disable from the list: it leaves the login page.
	if r := b.Form("/admin/providers/corp/enabled", url.Values{"enabled": {"0"}}, "Origin", x.e.URL); r.Status != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.Status)
	}
	if _, _, login := x.browser().Page(t, "/login"); strings.Contains(login, "Sign in with Corp") || !strings.Contains(login, "Sign in with Test OP") {
		t.Fatalf("login page: %s", login)
	}
	// Saving with an empty secret keeps the secret: sign-in still works.
	r = b.Form("/admin/providers/test-op", url.Values{"name": {"Test OP"}, "issuer": {x.op.Issuer()}, "client_id": {x.op.ClientID()}, "scopes": {"openid email"}, "enabled": {"1"}, "auto_create_users": {"1"}}, "Origin", x.e.URL)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, r.Body)
	}
	x.admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_allow_user_registration": true})
	x.op.Queue(oidctest.User{Subject: "sub-ivy", Email: "ivy@example.com", PreferredUsername: "ivy", EmailVerified: true})
	if st, _, body := x.browser().signIn(t, ""); st != http.StatusSeeOther {
		t.Fatalf("sign-in after save without secret: %d %s", st, body)
	}
	// Delete asks first.
	if st, _, body := b.Page(t, "/admin/providers/corp/delete"); st != 200 || !strings.Contains(body, "Delete provider") {
		t.Fatalf("delete page: %d", st)
	}
	if r := b.Form("/admin/providers/corp/delete", url.Values{"confirm": {"yes"}}, "Origin", x.e.URL); r.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.Status)
	}
	if r := x.admin.Do("GET", "/api/admin/providers/corp", nil); r.Status != 404 {
		t.Fatalf("deleted provider: %d", r.Status)
	}
}

func TestExternalStartRateLimited(t *testing.T) {
	t.Parallel()
	x := newExtEnvWith(t, testserver.Options{Localhost: true}, nil)
	b := x.browser()
	b.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for i := range 60 { // auth_expensive_rate_limit_per_min's default (seed 001)
		r := b.Do("GET", "/api/auth/oidc/test-op/start", nil)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("start %d: %d %s", i, r.Status, r.Body)
		}
		if i == 0 {
			// The binding cookie: only for the external sign-in endpoints, not readable by
			// scripts, sent on the provider's top-level redirect back, gone after the flow's TTL.
			c := r.Header.Get("Set-Cookie")
			for _, want := range []string{"gatehouse_oidc=", "Path=/api/auth/oidc/", "HttpOnly", "SameSite=Lax", "Max-Age=600"} {
				if !strings.Contains(c, want) {
					t.Fatalf("binding cookie %q lacks %q", c, want)
				}
			}
			loc, _ := url.Parse(r.Header.Get("Location"))
			q := loc.Query()
			if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43 || q.Get("state") == "" || q.Get("nonce") == "" ||
				q.Get("redirect_uri") != x.e.URL+"/api/auth/oidc/test-op/callback" || !strings.Contains(q.Get("scope"), "openid") {
				t.Fatalf("authorization request: %s", loc)
			}
		}
	}
	r := b.Do("GET", "/api/auth/oidc/test-op/start", nil)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("flood: %d %s", r.Status, r.Body)
	}
	// The clock moves on: starting works again, and password sign-in was never affected.
	x.e.Clock.Advance(2 * time.Second)
	if r := b.Do("GET", "/api/auth/oidc/test-op/start", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("after a while: %d", r.Status)
	}
	x.e.Login("admin", adminPW)
	// One setting for every expensive endpoint, each with a bucket of its own per address.
	if r := x.admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_expensive_rate_limit_per_min": 3}); r.Status != 200 {
		t.Fatalf("setting: %d %s", r.Status, r.Body)
	}
	for i := range 4 {
		r := x.e.Client().Do("POST", "/api/auth/password/forgot", map[string]string{"email": "nobody" + itoa(int64(i)) + "@example.com"})
		if want := map[bool]int{true: 429, false: 202}[i == 3]; r.Status != want {
			t.Fatalf("forgot %d: %d %s", i, r.Status, r.Body)
		}
	}
	for i := range 4 {
		r := x.e.Client().Do("POST", "/api/auth/passkey/begin", map[string]any{})
		if i == 3 && (r.Status != 429 || r.Header.Get("Retry-After") == "") || i < 3 && r.Status == 429 {
			t.Fatalf("passkey begin %d: %d %s", i, r.Status, r.Body)
		}
	}
	x.e.Clock.Advance(20 * time.Second)
	if r := x.e.Client().Do("POST", "/api/auth/password/forgot", map[string]string{"email": "later@example.com"}); r.Status != 202 {
		t.Fatalf("forgot after 20 s: %d %s", r.Status, r.Body)
	}
	if r := x.admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_expensive_rate_limit_per_min": 0}); r.Status != 400 || r.Field() != "auth_expensive_rate_limit_per_min" {
		t.Fatalf("0 per minute: %d %s", r.Status, r.Body)
	}
}

// An account with MFA enters the code step after an external sign-in too (seed 000): no session
// until the code, the challenge reaching the login page in a cookie, not in the address.
func TestExternalSignInEntersMFA(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		x := newExtEnv(t, backend, map[string]any{"auto_bind_verified_email": true})
		x.e.CreateUser(x.admin, "carol", "carol@example.com", "carol password 1", "user")
		carol, _ := x.e.Login("carol", "carol password 1")
		secret, _ := enroll(t, x.e, carol)

		x.op.Queue(oidctest.User{Subject: "sub-carol", Email: "carol@example.com", EmailVerified: true})
		b := x.browser()
		st, loc, body := b.signIn(t, "/admin/events")
		if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?") || !strings.Contains(loc, "step=mfa") {
			t.Fatalf("external sign-in of an MFA account: %d %q %s", st, loc, body)
		}
		if strings.Contains(loc, "token") {
			t.Fatalf("the challenge token is in the address: %s", loc)
		}
		if name, _ := b.Me(t); name != "" {
			t.Fatalf("signed in as %q before the second factor", name)
		}
		st, _, body = b.Page(t, loc)
		if st != http.StatusOK || !strings.Contains(body, "Two-step verification") || !strings.Contains(body, `name="mfa_token"`) {
			t.Fatalf("login page after the external step: %d %s", st, body)
		}
		var tok string
		for _, c := range b.HTTP.Jar.Cookies(mustURL(t, x.e.URL+"/login")) {
			if c.Name == "gatehouse_mfa" {
				tok = c.Value
			}
		}
		if tok == "" {
			t.Fatal("no challenge cookie for the login page")
		}
		r := b.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": tok, "code": code(t, x.e, secret, 0)})
		if r.Status != http.StatusOK {
			t.Fatalf("second factor: %d %s", r.Status, r.Body)
		}
		if name, _ := b.Me(t); name != "carol" {
			t.Fatalf("after the code: signed in as %q", name)
		}
		ev := x.admin.EventsOf(t, gatehouse.EventLoginExternal)
		if len(ev) != 1 || ev[0].Data["mfa_required"] != true {
			t.Fatalf("login.external events: %v", ev)
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A passkey is a way to sign in: an account made by external sign-in (no password) may unlink
// its identity once it has one.
func TestExternalUnlinkWithPasskey(t *testing.T) {
	t.Parallel()
	x := newExtEnvWith(t, testserver.Options{Localhost: true}, map[string]any{"auto_create_users": true})
	if r := x.admin.Do("PATCH", "/api/admin/settings", map[string]any{"auth_allow_user_registration": true}); r.Status != 200 {
		t.Fatalf("open registration: %d %s", r.Status, r.Body)
	}
	x.op.Queue(oidctest.User{Subject: "sub-pat", Email: "pat@corp.example", PreferredUsername: "pat", EmailVerified: true})
	b := x.browser()
	if st, _, body := b.signIn(t, ""); st != http.StatusSeeOther {
		t.Fatalf("first sign-in: %d %s", st, body)
	}
	id := b.Do("GET", "/api/account/identities", nil).Identities().Items[0].ID
	if r := b.Do("DELETE", "/api/account/identities/"+itoa(id), nil); r.Status != http.StatusConflict {
		t.Fatalf("unlink without a passkey: %d %s", r.Status, r.Body)
	}
	if r := registerPasskey(t, b.Client, webauthntest.New(x.e.URL), "laptop"); r.Status != http.StatusCreated {
		t.Fatalf("add a passkey: %d %s", r.Status, r.Body)
	}
	if r := b.Do("DELETE", "/api/account/identities/"+itoa(id), nil); r.Status != http.StatusNoContent {
		t.Fatalf("unlink with a passkey: %d %s", r.Status, r.Body)
	}
}

// Callbacks and MFA steps with made-up states or tokens cost an attacker nothing: they are
// recorded at most once a minute per address, and a provider id that cannot exist not at all.
func TestUnauthenticatedFailuresDoNotFloodTheEventLog(t *testing.T) {
	t.Parallel()
	x := newExtEnv(t, "sqlite", nil)
	c := x.e.Client()
	for i := range 20 {
		c.Do("GET", "/api/auth/oidc/test-op/callback?state=made-up-"+strconv.Itoa(i)+"&code=x", nil)
		c.Do("GET", "/api/auth/oidc/"+strings.Repeat("x", 5000)+"/callback?state=y&code=x", nil)
		c.Do("POST", "/api/auth/login/mfa", map[string]string{"mfa_token": "made-up-" + strconv.Itoa(i), "code": "123456"})
	}
	if n := len(x.admin.EventsOf(t, gatehouse.EventLoginExternalFailed)); n != 1 {
		t.Fatalf("%d login.external_failed events for 40 forged callbacks, want 1", n)
	}
	if n := len(x.admin.EventsOf(t, gatehouse.EventMFAFailed)); n != 1 {
		t.Fatalf("%d mfa.failed events for 20 forged challenges, want 1", n)
	}
}

// A subject is unique only at its issuer: pointing a provider at another issuer unlinks the
// identities bound through the old one, so a user of the new issuer with the same subject cannot
// sign in to somebody else's account.
func TestExternalIssuerChangeUnlinks(t *testing.T) {
	t.Parallel()
	x := newExtEnv(t, "sqlite", map[string]any{"auto_bind_verified_email": true})
	x.e.CreateUser(x.admin, "carol", "carol@example.com", "carol password 1", "user")
	x.op.Queue(oidctest.User{Subject: "42", Email: "carol@example.com", EmailVerified: true})
	b := x.browser()
	if st, _, body := b.signIn(t, ""); st != http.StatusSeeOther {
		t.Fatalf("bind: %d %s", st, body)
	}
	other := oidctest.Start(t)
	r := x.admin.Do("PATCH", "/api/admin/providers/test-op", map[string]any{"issuer": other.Issuer(), "client_id": other.ClientID(), "client_secret": other.ClientSecret()})
	if r.Status != 200 {
		t.Fatalf("change issuer: %d %s", r.Status, r.Body)
	}
	if items := b.Do("GET", "/api/account/identities", nil).Identities().Items; len(items) != 0 {
		t.Fatalf("identities after the issuer changed: %v", items)
	}
	// Subject 42 at the new issuer, with another address, is not carol.
	other.Queue(oidctest.User{Subject: "42", Email: "mallory@elsewhere.example", EmailVerified: true})
	if st, _, _ := x.browser().signIn(t, ""); st == http.StatusSeeOther {
		t.Fatal("subject 42 of the new issuer signed in")
	}
	ev := x.admin.EventsOf(t, gatehouse.EventProviderUpdated)
	if len(ev) == 0 || ev[0].Data["identities_unlinked"] != float64(1) {
		t.Fatalf("provider update event: %v", ev)
	}
}

// Discovery does not follow redirects: an issuer that answers with one (to an internal address,
// or from https down to http) is refused, not fetched.
func TestExternalIssuerRedirectRefused(t *testing.T) {
	t.Parallel()
	x := newExtEnv(t, "sqlite", nil)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, x.op.Issuer()+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(redirector.Close)
	r := x.admin.Do("POST", "/api/admin/providers", map[string]any{"id": "moved", "name": "Moved", "issuer": redirector.URL,
		"client_id": x.op.ClientID(), "client_secret": x.op.ClientSecret()})
	if r.Status != http.StatusBadRequest || r.Field() != "issuer" {
		t.Fatalf("an issuer that redirects: %d %s", r.Status, r.Body)
	}
}

// Auto-bind never hands an identity an administrator's account: the admin links it himself.
func TestExternalAutoBindSkipsAdministrators(t *testing.T) {
	t.Parallel()
	x := newExtEnv(t, "sqlite", map[string]any{"auto_bind_verified_email": true})
	x.op.Queue(oidctest.User{Subject: "sub-admin", Email: "admin@example.com", EmailVerified: true})
	b := x.browser()
	if st, _, body := b.signIn(t, ""); st != http.StatusForbidden || !strings.Contains(body, "not linked") {
		t.Fatalf("auto-bind to the administrator: %d %s", st, body)
	}
	if name, _ := b.Me(t); name != "" {
		t.Fatalf("signed in as %q", name)
	}
}

// The token endpoint auth method is the provider's setting, never guessed from discovery (which
// lists every method the provider supports, while a client is registered for one), and claims
// the ID token leaves out are taken from UserInfo.
func TestExternalTokenAuthMethodAndUserInfo(t *testing.T) {
	t.Parallel()
	x := newExtEnv(t, "sqlite", map[string]any{"auto_create_users": true, "token_auth_method": "client_secret_basic"})
	kim := oidctest.User{Subject: "sub-kim", Email: "kim@example.com", PreferredUsername: "kim", Name: "Kim Lee", EmailVerified: true, UserInfoOnly: true}
	x.op.RegisterAuthMethod(oidctest.AuthPost)
	x.op.Queue(kim)
	st, _, body := x.browser().signIn(t, "")
	if st != http.StatusBadGateway || !strings.Contains(body, "invalid_client") || !strings.Contains(body, "token auth method (client_secret_basic)") {
		t.Fatalf("basic against a post client: %d %s", st, body)
	}
	if ev := x.admin.EventsOf(t, gatehouse.EventLoginExternalFailed); len(ev) == 0 || !strings.Contains(fmt.Sprint(ev[0]), "invalid_client") {
		t.Fatalf("failure event: %v", ev)
	}
	if r := x.admin.Do("PATCH", "/api/admin/providers/test-op", map[string]any{"token_auth_method": "client_secret_post"}); r.Status != 200 || r.Str("token_auth_method") != "client_secret_post" {
		t.Fatalf("switch to post: %d %s", r.Status, r.Body)
	}
	x.op.Queue(kim)
	b := x.browser()
	if st, _, body := b.signIn(t, ""); st != http.StatusSeeOther {
		t.Fatalf("post against a post client: %d %s", st, body)
	}
	// The ID token had only the subject: email, its verified flag, username and name came from UserInfo.
	r := b.Do("GET", "/api/auth/me", nil)
	u := r.User()
	if u.Username != "kim" || u.Email != "kim@example.com" || u.Name != "Kim Lee" || !u.EmailVerified {
		t.Fatalf("user from UserInfo claims: %s", r.Body)
	}
	// And back to basic against a basic client.
	x.op.RegisterAuthMethod(oidctest.AuthBasic)
	x.admin.Do("PATCH", "/api/admin/providers/test-op", map[string]any{"token_auth_method": "client_secret_basic"})
	x.op.Queue(kim)
	if st, _, body := x.browser().signIn(t, ""); st != http.StatusSeeOther {
		t.Fatalf("basic against a basic client: %d %s", st, body)
	}
}

// A provider's default groups (issue 16: "a default group for created users"): named by the
// administrator, checked when saved, kept by id across a rename, granted to the users the provider
// creates.
func TestExternalAutoCreateDefaultGroups(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		x := newExtEnv(t, backend, map[string]any{"auto_create_users": true, "auto_bind_verified_email": true})
		groupID := map[string]int64{}
		for _, g := range []string{"staff", "ops"} {
			r := x.admin.Do("POST", "/api/admin/groups", map[string]any{"name": g})
			if r.Status != http.StatusCreated {
				t.Fatalf("create group %s: %d %s", g, r.Status, r.Body)
			}
			groupID[g] = r.ID()
		}
		r := x.admin.Do("PATCH", "/api/admin/providers/test-op", map[string]any{"default_groups": []string{"staff", "nope"}})
		if r.Status != http.StatusBadRequest || r.Code() != gatehouse.EInvalid || r.Field() != "default_groups" || !strings.Contains(string(r.Body), `\"nope\"`) {
			t.Fatalf("unknown group: %d %s", r.Status, r.Body)
		}
		if r := x.admin.Do("GET", "/api/admin/providers/test-op", nil); fmt.Sprint(r.JSON["default_groups"]) != "[]" {
			t.Fatalf("a refused change was saved: %s", r.Body)
		}
		if r := x.admin.Do("PATCH", "/api/admin/providers/test-op", map[string]any{"default_groups": []string{"Staff, ops"}}); r.Status != http.StatusOK ||
			fmt.Sprint(r.JSON["default_groups"]) != "[staff ops]" {
			t.Fatalf("set default groups: %d %s", r.Status, r.Body)
		}
		// A rename keeps the default (stored by id).
		if r := x.admin.Do("PATCH", fmt.Sprintf("/api/admin/groups/%d", groupID["ops"]), map[string]any{"name": "operations"}); r.Status != http.StatusOK {
			t.Fatalf("rename group: %d %s", r.Status, r.Body)
		}
		if r := x.admin.Do("GET", "/api/admin/providers/test-op", nil); fmt.Sprint(r.JSON["default_groups"]) != "[staff operations]" {
			t.Fatalf("after rename: %s", r.Body)
		}
		x.op.Queue(oidctest.User{Subject: "sub-new", Email: "newcomer@example.com", PreferredUsername: "newcomer", EmailVerified: true})
		b := x.browser()
		if st, _, body := b.signIn(t, ""); st != http.StatusSeeOther {
			t.Fatalf("auto-create sign-in: %d %s", st, body)
		}
		me := b.Do("GET", "/api/auth/me", nil)
		if me.Status != http.StatusOK || fmt.Sprint(me.User().Groups) != "[operations staff]" {
			t.Fatalf("created user's groups: %d %s", me.Status, me.Body)
		}
		ev := x.admin.EventsOf(t, gatehouse.EventUserCreatedExternal)
		if len(ev) != 1 || fmt.Sprint(ev[0].Data["groups"]) != "[operations staff]" {
			t.Fatalf("user.created_external event: %v", ev)
		}
		// A deleted group drops out of the default and of the view; creation goes on.
		if r := x.admin.Do("DELETE", fmt.Sprintf("/api/admin/groups/%d", groupID["staff"]), nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete group: %d %s", r.Status, r.Body)
		}
		if r := x.admin.Do("GET", "/api/admin/providers/test-op", nil); fmt.Sprint(r.JSON["default_groups"]) != "[operations]" {
			t.Fatalf("after delete: %s", r.Body)
		}
		x.op.Queue(oidctest.User{Subject: "sub-second", Email: "second@example.com", PreferredUsername: "second", EmailVerified: true})
		b2 := x.browser()
		if st, _, body := b2.signIn(t, ""); st != http.StatusSeeOther {
			t.Fatalf("second auto-create: %d %s", st, body)
		}
		if me := b2.Do("GET", "/api/auth/me", nil); fmt.Sprint(me.User().Groups) != "[operations]" {
			t.Fatalf("second user's groups: %s", me.Body)
		}
		// A user who is not an administrator cannot set them.
		if r := x.e.Client().Do("PATCH", "/api/admin/providers/test-op", map[string]any{"default_groups": []string{"operations"}}); r.Status != http.StatusUnauthorized {
			t.Fatalf("anonymous change: %d", r.Status)
		}
	})
}
