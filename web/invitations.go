package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Invitations (docs/access-control.md, Invitations): the administrators' page that makes, lists
// and revokes them, and the page where an invitee makes an account.

var invitationPages = []string{"admin_invitations", "invite"}

func (p *pages) invitationRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/invitations", p.page(p.admin(p.adminInvitations)))
	mux.Handle("POST /admin/invitations", p.page(p.admin(p.adminCreateInvitation)))
	mux.Handle("POST /admin/invitations/{id}/revoke", p.page(p.admin(p.adminRevokeInvitation)))
	mux.Handle("GET /invite", p.page(p.invitePage))
	mux.Handle("POST /invite", p.page(p.inviteSubmit))
}

// invitationsData is the admin page: the list, the groups to choose from, and the link of the
// invitation just made (shown this once).
type invitationsData struct {
	Items  []auth.InvitationView
	Groups []*gatehouse.Group
	Chosen map[string]bool
	URL    string
}

func (p *pages) renderInvitations(w http.ResponseWriter, r *http.Request, pr *auth.Principal, status int, v *view, d *invitationsData) error {
	items, err := p.auth.Admin.ListInvitations(r.Context(), pr)
	if err != nil {
		return err
	}
	d.Items = items
	if p.access != nil {
		if d.Groups, err = p.access.ListGroups(r.Context(), actorOf(pr, p.kit.Meta(r))); err != nil {
			return err
		}
	}
	v.Title, v.User, v.Admin, v.Nav, v.Data = "Invitations", pr.User, true, "invitations", d
	v.Notice = map[string]string{"revoked": "The invitation is revoked: its link no longer works."}[r.URL.Query().Get("done")]
	p.render(w, status, "admin_invitations", v)
	return nil
}

func (p *pages) adminInvitations(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v := &view{form: form{Form: map[string]string{"expires_days": "7", "max_uses": "1"}}}
	return p.renderInvitations(w, r, pr, http.StatusOK, v, &invitationsData{Chosen: map[string]bool{}})
}

func (p *pages) adminCreateInvitation(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	f := r.PostForm
	v := &view{form: form{Form: map[string]string{"email": f.Get("email"), "expires_days": f.Get("expires_days"), "max_uses": f.Get("max_uses")}, Errors: map[string]string{}}}
	d := &invitationsData{Chosen: map[string]bool{}}
	for _, g := range f["group"] {
		d.Chosen[g] = true
	}
	req := auth.InvitationRequest{Email: f.Get("email"), Groups: f["group"]}
	days, err := strconv.Atoi(strings.TrimSpace(f.Get("expires_days")))
	if err != nil || days < 1 || days > 90 {
		err = gatehouse.FieldError("expires_days", "enter a number of days from 1 to 90")
	}
	req.ExpiresIn = time.Duration(days) * 24 * time.Hour
	if err == nil {
		if req.MaxUses, err = strconv.Atoi(strings.TrimSpace(f.Get("max_uses"))); err != nil || req.MaxUses < 1 {
			err = gatehouse.FieldError("max_uses", "enter a number of uses from 1 to 1000")
		}
	}
	var n *auth.NewInvitation
	if err == nil {
		n, err = p.auth.Admin.CreateInvitation(r.Context(), pr, req, p.kit.Meta(r))
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EInternal {
			return err
		}
		v.refuse(err)
		// The service names API fields; the form has its own.
		for k, e := range v.Errors {
			switch {
			case k == "expires_in":
				v.Errors["expires_days"] = e
			case strings.HasPrefix(k, "groups"):
				v.Errors["groups"] = e
			}
		}
		return p.renderInvitations(w, r, pr, ghttpStatus(err), v, d)
	}
	// The link is shown on this answer only: the server keeps its hash. No redirect, so a
	// reload asks the browser to send the form again rather than losing the link silently.
	v.Notice = "The invitation is made. Copy its link now: it is shown only once."
	v.Form = map[string]string{"expires_days": "7", "max_uses": "1"}
	d.Chosen, d.URL = map[string]bool{}, n.URL
	return p.renderInvitations(w, r, pr, http.StatusCreated, v, d)
}

func (p *pages) adminRevokeInvitation(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id, err := auth.ParseID(r.PathValue("id"))
	if err == nil {
		err = p.auth.Admin.RevokeInvitation(r.Context(), pr, id, p.kit.Meta(r))
	}
	if err != nil {
		return err
	}
	p.redirect(w, r, "/admin/invitations?done=revoked")
	return nil
}

// inviteData is the invitee's page.
type inviteData struct {
	Step  string // form, invalid, check_mail
	Token string
	Info  *auth.InvitationInfo
}

func inviteView(step, tok string, info *auth.InvitationInfo) *view {
	title := map[string]string{"form": "You are invited", "invalid": "Invitation not valid", "check_mail": "Check your mail"}[step]
	return &view{Title: title, Data: &inviteData{Step: step, Token: tok, Info: info}, form: form{Errors: map[string]string{}, Form: map[string]string{}}}
}

// inviteForm looks up the invitation of tok and returns the form's view; when it is unknown,
// used up, revoked or expired it shows the "not valid" page instead and returns nil.
func (p *pages) inviteForm(w http.ResponseWriter, r *http.Request, tok string) (*view, error) {
	info, err := p.auth.Mail.Invitation(r.Context(), tok)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EInternal {
			return nil, err
		}
		p.inviteInvalid(w)
		return nil, nil
	}
	v := inviteView("form", tok, info)
	v.Form["email"] = info.Email
	return v, nil
}

func (p *pages) inviteInvalid(w http.ResponseWriter) {
	p.render(w, http.StatusNotFound, "invite", inviteView("invalid", "", nil))
}

func (p *pages) invitePage(w http.ResponseWriter, r *http.Request) error {
	v, err := p.inviteForm(w, r, r.URL.Query().Get("token"))
	if v != nil {
		p.render(w, http.StatusOK, "invite", v)
	}
	return err
}

func (p *pages) inviteSubmit(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	tok := f.Get("token")
	v, err := p.inviteForm(w, r, tok)
	if v == nil {
		return err
	}
	// An invitation for a fixed address keeps it, whatever the form sent.
	v.Form["username"] = f.Get("username")
	if v.Form["email"] == "" {
		v.Form["email"] = f.Get("email")
	}
	var res *auth.RegisterResult
	if f.Get("password") != f.Get("password_confirm") {
		err = gatehouse.FieldError("password_confirm", "the two passwords differ")
	} else {
		res, err = p.auth.Mail.AcceptInvitation(r.Context(), tok, auth.RegisterRequest{Username: f.Get("username"), Email: f.Get("email"), Password: f.Get("password")}, p.kit.Meta(r))
	}
	switch {
	case err == nil && res.Tokens != nil:
		p.kit.Cookies.SetSession(w, res.Tokens)
		p.redirect(w, r, "/settings/security?done=registered")
	case err == nil:
		p.render(w, http.StatusOK, "invite", inviteView("check_mail", "", nil))
	case gatehouse.ErrorCode(err) == gatehouse.EInternal:
		return err
	default:
		var e *gatehouse.Error
		if errors.As(err, &e) && e.Field == "token" {
			// Used up or revoked between the page and the form.
			p.inviteInvalid(w)
			return nil
		}
		v.refuse(err)
		p.render(w, ghttpStatus(err), "invite", v)
	}
	return nil
}
