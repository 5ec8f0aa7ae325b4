package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// The page of the external-authentication verification mail's link (auth/extverify.go). Like the
// other link pages it never acts on GET (a mail scanner fetching the link must not spend it):
// GET shows a form with the token hidden, POST binds the identity and signs in. The link works
// in whichever browser opens it: the mailbox is the proof.

func (p *pages) externalVerifyPage(w http.ResponseWriter, r *http.Request) error {
	tokenPage(w)
	tok := r.URL.Query().Get("token")
	v := &view{Title: "Link your sign-in"}
	info, err := p.auth.SignIn.CheckExternalVerification(r.Context(), tok)
	if err != nil {
		v.Data = &flowData{Step: "bad_link"}
		return p.linkProblem(w, r, v, err, "external_verify")
	}
	v.Data = &externalVerifyData{flowData: flowData{Step: "confirm", Token: tok}, Info: info}
	p.render(w, http.StatusOK, "external_verify", v)
	return nil
}

// externalVerifyData is the confirm step: the token and what it links.
type externalVerifyData struct {
	flowData
	Info *auth.VerifyLinkInfo
}

func (p *pages) externalVerifySubmit(w http.ResponseWriter, r *http.Request) error {
	tokenPage(w)
	v := flowView("Link your sign-in", "bad_link")
	res, err := p.auth.SignIn.ConfirmExternalVerification(r.Context(), r.PostForm.Get("token"), p.kit.Meta(r))
	if err != nil {
		if c := gatehouse.ErrorCode(err); c != gatehouse.EInvalid && c != gatehouse.EInternal {
			// Disabled account, provider gone, identity linked elsewhere: say so plainly.
			v.Error = capitalize(err.(*gatehouse.Error).Message)
			p.render(w, ghttpStatus(err), "external_verify", v)
			return nil
		}
		return p.linkProblem(w, r, v, err, "external_verify")
	}
	if res.Tokens.MFA != nil {
		return p.showMFAStep(w, r, res.RD, res.Tokens.MFA)
	}
	p.kit.Cookies.SetSession(w, res.Tokens)
	http.Redirect(w, r, p.afterSignIn(res.RD), http.StatusSeeOther)
	return nil
}
