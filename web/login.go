package web

import (
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	ghttp "github.com/gatehouse/gatehouse/http"
)

// loginData is what the login page shows, chosen from state (seed 000): first-admin setup when
// there is no user, otherwise sign-in, with the optional entries the settings enable.
type loginData struct {
	State *auth.State
	RD    string
	// MFA is set for the second step, after a correct password (web/mfa.go).
	MFA *mfaStep
}

func (p *pages) loginView(r *http.Request, rd string) (*view, error) {
	st, err := p.auth.SignIn.State(r.Context())
	if err != nil {
		return nil, err
	}
	title := "Sign in"
	if st.SetupRequired {
		title = "Create the first administrator"
	}
	return &view{Title: title, Data: &loginData{State: st, RD: rd}}, nil
}

// afterSignIn is where a browser goes once signed in: rd when it is on the public URL's site,
// else the account's security page.
func (p *pages) afterSignIn(rd string) string {
	if s := p.safeRD(rd); s != "" {
		return s
	}
	return p.base + "/settings/security"
}

func (p *pages) loginPage(w http.ResponseWriter, r *http.Request) error {
	rd := r.URL.Query().Get("rd")
	// Already signed in: go on at once, unless forward auth asked for a second factor.
	if pr, err := p.kit.Principal(r); err == nil {
		if r.URL.Query().Get("step_up") == "1" {
			return p.stepUpPage(w, r, pr, rd)
		}
		http.Redirect(w, r, p.afterSignIn(rd), http.StatusSeeOther)
		return nil
	}
	// An external sign-in of an account with MFA lands here with its challenge in a cookie.
	if r.URL.Query().Get("step") == "mfa" {
		if c, err := r.Cookie(ghttp.MFACookie); err == nil && c.Value != "" {
			return p.showMFAStep(w, r, rd, &auth.MFAPending{Token: c.Value})
		}
	}
	v, err := p.loginView(r, rd)
	if err != nil {
		return err
	}
	// A password is likely to come: the hashing worker starts while it is typed, not after.
	p.auth.SignIn.Prepare()
	if r.URL.Query().Get("signed_out") == "1" {
		v.Notice = "You are signed out."
	}
	p.render(w, http.StatusOK, "login", v)
	return nil
}

func (p *pages) loginSubmit(w http.ResponseWriter, r *http.Request) error {
	rd := r.PostForm.Get("rd")
	req := auth.LoginRequest{Login: r.PostForm.Get("login"), Password: r.PostForm.Get("password"), StaySignedIn: r.PostForm.Get("stay_signed_in") != "", Device: ghttp.DeviceToken(r)}
	t, err := p.auth.SignIn.Login(r.Context(), req, p.kit.Meta(r))
	if err == nil && t.MFA != nil {
		return p.showMFAStep(w, r, rd, t.MFA)
	}
	if err == nil {
		p.kit.Cookies.SetSession(w, t)
		http.Redirect(w, r, p.afterSignIn(rd), http.StatusSeeOther)
		return nil
	}
	v, verr := p.loginView(r, rd)
	if verr != nil {
		return verr
	}
	v.set("login", req.Login)
	status := ghttpStatus(err)
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EInvalidCredentials:
		// The same words whether or not the account exists.
		v.fieldError("password", "Wrong username, email or password.")
	case gatehouse.ERateLimited, gatehouse.EBusy:
		var e *gatehouse.Error
		msg := "Too many sign-in attempts. Wait a moment and try again."
		if asError(err, &e) && e.RetryAfter > 0 {
			msg = p.tr(w, "Too many sign-in attempts. Try again in %d seconds.", ghttp.RetryAfterSeconds(e.RetryAfter))
		}
		ghttp.SetRetryAfter(w, err)
		v.Error = msg
	case gatehouse.EInternal:
		return err
	case gatehouse.EAccountPending:
		// Said only after a correct password (auth.Login); the page offers a new link.
		v.Error = "This account is not activated yet. Open the link in the activation mail, or ask for a new one."
		v.set("pending", "1")
	default:
		v.refuse(err)
		if m, ok := v.Errors["login"]; ok && m == "" {
			v.fieldError("login", "Enter your username or email.")
		}
	}
	p.render(w, status, "login", v)
	return nil
}

func (p *pages) setupSubmit(w http.ResponseWriter, r *http.Request) error {
	rd := r.PostForm.Get("rd")
	req := auth.SetupRequest{Username: r.PostForm.Get("username"), Email: r.PostForm.Get("email"), Password: r.PostForm.Get("password"), Language: p.lang(w)}
	if r.PostForm.Get("password") != r.PostForm.Get("password_confirm") {
		v, err := p.loginView(r, rd)
		if err != nil {
			return err
		}
		v.keep(r, "username", "email")
		v.fieldError("password_confirm", "The two passwords differ.")
		p.render(w, http.StatusBadRequest, "login", v)
		return nil
	}
	t, err := p.auth.SignIn.SetupAdmin(r.Context(), req, p.kit.Meta(r))
	if err == nil {
		p.kit.Cookies.SetSession(w, t)
		http.Redirect(w, r, p.afterSignIn(rd), http.StatusSeeOther)
		return nil
	}
	if gatehouse.ErrorCode(err) == gatehouse.EInternal {
		return err
	}
	v, verr := p.loginView(r, rd)
	if verr != nil {
		return verr
	}
	v.keep(r, "username", "email")
	if gatehouse.ErrorCode(err) == gatehouse.ESetupDone {
		v.Error = "An administrator already exists. Sign in instead."
	} else {
		v.refuse(err)
	}
	p.render(w, ghttpStatus(err), "login", v)
	return nil
}

// logoutPage asks before signing out. With rd (the access-denied page's "sign in as someone
// else"), the login page that follows returns there.
func (p *pages) logoutPage(w http.ResponseWriter, r *http.Request) error {
	rd := p.safeRD(r.URL.Query().Get("rd"))
	pr, err := p.kit.Principal(r)
	if err != nil {
		p.redirect(w, r, loginWithRD(rd))
		return nil
	}
	p.render(w, http.StatusOK, "logout", &view{Title: "Sign out", User: pr.User, Admin: pr.User.Role == gatehouse.RoleAdmin, form: form{Form: map[string]string{"rd": rd}}})
	return nil
}

func loginWithRD(rd string) string {
	if rd == "" {
		return "/login?signed_out=1"
	}
	return "/login?" + url.Values{"signed_out": {"1"}, "rd": {rd}}.Encode()
}

func (p *pages) logoutSubmit(w http.ResponseWriter, r *http.Request) error {
	if pr, err := p.kit.Principal(r); err == nil {
		if err := p.auth.Core.Logout(r.Context(), pr, p.kit.Meta(r)); err != nil {
			if gatehouse.IsCode(err, gatehouse.EStoreUnavailable) {
				p.kit.Cookies.ClearSession(w)
			}
			return err
		}
	}
	p.kit.Cookies.ClearSession(w)
	p.redirect(w, r, loginWithRD(p.safeRD(r.PostFormValue("rd"))))
	return nil
}
