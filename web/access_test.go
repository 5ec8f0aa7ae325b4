package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// The groups and access-rules pages without JavaScript: create, rename, members, delete with
// confirmation; add, edit, move and delete rules with field errors; the test box.
func TestAccessPages(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	c := e.Client()
	if r := c.Form("/login/setup", url.Values{"username": {"alice"}, "email": {"alice@example.com"}, "password": {adminPW}, "password_confirm": {adminPW}}); r.Status != 303 {
		t.Fatalf("setup: %d", r.Status)
	}
	e.CreateUser(c, "bob", "bob@example.com", "bob password 1", "user")

	r := c.Form("/admin/groups", url.Values{"name": {"a b"}})
	if r.Status != 400 || !strings.Contains(string(r.Body), `id="e-name"`) || !strings.Contains(string(r.Body), `value="a b"`) {
		t.Fatalf("bad group name: %d %s", r.Status, r.Body)
	}
	r = c.Form("/admin/groups", url.Values{"name": {"Ops"}, "description": {"on call"}})
	loc := r.Header.Get("Location")
	if r.Status != 303 || !strings.HasPrefix(loc, "/admin/groups/") {
		t.Fatalf("create group: %d %q", r.Status, loc)
	}
	group := strings.TrimSuffix(loc, "?done=created")
	if r := c.Form(group, url.Values{"action": {"add"}, "user": {"nobody"}}); r.Status != 400 || !strings.Contains(string(r.Body), `no user &#34;nobody&#34;`) {
		t.Fatalf("add unknown member: %d %s", r.Status, r.Body)
	}
	if r := c.Form(group, url.Values{"action": {"add"}, "user": {"BOB@example.com"}}); r.Status != 303 {
		t.Fatalf("add member: %d %s", r.Status, r.Body)
	}
	page := string(c.Do("GET", group, nil).Body)
	if !strings.Contains(page, ">bob</a>") || !strings.Contains(page, "Remove bob") {
		t.Fatalf("group page lacks bob:\n%s", page)
	}
	if u := string(c.Do("GET", "/admin/users/2", nil).Body); !strings.Contains(u, "<dt>Groups</dt><dd>ops") {
		t.Fatalf("the user's page lacks the groups:\n%s", u)
	}
	if l := string(c.Do("GET", "/admin/users?group=ops", nil).Body); !strings.Contains(l, ">bob</a>") || strings.Contains(l, ">alice</a>") || !strings.Contains(l, `<option value="ops" selected>`) {
		t.Fatalf("users filtered by group:\n%s", l)
	}
	bob, _ := e.Login("bob", "bob password 1")
	if s := string(bob.Do("GET", "/settings/security", nil).Body); !strings.Contains(s, "your groups: ops.") {
		t.Fatalf("the security page lacks the groups:\n%s", s)
	}
	if l := string(c.Do("GET", "/admin/groups", nil).Body); !strings.Contains(l, ">ops</a>") || !strings.Contains(l, "<td>1</td>") {
		t.Fatalf("groups list:\n%s", l)
	}

	// Rules: a bad expression is named next to its field, and nothing is saved.
	rule := url.Values{"action": {"add"}, "index": {"-1"}, "domains": {"app.example.com"}, "paths": {"^/admin(["}, "subjects": {"group:ops"}, "policy": {"one_factor"}}
	r = c.Form("/admin/access", rule)
	if b := string(r.Body); r.Status != 400 || !strings.Contains(b, `id="e-paths"`) || !strings.Contains(b, "not a valid regular expression") {
		t.Fatalf("bad rule: %d %s", r.Status, b)
	}
	rule.Set("paths", "^/admin(/.*)?$")
	if r := c.Form("/admin/access", rule); r.Status != 303 {
		t.Fatalf("add rule: %d %s", r.Status, r.Body)
	}
	if r := c.Form("/admin/access", url.Values{"action": {"add"}, "domains": {"app.example.com"}, "paths": {"^/admin(/.*)?$"}, "policy": {"deny"}}); r.Status != 303 {
		t.Fatalf("add second rule: %d %s", r.Status, r.Body)
	}
	// Move the deny rule up: now it decides for bob too.
	if r := c.Form("/admin/access", url.Values{"action": {"up"}, "index": {"1"}}); r.Status != 303 {
		t.Fatalf("move up: %d %s", r.Status, r.Body)
	}
	test := func(user string) string {
		r := c.Form("/admin/access", url.Values{"action": {"test"}, "test_url": {"https://app.example.com/admin/x"}, "test_user": {user}})
		b := string(r.Body)
		i := strings.Index(b, `id="test-result"`)
		if r.Status != 200 || i < 0 {
			t.Fatalf("test box: %d %s", r.Status, b)
		}
		return b[i:min(len(b), i+160)]
	}
	if got := test("bob"); !strings.Contains(got, "rule 1</strong> decides: deny") {
		t.Fatalf("after moving deny up: %s", got)
	}
	if r := c.Form("/admin/access", url.Values{"action": {"down"}, "index": {"0"}}); r.Status != 303 {
		t.Fatalf("move down: %d %s", r.Status, r.Body)
	}
	if got := test("bob"); !strings.Contains(got, "rule 1</strong> decides: one_factor") {
		t.Fatalf("after moving deny down: %s", got)
	}
	if r := c.Form("/admin/access", url.Values{"action": {"test"}, "test_url": {"app.example.com"}}); r.Status != 400 || !strings.Contains(string(r.Body), `id="e-test-url"`) {
		t.Fatalf("test box with a bad url: %d", r.Status)
	}
	// Edit rule 1's policy; the page shows the saved list.
	edit := string(c.Do("GET", "/admin/access?edit=0", nil).Body)
	if !strings.Contains(edit, "Edit rule 1") || !strings.Contains(edit, "group:ops</textarea>") {
		t.Fatalf("edit form:\n%s", edit)
	}
	if r := c.Form("/admin/access", url.Values{"action": {"save"}, "index": {"0"}, "domains": {"app.example.com"}, "paths": {"^/admin(/.*)?$"}, "subjects": {"group:ops"}, "policy": {"two_factor"}}); r.Status != 303 {
		t.Fatalf("save rule: %d %s", r.Status, r.Body)
	}
	if got := test("bob"); !strings.Contains(got, "two_factor") {
		t.Fatalf("after editing: %s", got)
	}

	// The group a rule names cannot be deleted; the confirmation page says why.
	if r := c.Form(group+"/delete", url.Values{"confirm": {"yes"}}); r.Status != 409 || !strings.Contains(string(r.Body), "rule 1") {
		t.Fatalf("delete group in use: %d %s", r.Status, r.Body)
	}
	for range 2 {
		if r := c.Form("/admin/access", url.Values{"action": {"delete"}, "index": {"0"}}); r.Status != 303 {
			t.Fatalf("delete rule: %d %s", r.Status, r.Body)
		}
	}
	if r := c.Form(group+"/delete", url.Values{"confirm": {"yes"}}); r.Status != 303 || r.Header.Get("Location") != "/admin/groups?done=deleted" {
		t.Fatalf("delete group: %d %s", r.Status, r.Body)
	}
	if r := c.Do("GET", group, nil); r.Status != 404 {
		t.Fatalf("deleted group's page: %d", r.Status)
	}
}
