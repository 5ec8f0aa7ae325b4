package oidcprovider_test

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// The provider's own pages speak the browser's language and carry the site's branding, like
// every other page: a German browser gets the consent page in German, under the site name.
func TestProviderPagesLanguageAndBranding(t *testing.T) {
	x := newRP(t, "sqlite", options{})
	if r := x.admin.Do("PATCH", "/api/admin/settings", map[string]any{"site_name": "Acme Login", "site_accent_color": "#2563eb"}); r.Status != http.StatusOK && r.Status != http.StatusNoContent {
		t.Fatalf("branding: %d %s", r.Status, r.Body)
	}
	v := oauth2.GenerateVerifier()
	x.admin.Header.Set("Accept-Language", "de-DE,de;q=0.9")
	page, back := x.follow(x.admin, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	body := string(page.Body)
	if back != nil || page.Status != http.StatusOK {
		t.Fatalf("want the consent page: %v %d %s", back, page.Status, body)
	}
	for _, want := range []string{`<html lang="de">`, "· Acme Login</title>", "Erlauben", "Ihre E-Mail-Adresse", "/branding.css?v=2563eb", "<span>Acme Login</span>"} {
		if !strings.Contains(body, want) {
			t.Errorf("German consent page lacks %q:\n%s", want, body)
		}
	}
	for _, notWant := range []string{">Allow<", "your email address", "· gatehouse</title>"} {
		if strings.Contains(body, notWant) {
			t.Errorf("German consent page still has %q", notWant)
		}
	}
	// English by default.
	x.admin.Header.Del("Accept-Language")
	page, _ = x.follow(x.admin, x.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	if body := string(page.Body); !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, ">Allow<") || !strings.Contains(body, "your email address") {
		t.Errorf("English consent page:\n%s", body)
	}
}
