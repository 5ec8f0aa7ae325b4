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

// TestMailInTheUsersLanguage, over a real SMTP server on loopback: a German browser registers
// and gets its activation mail in German (the request's language at registration); a user who
// saved German on the security page gets German mail even when an English browser asks for it;
// a user with no preference gets English.
func TestMailInTheUsersLanguage(t *testing.T) {
	t.Parallel()
	m := newMailSite(t, true)
	de := m.Client()
	de.Header.Set("Accept-Language", "de-DE,de;q=0.9")
	r := de.Form("/register", url.Values{"username": {"greta"}, "email": {"greta@example.com"}, "password": {"greta password 1"}, "password_confirm": {"greta password 1"}})
	if r.Status != 200 || !strings.Contains(string(r.Body), "Sehen Sie in Ihr Postfach") {
		t.Fatalf("German registration: %d %s", r.Status, r.Body)
	}
	m.deliver()
	act := m.smtp.To("greta@example.com")
	if len(act) != 1 {
		t.Fatalf("%d activation mails", len(act))
	}
	if !strings.HasPrefix(act[0].Subject, "Aktivieren Sie Ihr ") || !strings.Contains(act[0].Text, "Hallo greta,") || !strings.Contains(act[0].Text, "innerhalb von 1 Tag") && !strings.Contains(act[0].Text, "Stunden") ||
		!strings.Contains(act[0].HTML, `<html lang="de">`) || !strings.Contains(act[0].HTML, "Mein Konto aktivieren") || strings.Contains(act[0].Text, "Hello") {
		t.Fatalf("the activation mail is not German:\n%s\n%s\n%s", act[0].Subject, act[0].Text, act[0].HTML)
	}

	// omar saves German on his security page; his reset, asked for by an English browser, is German.
	m.CreateUser(m.admin, "omar", "omar@example.com", "omar password 1", "user")
	omar, _ := m.Login("omar", "omar password 1")
	body := string(omar.Do("GET", "/settings/security", nil).Body)
	if !strings.Contains(body, `action="/settings/security/language"`) || !strings.Contains(body, `<option value="" selected>`) {
		t.Fatalf("no language preference on the security page: %s", body)
	}
	r = omar.Form("/settings/security/language", url.Values{"language": {"de"}})
	if r.Status != 303 || !strings.Contains(r.Header.Get("Set-Cookie"), "gatehouse_lang=de") {
		t.Fatalf("saving the language: %d %v", r.Status, r.Header)
	}
	body = string(omar.Do("GET", "/settings/security?done=language", nil).Body)
	if !strings.Contains(body, `<option value="de" lang="de" selected>`) || !strings.Contains(body, "Ihre Sprache ist gespeichert.") {
		t.Fatalf("after saving: %s", body)
	}
	if r := omar.Form("/settings/security/language", url.Values{"language": {"tlh"}}); r.Status != 400 {
		t.Fatalf("a language not offered: %d", r.Status)
	}
	en := m.Client()
	en.Header.Set("Accept-Language", "en")
	if r := en.Form("/recover", url.Values{"email": {"omar@example.com"}}); r.Status != 200 || !strings.Contains(string(r.Body), "Check your mail") {
		t.Fatalf("recover: %d", r.Status)
	}
	m.CreateUser(m.admin, "ada", "ada@example.com", "ada password 12", "user")
	if r := de.Form("/recover", url.Values{"email": {"ada@example.com"}}); r.Status != 200 {
		t.Fatalf("recover: %d", r.Status)
	}
	m.deliver()
	reset := m.smtp.To("omar@example.com")
	if len(reset) != 1 || !strings.HasPrefix(reset[0].Subject, "Setzen Sie Ihr ") || !strings.Contains(reset[0].Text, "Hallo omar,") || !strings.Contains(reset[0].HTML, "Neues Passwort wählen") {
		t.Fatalf("omar's reset mail is not German: %+v", reset)
	}
	// ada chose nothing: English, whatever the browser that asked.
	ada := m.smtp.To("ada@example.com")
	if len(ada) != 1 || !strings.HasPrefix(ada[0].Subject, "Reset your ") || !strings.Contains(ada[0].Text, "Hello ada,") {
		t.Fatalf("ada's reset mail is not English: %+v", ada)
	}
	// The API shows and changes the preference.
	if r := omar.Do("PUT", "/api/account/language", map[string]any{"language": ""}); r.Status != 200 || !strings.Contains(string(r.Body), `"language":""`) {
		t.Fatalf("clearing by API: %d %s", r.Status, r.Body)
	}
	if r := omar.Do("PUT", "/api/account/language", map[string]any{"language": "fr"}); r.Status != 400 || !strings.Contains(string(r.Body), `"field":"language"`) {
		t.Fatalf("a language not offered by API: %d %s", r.Status, r.Body)
	}
}
