package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// Step-up (docs/access-control.md): forward auth sends a browser whose session has no second
// factor to /login?step_up=1&rd=..., where the signed-in user proves one (authenticator code,
// recovery code or passkey) and goes back to rd; a user without any is told to set one up.

type stepUpData struct {
	RD    string
	State *auth.StepUpState
	// App names the app of an OpenID Provider sign-in that rd returns to; the page then shows
	// the name, not the provider's internal address.
	App string
}

func (p *pages) stepUpView(r *http.Request, pr *auth.Principal, rd string, st *auth.StepUpState) *view {
	d := &stepUpData{RD: p.safeRD(rd), State: st}
	if p.provider != nil && d.RD != "" {
		d.App = p.provider.AppOfReturn(r.Context(), d.RD)
	}
	return &view{Title: "Second factor needed", User: pr.User, Data: d}
}

func (p *pages) stepUpRoutes(mux *http.ServeMux) {
	mux.Handle("POST /login/step-up", p.page(p.user(p.stepUpSubmit)))
	// After a passkey assertion (a script, POST /api/account/reauth/passkey/...), which records
	// the second factor on the session, the browser goes on to rd from here.
	mux.Handle("POST /login/step-up/continue", p.page(p.user(p.stepUpContinue)))
}

// stepUpPage shows the second-factor step for the signed-in user, or goes on to rd when the
// session already has one.
func (p *pages) stepUpPage(w http.ResponseWriter, r *http.Request, pr *auth.Principal, rd string) error {
	st, err := p.auth.Account.StepUpState(r.Context(), pr)
	if err != nil {
		return err
	}
	if st.Done {
		http.Redirect(w, r, p.afterSignIn(rd), http.StatusSeeOther)
		return nil
	}
	p.render(w, http.StatusOK, "stepup", p.stepUpView(r, pr, rd, st))
	return nil
}

func (p *pages) stepUpSubmit(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	rd := r.PostForm.Get("rd")
	err := p.auth.Account.StepUp(r.Context(), pr, r.PostForm.Get("code"), r.PostForm.Get("recovery_code"), p.kit.Meta(r))
	if err == nil {
		http.Redirect(w, r, p.afterSignIn(rd), http.StatusSeeOther)
		return nil
	}
	st, serr := p.auth.Account.StepUpState(r.Context(), pr)
	if serr != nil {
		return serr
	}
	v := p.stepUpView(r, pr, rd, st)
	v.refuse(err)
	p.render(w, ghttpStatus(err), "stepup", v)
	return nil
}

func (p *pages) stepUpContinue(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	return p.stepUpPage(w, r, pr, r.PostForm.Get("then"))
}
