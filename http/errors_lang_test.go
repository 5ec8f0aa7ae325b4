package http_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// API error messages follow the client's language like the pages do (the gatehouse_lang cookie,
// else Accept-Language); codes and fields stay the same, since programs read them.
func TestAPIErrorMessagesInTheClientsLanguage(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	e.Setup("alice", "alice@example.com", adminPW)
	body := map[string]string{"login": "alice", "password": "wrong password"}
	en := e.Client().Do("POST", "/api/auth/login", body)
	de := e.Client().Do("POST", "/api/auth/login", body, "Accept-Language", "de-DE,de;q=0.9")
	cookie := e.Client().Do("POST", "/api/auth/login", body, "Accept-Language", "en", "Cookie", "gatehouse_lang=de")
	if en.Code() != "invalid_credentials" || de.Code() != en.Code() || cookie.Code() != en.Code() || de.Status != 401 {
		t.Fatalf("codes: %s / %s / %s (status %d)", en.Code(), de.Code(), cookie.Code(), de.Status)
	}
	if en.Message() != "the username, email or password is wrong" {
		t.Fatalf("English message: %q", en.Message())
	}
	for name, r := range map[string]*testserver.Response{"Accept-Language": de, "cookie": cookie} {
		if r.Message() != "Benutzername, E-Mail oder Passwort ist falsch" {
			t.Errorf("German by %s: %q", name, r.Message())
		}
	}
	// A field error keeps its field, in German.
	f := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "", "password": "x"}, "Accept-Language", "de")
	if f.Status != 400 || f.Field() != "login" || f.Message() == "enter a username or email" {
		t.Fatalf("German field error: %d field %q message %q", f.Status, f.Field(), f.Message())
	}
}
