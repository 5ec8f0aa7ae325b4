package http_test

import (
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// Issue #15 item 7: a look-alike of an existing username cannot be created by an administrator
// or registered, with a code that says why; a fullwidth spelling is the same name; an account
// created with "ＡＬＩＣＥ"-style letters is stored as plain ASCII.
func TestLookAlikeUsernamesAreRefused(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		m := newMailEnv(t, testserver.Options{Backend: backend})
		m.CreateUser(m.admin, "admin2", "admin2@example.com", "admin2 password", "user")
		cases := []struct{ name, code string }{
			{"\u0430dmin2", gatehouse.EConfusable},      // Cyrillic а
			{"\uff41dmin2", gatehouse.EConflict},        // fullwidth ａ: the same name
			{"ADMIN2", gatehouse.EConflict},             // case
			{"adm\u0131n2", gatehouse.EConfusable},      // dotless ı
			{"\u0430\u0501min2", gatehouse.EConfusable}, // two Cyrillic letters
		}
		for _, c := range cases {
			r := m.admin.Do("POST", "/api/admin/users", map[string]string{"username": c.name, "email": "x@example.com", "password": "a good password"})
			if r.Status != 409 || r.Code() != c.code || r.Field() != "username" {
				t.Errorf("admin create %q: %d %s, want 409 %s on username", c.name, r.Status, r.Body, c.code)
			}
			r = m.Client().Do("POST", "/api/auth/register", map[string]string{"username": c.name, "email": "y@example.com", "password": "a good password"})
			if r.Status != 409 || r.Code() != c.code {
				t.Errorf("register %q: %d %s, want 409 %s", c.name, r.Status, r.Body, c.code)
			}
		}
		r := m.admin.Do("POST", "/api/admin/users", map[string]string{"username": "\uff2b\uff49\uff4d", "email": "kim@example.com", "password": "a good password"})
		if r.Status != 201 && r.Status != 200 {
			t.Fatalf("fullwidth new name: %d %s", r.Status, r.Body)
		}
		// The answer is the user, or the user wrapped in "user".
		a := testserver.Decode[struct {
			testserver.User
			Wrapped *testserver.User `json:"user"`
		}](r)
		if (a.Wrapped == nil || a.Wrapped.Username != "kim") && a.Username != "kim" {
			t.Fatalf("fullwidth name stored as %s, want kim", r.Body)
		}
		m.Login("kim", "a good password")
	})
}

// A username typed in fullwidth letters at sign-in finds the account, as the same name is refused
// as a duplicate at registration; so does an email typed with a fullwidth at sign.
func TestFullwidthSignIn(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	for _, login := range []string{"\uff42\uff4f\uff42", "\uff22\uff2f\uff22", " Bob ", "bob\uff20example.com"} {
		if r := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": login, "password": "bob password 1"}); r.Status != 200 {
			t.Errorf("sign-in as %q: %d %s, want 200", login, r.Status, r.Body)
		}
	}
	if r := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "b\u043eb", "password": "bob password 1"}); r.Status != 401 {
		t.Errorf("sign-in with a Cyrillic look-alike: %d %s, want 401", r.Status, r.Body)
	}
}
