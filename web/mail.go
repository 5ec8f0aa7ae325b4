package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Pages of the mail flows: registration, activation, password recovery, email confirmation and
// the admin's mail console.
//
// Pages that receive a one-time link never act on GET: a mail scanner that fetches every link
// would otherwise spend it. They show a form carrying the token in a hidden field, send
// Referrer-Policy: no-referrer, and token.js removes the token from the address bar and history.

// tokenPage marks a page that carries a one-time token.
func tokenPage(w http.ResponseWriter) { w.Header().Set("Referrer-Policy", "no-referrer") }

// flowData drives the small state machines of the flow pages.
type flowData struct {
	Step  string // which part of the page to show
	Token string
	Login string
}

func flowView(title, step string) *view {
	return &view{Title: title, Data: &flowData{Step: step}}
}

func (p *pages) registerPage(w http.ResponseWriter, r *http.Request) error {
	st, err := p.auth.SignIn.State(r.Context())
	if err != nil {
		return err
	}
	if !st.RegistrationOpen {
		p.render(w, http.StatusNotFound, "register", flowView("Registration closed", "closed"))
		return nil
	}
	p.render(w, http.StatusOK, "register", flowView("Create an account", "form"))
	return nil
}

func (p *pages) registerSubmit(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	v := flowView("Create an account", "form")
	v.Form = map[string]string{"username": f.Get("username"), "email": f.Get("email")}
	var err error
	if f.Get("password") != f.Get("password_confirm") {
		err = gatehouse.FieldError("password_confirm", "the two passwords differ")
	}
	var res *auth.RegisterResult
	if err == nil {
		res, err = p.auth.Mail.Register(r.Context(), auth.RegisterRequest{Username: f.Get("username"), Email: f.Get("email"), Password: f.Get("password"), Language: p.lang(w)}, p.kit.Meta(r))
	}
	if err == nil && res.Tokens != nil {
		// No activation needed: signed in at once (seed 004), onward to set up security.
		p.kit.Cookies.SetSession(w, res.Tokens)
		p.redirect(w, r, "/settings/security?done=registered")
		return nil
	}
	if err == nil {
		step := "active"
		if res.ActivationRequired {
			step = "check_mail"
		}
		v := flowView("Check your mail", step)
		if step == "active" {
			v.Title = "Account created"
		}
		p.render(w, http.StatusOK, "register", v)
		return nil
	}
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EInternal:
		return err
	case gatehouse.EForbidden:
		v.Data.(*flowData).Step = "closed"
	}
	v.refuse(err)
	p.render(w, ghttpStatus(err), "register", v)
	return nil
}

func (p *pages) activatePage(w http.ResponseWriter, r *http.Request) error {
	tokenPage(w)
	tok := r.URL.Query().Get("token")
	v := flowView("Activate your account", "confirm")
	if err := p.auth.Mail.CheckLink(r.Context(), gatehouse.TokenActivation, tok); err != nil {
		return p.linkProblem(w, r, v, err, "activate")
	}
	v.Data.(*flowData).Token = tok
	p.render(w, http.StatusOK, "activate", v)
	return nil
}

// linkProblem shows why a link cannot be used, with the way to get a new one.
func (p *pages) linkProblem(w http.ResponseWriter, r *http.Request, v *view, err error, page string) error {
	if gatehouse.ErrorCode(err) == gatehouse.EInternal {
		return err
	}
	v.Data.(*flowData).Step = "bad_link"
	v.Data.(*flowData).Token = ""
	v.refuse(err)
	// These pages have no such fields: what is said of them (the link; an activation's claim on
	// a username or address taken meanwhile) is said of the page.
	for _, f := range []string{"token", "username", "email"} {
		if m := v.Errors[f]; m != "" {
			v.Error = m
			delete(v.Errors, f)
		}
	}
	p.render(w, ghttpStatus(err), page, v)
	return nil
}

func (p *pages) activateSubmit(w http.ResponseWriter, r *http.Request) error {
	tokenPage(w)
	v := flowView("Activate your account", "done")
	u, err := p.auth.Mail.Activate(r.Context(), r.PostForm.Get("token"), p.kit.Meta(r))
	if err != nil {
		return p.linkProblem(w, r, v, err, "activate")
	}
	v.Title = "Account activated"
	v.Data.(*flowData).Login = u.Username
	p.render(w, http.StatusOK, "activate", v)
	return nil
}

func (p *pages) resendSubmit(w http.ResponseWriter, r *http.Request) error {
	v := flowView("Activate your account", "resent")
	if err := p.auth.Mail.ResendActivation(r.Context(), r.PostForm.Get("login"), p.kit.Meta(r)); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EInternal {
			return err
		}
		v.Data.(*flowData).Step = "bad_link"
		v.refuse(err)
		p.render(w, ghttpStatus(err), "activate", v)
		return nil
	}
	p.render(w, http.StatusOK, "activate", v)
	return nil
}

func (p *pages) recoverPage(w http.ResponseWriter, r *http.Request) error {
	p.render(w, http.StatusOK, "recover", flowView("Forgot your password?", "form"))
	return nil
}

func (p *pages) recoverSubmit(w http.ResponseWriter, r *http.Request) error {
	v := flowView("Forgot your password?", "sent")
	if err := p.auth.Mail.ForgotPassword(r.Context(), r.PostForm.Get("email"), p.kit.Meta(r)); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EInternal {
			return err
		}
		v.Data.(*flowData).Step = "form"
		v.set("email", r.PostForm.Get("email"))
		v.refuse(err)
		p.render(w, ghttpStatus(err), "recover", v)
		return nil
	}
	p.render(w, http.StatusOK, "recover", v)
	return nil
}

func (p *pages) resetPage(w http.ResponseWriter, r *http.Request) error {
	tokenPage(w)
	tok := r.URL.Query().Get("token")
	v := flowView("Choose a new password", "form")
	if err := p.auth.Mail.CheckLink(r.Context(), gatehouse.TokenPasswordReset, tok); err != nil {
		return p.linkProblem(w, r, v, err, "recover_reset")
	}
	v.Data.(*flowData).Token = tok
	p.render(w, http.StatusOK, "recover_reset", v)
	return nil
}

func (p *pages) resetSubmit(w http.ResponseWriter, r *http.Request) error {
	tokenPage(w)
	tok := r.PostForm.Get("token")
	v := flowView("Choose a new password", "form")
	var err error
	if r.PostForm.Get("password") != r.PostForm.Get("password_confirm") {
		err = gatehouse.FieldError("password_confirm", "the two passwords differ")
	} else {
		err = p.auth.Mail.ResetPasswordWithLink(r.Context(), tok, r.PostForm.Get("password"), p.kit.Meta(r))
	}
	if err == nil {
		v.Title = "Password changed"
		v.Data.(*flowData).Step = "done"
		p.render(w, http.StatusOK, "recover_reset", v)
		return nil
	}
	var e *gatehouse.Error
	if asError(err, &e) && e.Field == "token" || gatehouse.ErrorCode(err) != gatehouse.EInvalid {
		return p.linkProblem(w, r, v, err, "recover_reset")
	}
	v.Data.(*flowData).Token = tok
	v.refuse(err)
	p.render(w, ghttpStatus(err), "recover_reset", v)
	return nil
}

func (p *pages) emailConfirmPage(w http.ResponseWriter, r *http.Request) error {
	tokenPage(w)
	tok := r.URL.Query().Get("token")
	v := flowView("Confirm your new address", "confirm")
	if err := p.auth.Mail.CheckLink(r.Context(), gatehouse.TokenEmailChange, tok); err != nil {
		return p.linkProblem(w, r, v, err, "email_confirm")
	}
	v.Data.(*flowData).Token = tok
	p.render(w, http.StatusOK, "email_confirm", v)
	return nil
}

func (p *pages) emailConfirmSubmit(w http.ResponseWriter, r *http.Request) error {
	tokenPage(w)
	v := flowView("Confirm your new address", "done")
	u, err := p.auth.Mail.ConfirmEmailChange(r.Context(), r.PostForm.Get("token"), p.kit.Meta(r))
	if err != nil {
		return p.linkProblem(w, r, v, err, "email_confirm")
	}
	v.Title = "Address changed"
	v.Data.(*flowData).Login = u.Email
	p.render(w, http.StatusOK, "email_confirm", v)
	return nil
}

func (p *pages) securityEmail(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	err := p.auth.Mail.RequestEmailChange(r.Context(), pr, r.PostForm.Get("email"), r.PostForm.Get("email_password"), p.kit.Meta(r))
	if err == nil {
		p.redirect(w, r, "/settings/security?done=email")
		return nil
	}
	if gatehouse.ErrorCode(err) == gatehouse.EInternal {
		return err
	}
	v, verr := p.securityView(r, pr)
	if verr != nil {
		return verr
	}
	v.set("email", r.PostForm.Get("email"))
	var e *gatehouse.Error
	if asError(err, &e) && e.Field == "password" {
		v.fieldError("email_password", e.Message)
	} else {
		v.refuse(err)
	}
	p.render(w, ghttpStatus(err), "security", v)
	return nil
}

// ---- admin ----

type mailData struct {
	Templates    []*auth.MailTemplateView
	Configured   bool
	Registration bool
	Host         string
	Outbox       []*gatehouse.OutboxMail
	Pending      []*gatehouse.User
	TestResult   string
}

var mailNotices = map[string]string{
	"retry":      "The mail is queued again.",
	"activation": "A new activation link is on its way.",
}

func (p *pages) mailView(r *http.Request, pr *auth.Principal) (*view, error) {
	outbox, _, err := p.auth.Admin.Outbox(r.Context(), pr, "", 1, perPage)
	if err != nil {
		return nil, err
	}
	pending, _, err := p.auth.Admin.PendingUsers(r.Context(), pr, 1, perPage)
	if err != nil {
		return nil, err
	}
	st := p.auth.Core.Settings()
	v := adminView("Mail", "mail", pr)
	templates, err := p.auth.Admin.MailTemplates(r.Context(), pr)
	if err != nil {
		return nil, err
	}
	v.Data = &mailData{Configured: p.auth.Core.MailConfigured(), Registration: st.AllowRegistration, Outbox: outbox, Pending: pending, Templates: templates}
	// Without a host there is nothing to send through; ":587 (starttls)" would read as if there were.
	if st.SMTPHost != "" {
		v.Data.(*mailData).Host = fmt.Sprintf("%s:%d (%s)", st.SMTPHost, st.SMTPPort, st.SMTPTLS)
	}
	return v, nil
}

func (p *pages) adminMail(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.mailView(r, pr)
	if err != nil {
		return err
	}
	v.Notice = mailNotices[r.URL.Query().Get("done")]
	p.render(w, http.StatusOK, "admin_mail", v)
	return nil
}

// adminMailTest sends at once and shows the server's own answer, success or not.
func (p *pages) adminMailTest(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	resp, err := p.auth.Admin.SendTestMail(r.Context(), pr, r.PostForm.Get("to"), p.kit.Meta(r))
	if gatehouse.ErrorCode(err) == gatehouse.EInternal {
		return err
	}
	v, verr := p.mailView(r, pr)
	if verr != nil {
		return verr
	}
	v.set("to", r.PostForm.Get("to"))
	if err != nil {
		v.refuse(err)
		p.render(w, ghttpStatus(err), "admin_mail", v)
		return nil
	}
	v.Data.(*mailData).TestResult = resp
	v.Notice = "Test mail accepted by the server."
	p.render(w, http.StatusOK, "admin_mail", v)
	return nil
}

func (p *pages) adminMailRetry(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return gatehouse.Errorf(gatehouse.ENotFound, "no such mail")
	}
	if err := p.auth.Admin.RetryMail(r.Context(), pr, id, p.kit.Meta(r)); err != nil {
		return err
	}
	p.redirect(w, r, "/admin/mail?done=retry")
	return nil
}

func (p *pages) adminResendActivation(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id, err := auth.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := p.auth.Admin.AdminResendActivation(r.Context(), pr, id, p.kit.Meta(r)); err != nil {
		if c := gatehouse.ErrorCode(err); c == gatehouse.ERateLimited || c == gatehouse.EConflict {
			v, verr := p.mailView(r, pr)
			if verr != nil {
				return verr
			}
			v.refuse(err)
			p.render(w, ghttpStatus(err), "admin_mail", v)
			return nil
		}
		return err
	}
	p.redirect(w, r, "/admin/mail?done=activation")
	return nil
}

// registrationNeedsMail is the warning of the settings page: registration on (or being turned on)
// while no mail can be sent means new accounts wait for activation mail that never comes.
const registrationNeedsMail = "Mail delivery is not configured (SMTP host and From address, below): people who register will never receive their activation mail. Configure mail first, or tick \"Enable registration without mail\" and save again."
