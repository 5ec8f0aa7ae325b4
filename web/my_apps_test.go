package web_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
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

// An OpenID Provider client with a launch URL is on "My apps" of the users it admits (its
// allowed_groups), on both backends: never for a user outside its groups, never without a
// launch URL. The launch URL must be an http(s) address, refused by its field in the API and
// on the apps page.
func TestMyAppsOIDCClients(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := testserver.New(t, testserver.Options{Web: true, Provider: true, Backend: backend})
			admin, _ := e.Setup("alice", "alice@example.com", adminPW)
			bobID := e.CreateUser(admin, "bob", "bob@example.com", adminPW, "user")
			e.CreateUser(admin, "carol", "carol@example.com", adminPW, "user")
			bob, _ := e.Login("bob", adminPW)
			carol, _ := e.Login("carol", adminPW)
			if r := admin.Do("POST", "/api/admin/groups", map[string]string{"name": "grafana-users"}); r.Status != 201 {
				t.Fatalf("group: %d %s", r.Status, r.Body)
			}
			if r := admin.Do("PUT", fmt.Sprintf("/api/admin/groups/1/members/%d", bobID), nil); r.Status != 200 {
				t.Fatalf("member: %d %s", r.Status, r.Body)
			}
			client := func(id, launch string, groups []string) *testserver.Response {
				return admin.Do("POST", "/api/admin/oidc/clients", map[string]any{"client_id": id, "name": "App " + id,
					"redirect_uris": []string{"https://" + id + ".example.com/cb"}, "allowed_groups": groups, "launch_url": launch})
			}
			for _, bad := range []string{"javascript:alert(1)", "/relative", "https://user:pw@grafana.example.com/", "ftp://x.example.com/"} {
				if r := client("bad", bad, nil); r.Status != 400 || !strings.Contains(string(r.Body), `"field":"launch_url"`) {
					t.Fatalf("launch URL %q: %d %s", bad, r.Status, r.Body)
				}
			}
			if r := client("grafana", "https://grafana.example.com/", []string{"grafana-users"}); r.Status != 201 || !strings.Contains(string(r.Body), `"launch_url":"https://grafana.example.com/"`) {
				t.Fatalf("grafana: %d %s", r.Status, r.Body)
			}
			for _, c := range [][2]string{{"wiki", "https://wiki.example.com/start"}, {"hidden", ""}} {
				if r := client(c[0], c[1], nil); r.Status != 201 {
					t.Fatalf("%s: %d %s", c[0], r.Status, r.Body)
				}
			}
			got := string(bob.Do("GET", "/api/account/my-apps", nil).Body)
			if !strings.Contains(got, `{"name":"App grafana","url":"https://grafana.example.com/","client_id":"grafana"}`) ||
				!strings.Contains(got, `{"name":"App wiki","url":"https://wiki.example.com/start","client_id":"wiki"}`) || strings.Contains(got, "hidden") {
				t.Fatalf("bob's apps: %s", got)
			}
			if page := string(bob.Do("GET", "/settings/security", nil).Body); !strings.Contains(page, `<a class="app-tile" href="https://grafana.example.com/">`) ||
				strings.Contains(page, "my-apps-empty") {
				t.Fatalf("bob's page:\n%s", page)
			}
			// carol is not in grafana-users: only the app open to everyone.
			got = string(carol.Do("GET", "/api/account/my-apps", nil).Body)
			if strings.Contains(got, "grafana") || !strings.Contains(got, "wiki.example.com") {
				t.Fatalf("carol's apps: %s", got)
			}
			if page := string(carol.Do("GET", "/settings/security", nil).Body); strings.Contains(page, "grafana.example.com") || !strings.Contains(page, `<span class="app-name">App wiki</span>`) {
				t.Fatalf("carol's page:\n%s", page)
			}
			// Clearing the launch URL takes the app off the list.
			if r := admin.Do("PATCH", "/api/admin/oidc/clients/wiki", map[string]any{"launch_url": ""}); r.Status != 200 || !strings.Contains(string(r.Body), `"launch_url":""`) {
				t.Fatalf("clear launch URL: %d %s", r.Status, r.Body)
			}
			if got := string(carol.Do("GET", "/api/account/my-apps", nil).Body); got != `{"apps":[]}`+"\n" {
				t.Fatalf("carol's apps after the change: %q", got)
			}
			if page := string(carol.Do("GET", "/settings/security", nil).Body); !strings.Contains(page, `id="my-apps-empty"`) {
				t.Fatalf("no empty state:\n%s", page)
			}
			// The apps page takes the launch URL, refusing a bad one next to its field and keeping it.
			r := admin.Form("/admin/apps", url.Values{"name": {"Chat"}, "client_id": {"chat"}, "redirect_uris": {"https://chat.example.com/cb"}, "launch_url": {"javascript:alert(1)"}})
			if body := string(r.Body); r.Status != 400 || !strings.Contains(body, `id="e-launch-url" role="alert">the launch URL must be an http:// or https:// address`) ||
				!strings.Contains(body, `value="javascript:alert(1)"`) {
				t.Fatalf("bad launch URL on the page: %d\n%s", r.Status, body)
			}
			r = admin.Form("/admin/apps", url.Values{"name": {"Chat"}, "client_id": {"chat"}, "redirect_uris": {"https://chat.example.com/cb"}, "launch_url": {"https://chat.example.com/"}})
			if r.Status != 200 || !strings.Contains(string(r.Body), `<a href="https://chat.example.com/">Chat</a>`) {
				t.Fatalf("register with a launch URL: %d\n%s", r.Status, r.Body)
			}
			if got := string(carol.Do("GET", "/api/account/my-apps", nil).Body); !strings.Contains(got, `"client_id":"chat"`) {
				t.Fatalf("the page's app is not listed: %s", got)
			}
			// An app's row sets or clears its launch URL; a bad one is refused next to that row's field.
			r = admin.Form("/admin/apps/wiki/launch-url", url.Values{"launch_url": {"data:text/html,hi"}})
			if body := string(r.Body); r.Status != 400 || !strings.Contains(body, `id="e-launch-wiki" role="alert">the launch URL must be`) ||
				!strings.Contains(body, `value="data:text/html,hi"`) || !strings.Contains(body, `<details open>`) {
				t.Fatalf("bad launch URL in a row: %d\n%s", r.Status, body)
			}
			if r := admin.Form("/admin/apps/wiki/launch-url", url.Values{"launch_url": {"https://wiki.example.com/home"}}); r.Status != 303 {
				t.Fatalf("set launch URL in a row: %d %s", r.Status, r.Body)
			}
			if got := string(carol.Do("GET", "/api/account/my-apps", nil).Body); !strings.Contains(got, `"url":"https://wiki.example.com/home"`) {
				t.Fatalf("the row's launch URL is not listed: %s", got)
			}
			if page := string(admin.Do("GET", "/admin/apps?done=launch", nil).Body); !strings.Contains(page, "The launch URL is saved") ||
				!strings.Contains(page, `id="f-launch-wiki" name="launch_url" type="url" inputmode="url" autocomplete="off" value="https://wiki.example.com/home"`) {
				t.Fatalf("the list after saving:\n%s", page)
			}
		})
	}
}
