package i18n

import (
	"net/http/httptest"
	"testing"
)

func TestMatch(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for accept, want := range map[string]string{
		"de": "de", "de-CH": "de", "en-GB,de;q=0.5": "en", "fr,de;q=0.3": "de", "fr": "en", "": "en", ";;;": "en", "gsw": "de",
	} {
		if got := c.Match(accept); got != want {
			t.Errorf("Match(%q) = %q, want %q", accept, got, want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Language", "de")
	if code, explicit := c.ForRequest(r); code != "de" || explicit {
		t.Fatalf("header only: %s %v", code, explicit)
	}
	r.Header.Set("Cookie", CookieName+"=en")
	if code, explicit := c.ForRequest(r); code != "en" || !explicit {
		t.Fatalf("the cookie wins: %s %v", code, explicit)
	}
	r.Header.Set("Cookie", CookieName+"=klingon")
	if code, explicit := c.ForRequest(r); code != "de" || explicit {
		t.Fatalf("an unknown cookie value is ignored: %s %v", code, explicit)
	}
}

func TestPrinter(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	de, en := c.Printer("de"), c.Printer("en")
	if got := de.T("Sign in with %s", "Example SSO"); got != "Mit Example SSO anmelden" {
		t.Fatalf("de: %q", got)
	}
	if got := en.T("Sign in with %s", "Example SSO"); got != "Sign in with Example SSO" {
		t.Fatalf("en: %q", got)
	}
	if got := de.T("100% unknown"); got != "100% unknown" {
		t.Fatalf("an unknown text without arguments is left alone: %q", got)
	}
	if c.Printer("xx").Code() != "en" {
		t.Fatal("an unknown language prints English")
	}
	// Finished English sentences are read back: exact, capitalised with a full stop, formatted.
	for in, want := range map[string]string{
		"Wrong username, email or password.":                  "Benutzername, E-Mail oder Passwort ist falsch.",
		"The form could not be read: unexpected EOF":          "Das Formular konnte nicht gelesen werden: unexpected EOF",
		"Too many sign-in attempts. Try again in 12 seconds.": "Zu viele Anmeldeversuche. Versuchen Sie es in 12 Sekunden erneut.",
		"nothing we know": "nothing we know",
	} {
		if got := de.Localize(in); got != want {
			t.Errorf("Localize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVerbsMustMatch(t *testing.T) {
	if verbs("a %s b %d %%") != "%d %s" || verbs("%[2]s %[1]d") != "%[1]d %[2]s" {
		t.Fatalf("verbs: %q %q", verbs("a %s b %d %%"), verbs("%[2]s %[1]d"))
	}
	for key, text := range German() {
		if verbs(key) != verbs(text) {
			t.Errorf("%q: German %q has other verbs", key, text)
		}
	}
}

// A long key wins over a short one whatever form of the sentence it matches: the page's added
// full stop must not let "%v of %v" translate one word of a refusal it was never meant for.
func TestLocalizePrefersTheSpecificKey(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	got := c.Printer("de").Localize("#111111 has a contrast of 1.0:1 against the dark mode page background (#10141a); at least 3:1 is needed so buttons and focus rings stay visible in light and dark mode.")
	want := "#111111 hat einen Kontrast von 1.0:1 zum Seitenhintergrund im dunklen Modus (#10141a); mindestens 3:1 sind nötig, damit Schaltflächen und Fokusrahmen im hellen und im dunklen Modus sichtbar bleiben."
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if got := c.Printer("de").Localize("2 of 5"); got != "2 von 5" {
		t.Fatalf("the short key: %q", got)
	}
}
