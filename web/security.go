package web

import (
	"net/http"
	"net/netip"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	ghttp "github.com/gatehouse/gatehouse/http"
)

type securityData struct {
	Sessions []auth.SessionView
	MFA      *mfaData // web/mfa.go
	External *externalData
	Reauth   *reauthData            // web/reauth.go
	Apps     []*gatehouse.OPConsent // web/apps.go
	// Groups are the user's groups, shown read-only when GroupsOn.
	Groups   []string
	GroupsOn bool
	// MyApps are the apps the user may open (access rules with a name and launch URL, and the
	// OpenID Provider's clients with a launch URL that admit the user); MyAppsOn shows the
	// section, empty or not.
	MyApps   []ghttp.MyApp
	MyAppsOn bool
}

var securityNotices = map[string]string{
	"registered":  "Welcome! Your account is created and you are signed in. Consider adding a passkey or an authenticator app below.",
	"password":    "Your password is changed. Your other sessions have ended.",
	"revoked":     "The session has ended.",
	"others":      "All your other sessions have ended.",
	"mfa_off":     "Multi-factor authentication is off.",
	"recovery":    "You signed in with a recovery code, which is now used up. Regenerate your codes or set up the authenticator again if it is lost.",
	"email":       "We sent a confirmation link to the new address. Your address changes when you open it.",
	"app_revoked": "The app is removed; it will ask before signing you in again.",
	"language":    "Your language is saved. Mail to you is written in it from now on.",
}

func (p *pages) securityView(r *http.Request, pr *auth.Principal) (*view, error) {
	ss, err := p.auth.Account.Sessions(r.Context(), pr)
	if err != nil {
		return nil, err
	}
	mfa, err := p.mfaData(r, pr)
	if err != nil {
		return nil, err
	}
	ra, err := p.reauthData(r, pr)
	if err != nil {
		return nil, err
	}
	ext, err := p.externalData(r, pr)
	if err != nil {
		return nil, err
	}
	// With no enabled provider and nothing linked there is nothing to see or do: the section
	// (which the template shows only when External is set) stays out of the way.
	if ext != nil && len(ext.Identities) == 0 && len(ext.Linkable) == 0 {
		ext = nil
	}
	apps, err := p.appsOfUser(r, pr)
	if err != nil {
		return nil, err
	}
	d := &securityData{Sessions: ss, MFA: mfa, External: ext, Reauth: ra, Apps: apps}
	if p.access != nil {
		d.GroupsOn = true
		if d.Groups, err = p.access.UserGroups(r.Context(), pr.User.ID); err != nil {
			return nil, err
		}
	}
	if d.MyAppsOn = p.access != nil || p.provider != nil; d.MyAppsOn {
		ip, _ := netip.ParseAddr(p.kit.Meta(r).IP)
		if d.MyApps, err = ghttp.MyApps(r.Context(), p.access, p.provider, pr, ip); err != nil {
			return nil, err
		}
	}
	return &view{Title: "Account security", Nav: "security", User: pr.User, Admin: pr.User.Role == gatehouse.RoleAdmin,
		Data: d}, nil
}

func (p *pages) securityPage(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.securityView(r, pr)
	if err != nil {
		return err
	}
	v.Notice = securityNotices[r.URL.Query().Get("done")]
	if n := passkeyNotices[r.URL.Query().Get("done")]; n != "" {
		v.Notice = n
	}
	if v.Notice == "" {
		v.Notice = externalNotices[r.URL.Query().Get("done")]
	}
	if r.URL.Query().Get("done") == "reauth" {
		v.Notice = reauthNotice()
	}
	p.render(w, http.StatusOK, "security", v)
	return nil
}

func (p *pages) securityPassword(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	next := r.PostForm.Get("new_password")
	var err error
	if next != r.PostForm.Get("new_password_confirm") {
		err = gatehouse.FieldError("new_password_confirm", "the two new passwords differ")
	} else {
		err = p.auth.Account.ChangePassword(r.Context(), pr, r.PostForm.Get("current_password"), next, p.kit.Meta(r))
	}
	if err == nil {
		p.redirect(w, r, "/settings/security?done=password")
		return nil
	}
	if gatehouse.ErrorCode(err) == gatehouse.EInternal {
		return err
	}
	v, verr := p.securityView(r, pr)
	if verr != nil {
		return verr
	}
	v.refuse(err)
	p.render(w, ghttpStatus(err), "security", v)
	return nil
}

func (p *pages) securityRevoke(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	if err := p.auth.Account.RevokeOwnSession(r.Context(), pr, r.PathValue("id"), p.kit.Meta(r)); err != nil {
		return err
	}
	if r.PathValue("id") == pr.SessionID {
		// Ending the current session signs this browser out.
		p.kit.Cookies.ClearSession(w)
		p.redirect(w, r, "/login?signed_out=1")
		return nil
	}
	p.redirect(w, r, "/settings/security?done=revoked")
	return nil
}

func (p *pages) securitySignOutOthers(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	if _, err := p.auth.Account.SignOutOthers(r.Context(), pr, p.kit.Meta(r)); err != nil {
		return err
	}
	p.redirect(w, r, "/settings/security?done=others")
	return nil
}
