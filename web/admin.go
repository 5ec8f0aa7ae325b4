package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

const perPage = 25

func adminView(title, nav string, pr *auth.Principal) *view {
	return &view{Title: title, Nav: nav, User: pr.User, Admin: true}
}

// pageNum reads ?page=, defaulting to 1; nonsense counts as 1 rather than an error page.
func pageNum(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 || n > 1_000_000 {
		return 1
	}
	return n
}

// pager links to the previous and next pages, keeping the other query parameters.
type pager struct {
	Prev, Next string
	Page       int
}

func newPager(r *http.Request, base string, page int, more bool) pager {
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return base + r.URL.Path + "?" + q.Encode()
	}
	pg := pager{Page: page}
	if page > 1 {
		pg.Prev = link(page - 1)
	}
	if more {
		pg.Next = link(page + 1)
	}
	return pg
}

type usersData struct {
	Query string
	Users []*gatehouse.User
	Pager pager
	// Group filters by group name; Groups are the names to choose from.
	Group  string
	Groups []string
}

var userNotices = map[string]string{
	"created":  "The user is created.",
	"deleted":  "The user is deleted.",
	"role":     "The role is changed.",
	"disabled": "The user is disabled and their sessions have ended.",
	"enabled":  "The user is enabled.",
	"password": "The password is reset and the user's sessions have ended.",
	"revoked":  "The session has ended.",
	"mfa":      "Multi-factor authentication is reset and the user's sessions have ended.",
}

func (p *pages) usersView(r *http.Request, pr *auth.Principal) (*view, error) {
	q := strings.TrimSpace(r.URL.Query().Get("query"))
	if len(q) > 254 {
		q = q[:254]
	}
	page := pageNum(r)
	group := strings.TrimSpace(r.URL.Query().Get("group"))
	v := adminView("Users", "users", pr)
	d := &usersData{Query: q, Group: group}
	if p.access != nil {
		gs, err := p.access.ListGroups(r.Context(), actorOf(pr, p.kit.Meta(r)))
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			d.Groups = append(d.Groups, g.Name)
		}
	}
	if group != "" && p.access != nil {
		// A group's members: one page, narrowed by the search text.
		members, err := p.access.MembersByName(r.Context(), actorOf(pr, p.kit.Meta(r)), group)
		if err != nil {
			return nil, err
		}
		for _, u := range members {
			if q == "" || strings.Contains(u.Username, strings.ToLower(q)) || strings.Contains(u.Email, strings.ToLower(q)) {
				d.Users = append(d.Users, u)
			}
		}
		d.Pager = newPager(r, p.base, 1, false)
		v.Data = d
		return v, nil
	}
	users, more, err := p.auth.Admin.ListUsers(r.Context(), pr, q, page, perPage)
	if err != nil {
		return nil, err
	}
	d.Users, d.Pager = users, newPager(r, p.base, page, more)
	v.Data = d
	return v, nil
}

func (p *pages) adminUsers(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.usersView(r, pr)
	if err != nil {
		return err
	}
	v.Notice = userNotices[r.URL.Query().Get("done")]
	p.render(w, http.StatusOK, "admin_users", v)
	return nil
}

func (p *pages) adminCreateUser(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	f := r.PostForm
	req := auth.CreateUserRequest{Username: f.Get("username"), Email: f.Get("email"), Password: f.Get("password"), Role: gatehouse.Role(f.Get("role"))}
	u, err := p.auth.Admin.CreateUser(r.Context(), pr, req, p.kit.Meta(r))
	if err == nil {
		p.redirect(w, r, fmt.Sprintf("/admin/users/%d?done=created", u.ID))
		return nil
	}
	if gatehouse.ErrorCode(err) == gatehouse.EInternal {
		return err
	}
	v, verr := p.usersView(r, pr)
	if verr != nil {
		return verr
	}
	v.Form = map[string]string{"username": req.Username, "email": req.Email, "role": string(req.Role)}
	v.refuse(err)
	p.render(w, ghttpStatus(err), "admin_users", v)
	return nil
}

type userData struct {
	Target   *gatehouse.User
	Self     bool
	Sessions []auth.SessionView
	// Groups are the user's group names, when GroupsOn.
	Groups   []string
	GroupsOn bool
}

func (p *pages) userView(r *http.Request, pr *auth.Principal) (*view, error) {
	id, err := auth.ParseID(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	u, err := p.auth.Admin.UserByID(r.Context(), pr, id)
	if err != nil {
		return nil, err
	}
	ss, err := p.auth.Admin.UserSessions(r.Context(), pr, u.ID)
	if err != nil {
		return nil, err
	}
	v := adminView(u.Username, "users", pr)
	d := &userData{Target: u, Self: u.ID == pr.User.ID, Sessions: ss}
	if p.access != nil {
		d.GroupsOn = true
		if d.Groups, err = p.access.UserGroups(r.Context(), u.ID); err != nil {
			return nil, err
		}
	}
	v.Data = d
	return v, nil
}

func (p *pages) adminUser(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.userView(r, pr)
	if err != nil {
		return err
	}
	v.Notice = userNotices[r.URL.Query().Get("done")]
	if n := passkeyNotices[r.URL.Query().Get("done")]; n != "" {
		v.Notice = n
	}
	p.render(w, http.StatusOK, "admin_user", v)
	return nil
}

// adminUserAction handles the forms of a user's page; `action` says which one was sent.
func (p *pages) adminUserAction(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id, err := auth.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	meta := p.kit.Meta(r)
	var done string
	switch a := r.PostForm.Get("action"); a {
	case "role":
		role := gatehouse.Role(r.PostForm.Get("role"))
		_, err = p.auth.Admin.UpdateUser(r.Context(), pr, id, auth.UserPatch{Role: &role}, meta)
		done = "role"
	case "disable", "enable":
		dis := a == "disable"
		_, err = p.auth.Admin.UpdateUser(r.Context(), pr, id, auth.UserPatch{Disabled: &dis}, meta)
		done = a + "d"
	case "password":
		if r.PostForm.Get("password") != r.PostForm.Get("password_confirm") {
			err = gatehouse.FieldError("password_confirm", "the two passwords differ")
		} else {
			err = p.auth.Admin.ResetPassword(r.Context(), pr, id, r.PostForm.Get("password"), meta)
		}
		done = "password"
	default:
		err = gatehouse.FieldError("action", "unknown action %q", a)
	}
	if err == nil {
		p.redirect(w, r, fmt.Sprintf("/admin/users/%d?done=%s", id, done))
		return nil
	}
	if c := gatehouse.ErrorCode(err); c == gatehouse.EInternal || c == gatehouse.ENotFound {
		return err
	}
	v, verr := p.userView(r, pr)
	if verr != nil {
		return verr
	}
	v.refuse(err)
	if v.Error == "" && len(v.Errors) == 0 {
		v.Error = "The change was refused."
	}
	p.render(w, ghttpStatus(err), "admin_user", v)
	return nil
}

func (p *pages) adminDeletePage(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.userView(r, pr)
	if err != nil {
		return err
	}
	v.Title = "Delete " + v.Data.(*userData).Target.Username
	p.render(w, http.StatusOK, "admin_delete", v)
	return nil
}

func (p *pages) adminDeleteSubmit(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id, err := auth.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if r.PostForm.Get("confirm") != "yes" {
		p.redirect(w, r, fmt.Sprintf("/admin/users/%d/delete", id))
		return nil
	}
	if err := p.auth.Admin.DeleteUser(r.Context(), pr, id, p.kit.Meta(r)); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ELastAdmin {
			v, verr := p.userView(r, pr)
			if verr != nil {
				return verr
			}
			v.Error = err.(*gatehouse.Error).Message
			p.render(w, http.StatusConflict, "admin_delete", v)
			return nil
		}
		return err
	}
	if id == pr.User.ID {
		p.kit.Cookies.ClearSession(w)
		p.redirect(w, r, "/login")
		return nil
	}
	p.redirect(w, r, "/admin/users?done=deleted")
	return nil
}

func (p *pages) adminRevokeSession(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id, err := auth.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := p.auth.Admin.AdminRevokeSession(r.Context(), pr, r.PathValue("sid"), p.kit.Meta(r)); err != nil {
		return err
	}
	p.redirect(w, r, fmt.Sprintf("/admin/users/%d?done=revoked", id))
	return nil
}

// settingsGroup is one card of the settings page, in seed 000's order.
type settingsGroup struct {
	Key, Title, Help string
	Fields           []settingField
}

type settingField struct {
	gatehouse.SettingDef
	Value   string
	Checked bool
	IsSet   bool // for write-only secrets
	// Duration fields are stored in seconds but shown and entered in the hours=12 syntax.
	Duration bool
	Bounds   string // "(8–128)", "(minutes=1 – days=30)"; "" when unbounded
}

// isDurationSetting reports a setting kept in seconds (the API's *_secs keys), which the page
// shows in the same key=value syntax as the session duration.
func isDurationSetting(d gatehouse.SettingDef) bool {
	return d.Type == gatehouse.TypeInt && strings.HasSuffix(d.Key, "_secs")
}

// errText is an error's message without its code.
func errText(err error) string {
	var e *gatehouse.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

func secs(n int64) string { return gatehouse.FormatDuration(time.Duration(n) * time.Second) }

// pageLabel is the label the page shows: a duration's unit is in its syntax, not its name.
func pageLabel(d gatehouse.SettingDef) string {
	if isDurationSetting(d) {
		l := strings.TrimSuffix(strings.TrimSuffix(d.Label, " (seconds)"), " in seconds")
		if rest, ok := strings.CutPrefix(l, "Seconds per "); ok {
			l = "Time per " + rest
		}
		return l
	}
	return d.Label
}

// parseSettingSeconds reads a duration field: the key=value syntax, or a whole number of seconds.
func parseSettingSeconds(val string) (int64, error) {
	val = strings.TrimSpace(val)
	if n, err := strconv.ParseInt(val, 10, 64); err == nil {
		return n, nil
	}
	d, err := gatehouse.ParseDuration(val)
	if err != nil {
		return 0, err
	}
	if d%time.Second != 0 {
		return 0, gatehouse.Errorf(gatehouse.EInvalid, "use whole seconds")
	}
	return int64(d / time.Second), nil
}

var groupTitles = []struct{ key, title, help string }{
	{gatehouse.GroupUsers, "User management", "Registration, password rules, sign-in limits and the MFA challenge."},
	{gatehouse.GroupSessions, "Sessions", "How long a sign-in lasts and what ends it."},
	{gatehouse.GroupTokens, "Tokens", "Lifetimes of access tokens, refresh tokens and one-time links."},
	{gatehouse.GroupMail, "Mail delivery", "The SMTP server gatehouse sends activation and recovery mail through."},
	{gatehouse.GroupAccess, "Access", "What forward auth answers when no access rule matches."},
	{gatehouse.GroupSite, "Site", "How gatehouse names itself on pages and in mail."},
}

func (p *pages) settingsGroups(form url.Values, group string) []settingsGroup {
	st := p.auth.Core.Settings()
	defs := gatehouse.SettingDefs(p.auth.Core.CookieSecureDefault())
	vals := st.Public(p.auth.Core.CookieSecureDefault())
	var out []settingsGroup
	for _, g := range groupTitles {
		sg := settingsGroup{Key: g.key, Title: g.title, Help: g.help}
		for _, d := range defs {
			if d.Group != g.key {
				continue
			}
			f := settingField{SettingDef: d, Duration: isDurationSetting(d)}
			f.Label = pageLabel(d)
			f.Help += p.auth.Core.SettingNote(d.Key)
			switch {
			case f.Duration:
				f.Bounds = "(" + secs(d.Min) + " – " + secs(d.Max) + ")"
			case d.Max != 0:
				f.Bounds = fmt.Sprintf("(%d–%d)", d.Min, d.Max)
			}
			if d.Type == gatehouse.TypeSecret {
				f.IsSet = st.Raw(d.Key) != ""
			} else {
				f.Value = fmt.Sprint(vals[d.Key])
				f.Checked = vals[d.Key] == true
			}
			if n, ok := vals[d.Key].(int64); ok && f.Duration { // Public types every int setting as int64
				f.Value = secs(n)
			}
			// After a refused save, show what was typed in the group that was sent.
			if group == g.key && d.Type != gatehouse.TypeSecret {
				f.Value = form.Get(d.Key)
				f.Checked = form.Get(d.Key) != ""
			}
			sg.Fields = append(sg.Fields, f)
		}
		out = append(out, sg)
	}
	return out
}

func (p *pages) adminSettings(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	st, err := p.auth.Admin.Settings(pr)
	if err != nil {
		return err
	}
	v := adminView("System settings", "settings", pr)
	v.Data = p.settingsGroups(nil, "")
	v.Error = strings.Join(st.Warnings(), " ")
	if g := r.URL.Query().Get("saved"); g != "" {
		v.Notice = "Settings saved."
	}
	p.render(w, http.StatusOK, "admin_settings", v)
	return nil
}

// adminSettingsSubmit saves one group. Values are typed from the form (a checkbox is a bool, a
// number field an int64); a value that is not a number is passed on as text so the validation
// names the setting that is wrong. Nothing is saved unless every value is valid.
func (p *pages) adminSettingsSubmit(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	group := r.PostForm.Get("group")
	patch := gatehouse.SettingsPatch{}
	fieldErr := map[string]string{} // durations the page reads itself, refused before saving
	for _, d := range gatehouse.SettingDefs(p.auth.Core.CookieSecureDefault()) {
		if d.Group != group {
			continue
		}
		val := r.PostForm.Get(d.Key)
		switch d.Type {
		case gatehouse.TypeBool:
			patch[d.Key] = val != ""
		case gatehouse.TypeInt:
			if isDurationSetting(d) {
				n, err := parseSettingSeconds(val)
				if err != nil {
					fieldErr[d.Key] = pageLabel(d) + ": " + errText(err)
				} else if n < d.Min || n > d.Max {
					fieldErr[d.Key] = fmt.Sprintf("%s must be between %s and %s.", pageLabel(d), secs(d.Min), secs(d.Max))
				}
				patch[d.Key] = n
			} else if n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64); err == nil {
				patch[d.Key] = n
			} else {
				patch[d.Key] = val // refused as "must be a whole number", naming the setting
			}
		case gatehouse.TypeSecret:
			if val != "" { // empty keeps the stored secret
				patch[d.Key] = val
			}
		default:
			patch[d.Key] = val
		}
	}
	if len(patch) == 0 {
		p.errorPage(w, r, http.StatusBadRequest, "No settings were sent.")
		return nil
	}
	if len(fieldErr) > 0 {
		v := adminView("System settings", "settings", pr)
		v.Data = p.settingsGroups(r.PostForm, group)
		v.Errors = fieldErr
		p.render(w, http.StatusBadRequest, "admin_settings", v)
		return nil
	}
	if group == gatehouse.GroupUsers && r.PostForm.Get("auth_allow_user_registration") != "" && !p.auth.Core.Settings().AllowRegistration &&
		!p.auth.Core.MailConfigured() && r.PostForm.Get("confirm_no_mail") == "" {
		v := adminView("System settings", "settings", pr)
		v.Data = p.settingsGroups(r.PostForm, group)
		v.fieldError("auth_allow_user_registration", registrationNeedsMail)
		p.render(w, http.StatusConflict, "admin_settings", v)
		return nil
	}
	err := p.auth.Admin.PatchSettings(r.Context(), pr, patch, p.kit.Meta(r))
	if err == nil {
		p.redirect(w, r, "/admin/settings?saved="+url.QueryEscape(group)+"#"+group)
		return nil
	}
	if gatehouse.ErrorCode(err) == gatehouse.EInternal {
		return err
	}
	v := adminView("System settings", "settings", pr)
	v.Data = p.settingsGroups(r.PostForm, group)
	v.refuse(err)
	// The core names the setting by its key ("auth_password_min_length: must be ..."); the page
	// names it by its label, beside the field.
	for k, msg := range v.Errors {
		for _, d := range gatehouse.SettingDefs(p.auth.Core.CookieSecureDefault()) {
			if d.Key == k {
				v.fieldError(k, pageLabel(d)+": "+strings.TrimPrefix(msg, k+": "))
			}
		}
	}
	p.render(w, ghttpStatus(err), "admin_settings", v)
	return nil
}

type eventsData struct {
	User   string
	Kind   string
	Kinds  []string
	Events []*gatehouse.Event
	// Names are the usernames of the users on this page who still exist, by id; deleted users
	// show their number.
	Names map[int64]string
	Pager pager
}

// eventKinds are offered in the filter.
var eventKinds = []string{
	gatehouse.EventSetupAdminCreated, gatehouse.EventLoginSucceeded, gatehouse.EventLoginFailed,
	gatehouse.EventLoginMFARequired, gatehouse.EventLoginRateLimited, gatehouse.EventMFASucceeded,
	gatehouse.EventMFAFailed, gatehouse.EventLogout, gatehouse.EventSessionRevoked, gatehouse.EventTokenRefreshed,
	gatehouse.EventTokenReuseDetected, gatehouse.EventPasswordChanged, gatehouse.EventPasswordReset,
	gatehouse.EventAdminUserCreated, gatehouse.EventAdminUserUpdated, gatehouse.EventAdminUserDeleted,
	gatehouse.EventSettingsChanged,
	gatehouse.EventUserRegistered, gatehouse.EventUserActivated, gatehouse.EventPasswordResetAsked,
	gatehouse.EventEmailChangeRequest, gatehouse.EventEmailChanged,
}

func (p *pages) adminEvents(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	q := r.URL.Query()
	page := pageNum(r)
	f := gatehouse.EventFilter{Kind: q.Get("kind"), Offset: (page - 1) * perPage, Limit: perPage}
	v := adminView("Events", "events", pr)
	d := &eventsData{User: q.Get("user"), Kind: f.Kind, Kinds: append(eventKinds[:len(eventKinds):len(eventKinds)], passkeyEventKinds...)}
	v.Data = d
	if d.User = strings.TrimSpace(d.User); d.User != "" {
		id, err := p.eventUser(r, pr, d.User)
		if err != nil {
			return err
		}
		if id < 1 {
			v.fieldError("user", "No user has this username or number. A deleted user's events are found by their number.")
			p.render(w, http.StatusBadRequest, "admin_events", v)
			return nil
		}
		f.UserID = &id
	}
	events, more, err := p.auth.Admin.Events(r.Context(), pr, f)
	if err != nil {
		return err
	}
	d.Events, d.Pager = events, newPager(r, p.base, page, more)
	if d.Names, err = p.eventUserNames(r.Context(), pr, events); err != nil {
		return err
	}
	p.render(w, http.StatusOK, "admin_events", v)
	return nil
}

// eventUser reads the events filter's user: a number (which also finds a deleted user's events)
// or an exact username. It returns 0 when nobody matches.
func (p *pages) eventUser(r *http.Request, pr *auth.Principal, in string) (int64, error) {
	if id, err := strconv.ParseInt(in, 10, 64); err == nil {
		if id < 1 {
			return 0, nil
		}
		return id, nil
	}
	if len(in) > 254 {
		return 0, nil
	}
	users, _, err := p.auth.Admin.ListUsers(r.Context(), pr, in, 1, perPage)
	if err != nil {
		return 0, err
	}
	for _, u := range users {
		if strings.EqualFold(u.Username, in) {
			return u.ID, nil
		}
	}
	return 0, nil
}

// eventUserNames reads the usernames of the users events name, each once ("" for a deleted
// user): at most one page of distinct users.
func (p *pages) eventUserNames(ctx context.Context, pr *auth.Principal, events []*gatehouse.Event) (map[int64]string, error) {
	names := map[int64]string{}
	for _, e := range events {
		if e.UserID == nil {
			continue
		}
		if _, seen := names[*e.UserID]; seen {
			continue
		}
		u, err := p.auth.Admin.UserByID(ctx, pr, *e.UserID)
		switch {
		case err == nil:
			names[*e.UserID] = u.Username
		case gatehouse.IsCode(err, gatehouse.ENotFound):
			names[*e.UserID] = ""
		default:
			return nil, err
		}
	}
	return names, nil
}

// Name is the username of the user with id, or "" for a deleted user.
func (d *eventsData) Name(id *int64) string {
	if id == nil {
		return ""
	}
	return d.Names[*id]
}
