package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// TestLanguageFromAcceptLanguage: a German browser gets German pages, with lang="de"; an
// English or unknown one gets English; weights are honoured.
func TestLanguageFromAcceptLanguage(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	e.Setup("alice", "alice@example.com", adminPW)
	for _, tc := range []struct {
		accept, lang, want, notWant string
	}{
		{"de-DE,de;q=0.9,en;q=0.5", "de", "Passwort vergessen?", "Forgot your password?"},
		{"de", "de", ">Anmelden</button>", ">Sign in</button>"},
		{"en-US,en;q=0.9", "en", "Forgot your password?", "Passwort vergessen?"},
		{"fr-FR,fr;q=0.9", "en", "Forgot your password?", "Passwort vergessen?"},
		{"en;q=0.2, de-AT;q=0.8", "de", "Passwort vergessen?", "Forgot your password?"},
		{"", "en", "Forgot your password?", "Passwort vergessen?"},
		{"*;q=garbage,,", "en", "Forgot your password?", "Passwort vergessen?"},
	} {
		c := e.Client()
		c.Header.Set("Accept-Language", tc.accept)
		r := c.Do("GET", "/login", nil)
		body := string(r.Body)
		if r.Status != 200 || !strings.Contains(body, `<html lang="`+tc.lang+`">`) || !strings.Contains(body, tc.want) || strings.Contains(body, tc.notWant) {
			t.Errorf("Accept-Language %q: want %s with %q: %d %s", tc.accept, tc.lang, tc.want, r.Status, body)
		}
	}
	// A refusal on a German page is German too, next to its field.
	c := e.Client()
	c.Header.Set("Accept-Language", "de")
	r := c.Form("/login", url.Values{"login": {"alice"}, "password": {"nope-nope-nope"}})
	if r.Status != 401 || !strings.Contains(string(r.Body), "Benutzername, E-Mail oder Passwort ist falsch.") {
		t.Fatalf("German refusal: %d %s", r.Status, r.Body)
	}
}

// TestLanguageSwitch: the switch on the page sets the gatehouse_lang cookie, which wins over
// Accept-Language from then on, and returns to the page it was pressed on; a foreign address
// in "back" or an unknown language is refused or ignored.
func TestLanguageSwitch(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	e.Setup("alice", "alice@example.com", adminPW)
	c := e.Client()
	c.Header.Set("Accept-Language", "en")
	body := string(c.Do("GET", "/recover", nil).Body)
	if !strings.Contains(body, `action="/language"`) || !strings.Contains(body, `name="back" value="/recover"`) || !strings.Contains(body, `value="de" lang="de"`) {
		t.Fatalf("no language switch on the page: %s", body)
	}
	r := c.Form("/language", url.Values{"lang": {"de"}, "back": {"/recover"}})
	if r.Status != 303 || r.Header.Get("Location") != "/recover" || !strings.Contains(r.Header.Get("Set-Cookie"), "gatehouse_lang=de") {
		t.Fatalf("switch: %d %v", r.Status, r.Header)
	}
	body = string(c.Do("GET", "/recover", nil).Body)
	if !strings.Contains(body, `<html lang="de">`) || !strings.Contains(body, "Link senden") || !strings.Contains(body, `value="de" lang="de" aria-describedby="lang-label" aria-pressed="true"`) {
		t.Fatalf("after the switch the page should be German although the browser asks for English: %s", body)
	}
	// And back to English.
	if r := c.Form("/language", url.Values{"lang": {"en"}, "back": {"/login"}}); r.Status != 303 {
		t.Fatalf("switch back: %d", r.Status)
	}
	if body := string(c.Do("GET", "/login", nil).Body); !strings.Contains(body, `<html lang="en">`) {
		t.Fatalf("switch back to English: %s", body)
	}
	// An unknown language: 400, no cookie.
	r = c.Form("/language", url.Values{"lang": {"xx"}, "back": {"/login"}})
	if r.Status != 400 || strings.Contains(r.Header.Get("Set-Cookie"), "gatehouse_lang") {
		t.Fatalf("unknown language: %d %v", r.Status, r.Header)
	}
	// "back" never leaves the site.
	for _, back := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"} {
		r := c.Form("/language", url.Values{"lang": {"de"}, "back": {back}})
		if loc := r.Header.Get("Location"); r.Status != 303 || loc != "/" {
			t.Errorf("back %q: %d to %q", back, r.Status, loc)
		}
	}
	// A cross-site form cannot switch the language.
	r = e.Client().Form("/language", url.Values{"lang": {"de"}, "back": {"/login"}}, "Sec-Fetch-Site", "cross-site")
	if r.Status != 403 {
		t.Fatalf("cross-site switch: %d", r.Status)
	}
}
