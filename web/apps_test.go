package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// The apps page registers an app, shows its secret once, rotates it and deletes the app; the
// security page lists the apps a user allowed and takes one back.
func TestAppsPages(t *testing.T) {
	e := testserver.New(t, testserver.Options{Web: true, Provider: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)

	r := admin.Form("/admin/apps", url.Values{"name": {"Grafana"}, "client_id": {"grafana"}, "redirect_uris": {"https://grafana.example.com/login/generic_oauth"}})
	secretRe := regexp.MustCompile(`id="client-secret">([0-9a-f]{64})<`)
	m := secretRe.FindSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	if page := admin.Do("GET", "/admin/apps", nil); secretRe.Match(page.Body) || !strings.Contains(string(page.Body), "grafana.example.com") {
		t.Fatalf("the list shows a secret again or lacks the app: %s", page.Body)
	}
	// Bad input: the error sits next to its field, nothing is saved.
	r = admin.Form("/admin/apps", url.Values{"name": {"Bad"}, "client_id": {"bad"}, "redirect_uris": {"https://x.example.com/*"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `id="e-redirect-uris"`) {
		t.Fatalf("wildcard redirect: %d %s", r.Status, r.Body)
	}
	r = admin.Form("/admin/apps", url.Values{"name": {"Again"}, "client_id": {"grafana"}, "redirect_uris": {"https://x.example.com/cb"}})
	if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), `id="e-client-id"`) {
		t.Fatalf("duplicate id: %d", r.Status)
	}
	r = admin.Form("/admin/apps/grafana/secret", url.Values{})
	if m2 := secretRe.FindSubmatch(r.Body); m2 == nil || string(m2[1]) == string(m[1]) {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	if r := admin.Form("/admin/apps/keys/rotate", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("rotate keys: %d", r.Status)
	}

	// A user allowed the app: it is listed on the security page and can be removed.
	if err := e.Store.SaveOPConsent(t.Context(), consentFor(1, "grafana")); err != nil {
		t.Fatal(err)
	}
	page := admin.Do("GET", "/settings/security", nil)
	if !strings.Contains(string(page.Body), "Apps you signed in to") || !strings.Contains(string(page.Body), "Grafana") {
		t.Fatalf("security page lacks the app: %s", page.Body)
	}
	if r := admin.Form("/settings/security/apps/grafana/revoke", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.Status)
	}
	if page := admin.Do("GET", "/settings/security", nil); strings.Contains(string(page.Body), "Apps you signed in to") {
		t.Fatal("the removed app is still listed")
	}

	if r := admin.Form("/admin/apps/grafana/delete", url.Values{}); r.Status != http.StatusBadRequest {
		t.Fatalf("delete without confirmation: %d", r.Status)
	}
	if r := admin.Form("/admin/apps/grafana/delete", url.Values{"confirm": {"1"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.Status)
	}
	if page := admin.Do("GET", "/admin/apps", nil); strings.Contains(string(page.Body), "grafana.example.com") {
		t.Fatal("the deleted app is still listed")
	}
	bob := e.Client()
	if r := bob.Do("GET", "/admin/apps", nil); r.Status == http.StatusOK {
		t.Fatal("the apps page answered without a session")
	}
}

func consentFor(uid int64, client string) *gatehouse.OPConsent {
	return &gatehouse.OPConsent{UserID: uid, ClientID: client, Scopes: []string{"openid"}, GrantedAt: time.Now()}
}
