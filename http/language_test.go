package http_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/oidctest"
)

// Accounts made for someone else get a language like self-registered ones: an administrator's
// new user takes the language asked for, else the creating request's (the language switch's
// cookie, else Accept-Language); an external sign-in's new account and an accepted invitation
// take the language of the browser. Nothing matching leaves none (mail in English, the default).
func TestNewAccountsGetALanguage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		x := newExtEnv(t, backend, map[string]any{"auto_create_users": true})
		lang := func(uid float64) string {
			t.Helper()
			u, err := x.e.Store.UserByID(t.Context(), int64(uid))
			if err != nil {
				t.Fatal(err)
			}
			return u.Language
		}
		create := func(name string, body map[string]any, hdr ...string) string {
			t.Helper()
			b := map[string]any{"username": name, "email": name + "@example.com", "password": "a good long password"}
			for k, v := range body {
				b[k] = v
			}
			r := x.admin.Do("POST", "/api/admin/users", b, hdr...)
			if r.Status != http.StatusCreated {
				t.Fatalf("create %s: %d %s", name, r.Status, r.Body)
			}
			if got := r.Str("language"); got != lang(r.JSON["id"].(float64)) {
				t.Fatalf("%s: the answer says %q, the store another", name, got)
			}
			return r.Str("language")
		}
		if got := create("anna", nil, "Accept-Language", "de-CH,de;q=0.9,en;q=0.5"); got != "de" {
			t.Fatalf("from a German request: %q", got)
		}
		if got := create("ben", map[string]any{"language": "en"}, "Accept-Language", "de"); got != "en" {
			t.Fatalf("asked for English: %q", got)
		}
		if got := create("chloe", nil, "Accept-Language", "fr"); got != "" {
			t.Fatalf("from a French request: %q", got)
		}
		// The pages' switch (its cookie) wins over the browser's header.
		if got := create("dora", nil, "Accept-Language", "en", "Cookie", "gatehouse_lang=de"); got != "de" {
			t.Fatalf("with the language cookie: %q", got)
		}
		if r := x.admin.Do("POST", "/api/admin/users", map[string]any{"username": "emil", "email": "emil@example.com",
			"password": "a good long password", "language": "fr"}); r.Status != http.StatusBadRequest || r.Field() != "language" {
			t.Fatalf("an unoffered language: %d %s", r.Status, r.Body)
		}
		// The administrator's page form: the page's language.
		x.admin.Header.Set("Accept-Language", "de")
		r := x.admin.Form("/admin/users", url.Values{"username": {"fritz"}, "email": {"fritz@example.com"}, "password": {"a good long password"}, "role": {"user"}})
		x.admin.Header.Del("Accept-Language")
		if r.Status != http.StatusSeeOther {
			t.Fatalf("create on the page: %d %s", r.Status, r.Body)
		}
		if r := x.admin.Do("GET", "/api/admin/users?query=fritz", nil); r.Status != 200 || r.JSON["items"].([]any)[0].(map[string]any)["language"] != "de" {
			t.Fatalf("created on a German page: %s", r.Body)
		}

		// An external sign-in that creates the account: the browser's language.
		x.op.Queue(oidctest.User{Subject: "sub-greta", Email: "greta@example.com", PreferredUsername: "greta", EmailVerified: true})
		b := x.browser()
		b.Header.Set("Accept-Language", "de-AT")
		if st, _, body := b.signIn(t, ""); st != http.StatusSeeOther {
			t.Fatalf("auto-create: %d %s", st, body)
		}
		me := b.Do("GET", "/api/auth/me", nil)
		if got := me.JSON["user"].(map[string]any)["language"]; got != "de" {
			t.Fatalf("the external account's language: %v (%s)", got, me.Body)
		}
	})
}

// An invitation accepted from a German browser makes a German account.
func TestInvitedAccountGetsTheBrowsersLanguage(t *testing.T) {
	t.Parallel()
	m, _ := invitationEnv(t, "sqlite")
	tok, _ := invite(t, m, map[string]any{"email": "ida@example.com", "expires_in": 3600})
	r := m.Client().Do("POST", "/api/auth/invitation/accept", map[string]any{"token": tok, "username": "ida", "email": "ida@example.com",
		"password": "a good long password"}, "Accept-Language", "de-DE,de;q=0.9")
	if r.Status != http.StatusCreated || r.JSON["user"].(map[string]any)["language"] != "de" {
		t.Fatalf("accept from a German browser: %d %s", r.Status, r.Body)
	}
}
