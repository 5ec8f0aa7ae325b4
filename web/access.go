package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/access"
	"github.com/gatehouse/gatehouse/auth"
)

// The admin console's groups and access rules (docs/access-control.md). Every form posts the
// change through the access service, which validates and saves atomically; a refused change
// re-renders the page with the error next to its field and nothing saved.

var accessPages = []string{"admin_groups", "admin_group", "admin_group_delete", "admin_access"}

func (p *pages) accessRoutes(mux *http.ServeMux) {
	if p.access == nil {
		return
	}
	mux.Handle("GET /admin/groups", p.page(p.admin(p.adminGroups)))
	mux.Handle("POST /admin/groups", p.page(p.admin(p.adminCreateGroup)))
	mux.Handle("GET /admin/groups/{id}", p.page(p.admin(p.adminGroup)))
	mux.Handle("POST /admin/groups/{id}", p.page(p.admin(p.adminGroupAction)))
	mux.Handle("GET /admin/groups/{id}/delete", p.page(p.admin(p.adminGroupDeletePage)))
	mux.Handle("POST /admin/groups/{id}/delete", p.page(p.admin(p.adminGroupDelete)))
	mux.Handle("GET /admin/access", p.page(p.admin(p.adminAccess)))
	mux.Handle("POST /admin/access", p.page(p.admin(p.adminAccessAction)))
}

func actorOf(pr *auth.Principal, m auth.ClientMeta) access.Actor {
	return access.Actor{UserID: pr.User.ID, Admin: pr.User.Role == gatehouse.RoleAdmin, SessionID: pr.SessionID, IP: m.IP, UserAgent: m.UserAgent}
}

func (p *pages) adminGroups(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	return p.renderGroups(w, r, pr, http.StatusOK, nil, map[string]string{})
}

func (p *pages) renderGroups(w http.ResponseWriter, r *http.Request, pr *auth.Principal, status int, err error, values map[string]string) error {
	gs, lerr := p.access.ListGroups(r.Context(), actorOf(pr, p.kit.Meta(r)))
	if lerr != nil {
		return lerr
	}
	v := &view{Title: "Groups", User: pr.User, Admin: true, Nav: "groups", Data: gs, form: form{Form: values}}
	if err != nil {
		v.refuse(err)
	}
	v.Notice = map[string]string{"deleted": "The group is deleted."}[r.URL.Query().Get("done")]
	p.render(w, status, "admin_groups", v)
	return nil
}

func (p *pages) adminCreateGroup(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	name, desc := r.PostForm.Get("name"), r.PostForm.Get("description")
	g, err := p.access.CreateGroup(r.Context(), actorOf(pr, p.kit.Meta(r)), name, desc)
	if err != nil {
		return p.renderGroups(w, r, pr, ghttpStatus(err), err, map[string]string{"name": name, "description": desc})
	}
	p.redirect(w, r, "/admin/groups/"+strconv.FormatInt(g.ID, 10)+"?done=created")
	return nil
}

// groupData is a group's page: the group, its members, and the other users to add.
type groupData struct {
	Group   *gatehouse.Group
	Members []*gatehouse.User
}

func (p *pages) groupView(r *http.Request, pr *auth.Principal) (*view, error) {
	id, err := auth.ParseID(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	g, ids, err := p.access.Group(r.Context(), actorOf(pr, p.kit.Meta(r)), id)
	if err != nil {
		return nil, err
	}
	d := &groupData{Group: g}
	for _, uid := range ids {
		u, err := p.auth.Admin.UserByID(r.Context(), pr, uid)
		if err != nil {
			return nil, err
		}
		d.Members = append(d.Members, u)
	}
	return &view{Title: "Group " + g.Name, User: pr.User, Admin: true, Nav: "groups", Data: d,
		form: form{Form: map[string]string{"name": g.Name, "description": g.Description}}}, nil
}

var groupNotices = map[string]string{"created": "The group is created.", "saved": "Saved.", "added": "The member is added.", "removed": "The member is removed."}

func (p *pages) adminGroup(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.groupView(r, pr)
	if err != nil {
		return err
	}
	v.Notice = groupNotices[r.URL.Query().Get("done")]
	p.render(w, http.StatusOK, "admin_group", v)
	return nil
}

// adminGroupAction handles the group page's forms; `action` says which.
func (p *pages) adminGroupAction(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id, err := auth.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	a := actorOf(pr, p.kit.Meta(r))
	var done string
	switch r.PostForm.Get("action") {
	case "save":
		name, desc := r.PostForm.Get("name"), r.PostForm.Get("description")
		done = "saved"
		_, err = p.access.UpdateGroup(r.Context(), a, id, &name, &desc)
	case "add":
		done = "added"
		_, err = p.access.AddMemberByLogin(r.Context(), a, id, r.PostForm.Get("user"))
	case "remove":
		done = "removed"
		var uid int64
		if uid, err = auth.ParseID(r.PostForm.Get("user_id")); err == nil {
			_, err = p.access.RemoveMember(r.Context(), a, id, uid)
		}
	default:
		err = gatehouse.FieldError("action", "unknown action")
	}
	if err == nil {
		p.redirect(w, r, "/admin/groups/"+strconv.FormatInt(id, 10)+"?done="+done)
		return nil
	}
	v, verr := p.groupView(r, pr)
	if verr != nil {
		return verr
	}
	if r.PostForm.Get("action") == "save" {
		v.keep(r, "name", "description")
	}
	if r.PostForm.Get("action") == "add" {
		v.set("user", r.PostForm.Get("user"))
	}
	v.refuse(err)
	p.render(w, ghttpStatus(err), "admin_group", v)
	return nil
}

func (p *pages) adminGroupDeletePage(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.groupView(r, pr)
	if err != nil {
		return err
	}
	p.render(w, http.StatusOK, "admin_group_delete", v)
	return nil
}

func (p *pages) adminGroupDelete(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id, err := auth.ParseID(r.PathValue("id"))
	if err == nil && r.PostForm.Get("confirm") != "yes" {
		err = gatehouse.FieldError("confirm", "confirm the deletion")
	}
	if err == nil {
		err = p.access.DeleteGroup(r.Context(), actorOf(pr, p.kit.Meta(r)), id)
	}
	if err != nil {
		v, verr := p.groupView(r, pr)
		if verr != nil {
			return err
		}
		v.refuse(err)
		p.render(w, ghttpStatus(err), "admin_group_delete", v)
		return nil
	}
	p.redirect(w, r, "/admin/groups?done=deleted")
	return nil
}

// accessData is the rules page: the list, the rule being edited (Edit, -1 for a new one) and
// the test box's question and answer.
type accessData struct {
	Rules   []gatehouse.AccessRule
	Default string
	Edit    int
	Test    *accessTest
}

type accessTest struct {
	Rule   string
	Policy string
}

func (p *pages) adminAccess(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	rules, err := p.access.Rules(r.Context(), actorOf(pr, p.kit.Meta(r)))
	if err != nil {
		return err
	}
	v := p.accessView(pr, rules)
	if e, err := strconv.Atoi(r.URL.Query().Get("edit")); err == nil && e >= 0 && e < len(rules) {
		v.Data.(*accessData).Edit = e
		v.Form = ruleForm(rules[e])
	}
	v.Notice = map[string]string{"saved": "The rules are saved and in force."}[r.URL.Query().Get("done")]
	p.render(w, http.StatusOK, "admin_access", v)
	return nil
}

func (p *pages) accessView(pr *auth.Principal, rules []gatehouse.AccessRule) *view {
	return &view{Title: "Access rules", User: pr.User, Admin: true, Nav: "access", form: form{Form: map[string]string{"policy": "one_factor"}},
		Data: &accessData{Rules: rules, Default: p.access.DefaultPolicy().String(), Edit: -1}}
}

func ruleForm(r gatehouse.AccessRule) map[string]string {
	j := func(l []string) string { return strings.Join(l, "\n") }
	return map[string]string{"domains": j(r.Domains), "paths": j(r.Paths), "methods": j(r.Methods), "networks": j(r.Networks), "subjects": j(r.Subjects), "policy": r.Policy,
		"name": r.Name, "url": r.URL}
}

// ruleLines splits a textarea into entries, one a line (commas also separate, except in paths).
func ruleLines(s string, commas bool) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || commas && r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// adminAccessAction handles the rules page: save (a new or edited rule), up, down, delete, test.
func (p *pages) adminAccessAction(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	a := actorOf(pr, p.kit.Meta(r))
	rules, err := p.access.Rules(r.Context(), a)
	if err != nil {
		return err
	}
	f := r.PostForm
	i, _ := strconv.Atoi(f.Get("index"))
	if f.Get("action") == "test" {
		p.accessTestBox(w, r, pr, rules)
		return nil
	}
	next, edit, err := editRules(rules, f.Get("action"), i, gatehouse.AccessRule{
		Domains: ruleLines(f.Get("domains"), true), Paths: ruleLines(f.Get("paths"), false), Methods: ruleLines(f.Get("methods"), true),
		Networks: ruleLines(f.Get("networks"), true), Subjects: ruleLines(f.Get("subjects"), true), Policy: f.Get("policy"),
		Name: f.Get("name"), URL: f.Get("url"),
	})
	if err == nil {
		_, err = p.access.ReplaceRules(r.Context(), a, next)
	}
	if err == nil {
		p.redirect(w, r, "/admin/access?done=saved")
		return nil
	}
	v := p.accessView(pr, rules)
	v.Data.(*accessData).Edit = edit
	v.keep(r, "domains", "paths", "methods", "networks", "subjects", "policy", "name", "url")
	// A field error names rules[i].paths[j]: show it next to the form's field.
	var e *gatehouse.Error
	if asError(err, &e) && strings.HasPrefix(e.Field, "rules[") {
		field := e.Field[strings.IndexByte(e.Field, '.')+1:]
		if k := strings.IndexByte(field, '['); k >= 0 {
			field = field[:k]
		}
		v.fieldError(field, e.Message)
	} else {
		v.refuse(err)
	}
	p.render(w, ghttpStatus(err), "admin_access", v)
	return nil
}

// editRules applies one page action to a copy of rules; edit is the rule the form was about
// (-1: a new one) so a refused change shows the form again.
func editRules(rules []gatehouse.AccessRule, action string, i int, form gatehouse.AccessRule) ([]gatehouse.AccessRule, int, error) {
	next := slices.Clone(rules)
	inRange := i >= 0 && i < len(next)
	switch {
	case action == "add":
		return append(next, form), -1, nil
	case action == "save" && inRange:
		next[i] = form
		return next, i, nil
	case action == "up" && inRange && i > 0:
		next[i-1], next[i] = next[i], next[i-1]
		return next, -1, nil
	case action == "down" && inRange && i < len(next)-1:
		next[i+1], next[i] = next[i], next[i+1]
		return next, -1, nil
	case action == "delete" && inRange:
		return slices.Delete(next, i, i+1), -1, nil
	}
	return nil, -1, gatehouse.FieldError("action", "that rule is not there any more: reload the page")
}

func (p *pages) accessTestBox(w http.ResponseWriter, r *http.Request, pr *auth.Principal, rules []gatehouse.AccessRule) {
	f := r.PostForm
	v := p.accessView(pr, rules)
	v.keep(r, "test_url", "test_method", "test_user", "test_ip")
	d, u, err := p.access.Explain(r.Context(), actorOf(pr, p.kit.Meta(r)), f.Get("test_url"), f.Get("test_method"), f.Get("test_user"), f.Get("test_ip"))
	if err != nil {
		v.refuseAs("test_", err)
		p.render(w, ghttpStatus(err), "admin_access", v)
		return
	}
	rule := "no rule matches: the default policy"
	if d.Rule >= 0 {
		rule = "rule " + strconv.Itoa(d.Rule+1)
	}
	answer := d.Policy.String()
	switch {
	case d.Policy == access.OneFactor && u == nil, d.NeedUser:
		answer += ": not signed in, so 401 (a browser goes to the login page)"
	case d.Policy == access.TwoFactor && u != nil && !u.MFAEnabled:
		answer += ": this user has no second factor set up, so 401 until they do"
	}
	v.Data.(*accessData).Test = &accessTest{Rule: rule, Policy: answer}
	p.render(w, http.StatusOK, "admin_access", v)
}

// ruleField is one textarea of the rule form.
type ruleField struct{ Name, Label, Value, Err string }

// accessFuncs are the rules page's template helpers.
func accessFuncs() map[string]any {
	return map[string]any{
		"add": func(a, b int) int { return a + b },
		// initial is an app's first letter, drawn as its tile's icon.
		"initial": func(name string) string {
			for _, r := range name {
				return strings.ToUpper(string(r))
			}
			return "?"
		},
		"policies": func() []string { return []string{"one_factor", "two_factor", "deny", "bypass"} },
		"rf": func(v *view, name, label string) ruleField {
			return ruleField{Name: name, Label: label, Value: v.Form[name], Err: v.Errors[name]}
		},
	}
}
