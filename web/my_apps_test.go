package web_test

import (
	"net/url"
	"strings"
	"testing"
)

// "My apps" on the security page and GET /api/account/my-apps: an app appears for the users its
// rule lets in at its launch address, never for a user outside the rule's group (who the
// default policy deny turns away), nor behind an earlier deny rule; with none there is an empty
// state. The rule form takes the name and URL, refusing a javascript: address by its field.
func TestMyApps(t *testing.T) {
	t.Parallel()
	e, admin := uxAdmin(t)
	e.CreateUser(admin, "bob", "bob@example.com", adminPW, "user")
	e.CreateUser(admin, "carol", "carol@example.com", adminPW, "user")
	bob, _ := e.Login("bob", adminPW)
	carol, _ := e.Login("carol", adminPW)
	if s := string(bob.Do("GET", "/settings/security", nil).Body); !strings.Contains(s, `id="my-apps-empty"`) {
		t.Fatalf("no empty state without apps:\n%s", s)
	}
	if r := admin.Do("POST", "/api/admin/groups", map[string]string{"name": "wiki-users"}); r.Status != 201 {
		t.Fatalf("group: %d %s", r.Status, r.Body)
	}
	if r := admin.Do("PUT", "/api/admin/groups/1/members/2", nil); r.Status != 200 {
		t.Fatalf("member: %d %s", r.Status, r.Body)
	}
	// The form refuses a launch URL that is not http(s), next to its field, keeping the input.
	r := admin.Form("/admin/access", url.Values{"action": {"add"}, "index": {"-1"}, "domains": {"wiki.example.com"}, "subjects": {"group:wiki-users"},
		"policy": {"one_factor"}, "name": {"Team wiki"}, "url": {"javascript:alert(1)"}})
	if body := string(r.Body); r.Status != 400 || !strings.Contains(body, `id="e-url" role="alert">rule 1: the launch URL must be an http:// or https:// address`) || !strings.Contains(body, `value="Team wiki"`) {
		t.Fatalf("javascript launch URL: %d\n%s", r.Status, body)
	}
	r = admin.Form("/admin/access", url.Values{"action": {"add"}, "index": {"-1"}, "domains": {"wiki.example.com"}, "subjects": {"group:wiki-users"},
		"policy": {"one_factor"}, "name": {"Team wiki"}, "url": {"https://wiki.example.com/start"}})
	if r.Status != 303 {
		t.Fatalf("add rule: %d %s", r.Status, r.Body)
	}
	rules := []map[string]any{
		{"domains": []string{"admin.example.com"}, "policy": "deny", "name": "Blocked", "url": "https://admin.example.com/"},
		{"domains": []string{"wiki.example.com"}, "subjects": []string{"group:wiki-users"}, "policy": "one_factor", "name": "Team wiki", "url": "https://wiki.example.com/start"},
		{"domains": []string{"chat.example.com"}, "policy": "two_factor", "name": "Chat", "url": "https://chat.example.com/"},
		{"domains": []string{"admin.example.com"}, "policy": "one_factor", "name": "Admin (shadowed)", "url": "https://admin.example.com/"},
	}
	if r := admin.Do("PUT", "/api/admin/access-rules", map[string]any{"rules": rules}); r.Status != 200 {
		t.Fatalf("rules: %d %s", r.Status, r.Body)
	}
	if r := admin.Do("PATCH", "/api/admin/settings", map[string]string{"access_default_policy": "deny"}); r.Status != 200 {
		t.Fatalf("default deny: %d %s", r.Status, r.Body)
	}
	if page := string(admin.Do("GET", "/admin/access", nil).Body); !strings.Contains(page, `<a href="https://wiki.example.com/start">Team wiki</a>`) {
		t.Fatalf("the rules table lacks the app:\n%s", page)
	}
	page := string(bob.Do("GET", "/settings/security", nil).Body)
	if !strings.Contains(page, `<a class="app-tile" href="https://wiki.example.com/start">`) || !strings.Contains(page, `<span class="app-name">Chat</span>`) ||
		strings.Contains(page, "Blocked") || strings.Contains(page, "shadowed") || strings.Contains(page, "my-apps-empty") {
		t.Fatalf("bob's apps:\n%s", page)
	}
	got := bob.Do("GET", "/api/account/my-apps", nil)
	if got.Status != 200 || !strings.Contains(string(got.Body), `{"name":"Team wiki","url":"https://wiki.example.com/start","policy":"one_factor"}`) ||
		!strings.Contains(string(got.Body), `"policy":"two_factor"`) {
		t.Fatalf("bob's apps by API: %d %s", got.Status, got.Body)
	}
	// carol is not in wiki-users: the wiki rule does not match her and the default denies.
	page = string(carol.Do("GET", "/settings/security", nil).Body)
	if strings.Contains(page, "Team wiki") || !strings.Contains(page, `<span class="app-name">Chat</span>`) {
		t.Fatalf("carol's apps:\n%s", page)
	}
	if got := carol.Do("GET", "/api/account/my-apps", nil); strings.Contains(string(got.Body), "wiki") {
		t.Fatalf("carol's apps by API: %s", got.Body)
	}
	if got := e.Client().Do("GET", "/api/account/my-apps", nil); got.Status != 401 {
		t.Fatalf("signed out: %d", got.Status)
	}
}
