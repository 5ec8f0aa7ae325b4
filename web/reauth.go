package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	ghttp "github.com/gatehouse/gatehouse/http"
)

// reauthData is the "Confirm it's you" section of the security page (templates/partial_reauth.html).
// Adding or deleting a passkey, setting up an authenticator and linking an external identity need
// a recent authentication (auth/reauth.go); when one of those forms is refused for want of it, the
// page shows this section with the refused action in Then, and confirming carries it out.
type reauthData struct {
	Recent      bool
	Until       time.Time
	HasPassword bool
	HasTOTP     bool
	HasPasskey  bool // the script offers "Use a passkey"
	// Prompt is set when an action was just refused: the section is shown first, with ThenLabel.
	Prompt    bool
	Then      string
	ThenLabel string
}

// Minutes is the length of the window, for the page's explanation.
func (reauthData) Minutes() int { return int(gatehouse.ReauthWindow / time.Minute) }

func (p *pages) reauthData(r *http.Request, pr *auth.Principal) (*reauthData, error) {
	st, err := p.auth.Account.ReauthState(r.Context(), pr)
	if err != nil {
		return nil, err
	}
	d := &reauthData{Recent: st.Recent, Until: st.Until}
	for _, m := range st.Methods {
		d.HasPassword = d.HasPassword || m == gatehouse.AuthPassword
		d.HasTOTP = d.HasTOTP || m == gatehouse.AuthTOTP
		d.HasPasskey = d.HasPasskey || m == gatehouse.AuthPasskey
	}
	return d, nil
}

// thenLabel names a refused action for the prompt; "" for an action this page does not know,
// which is then not carried out.
func thenLabel(then string) string {
	switch {
	case then == "mfa_setup":
		return "set up an authenticator"
	case then == "mfa":
		return "finish setting up the authenticator"
	case then == "passkeys":
		return "add a passkey"
	case strings.HasPrefix(then, "link:"):
		return "link an external identity"
	case strings.HasPrefix(then, "passkey_delete:"):
		return "delete the passkey"
	}
	return ""
}

// renderReauth shows the security page again with the "Confirm it's you" form that returns to
// then: for a form refused with EReauthRequired (err nil, status 403), or for a failed
// confirmation (err).
func (p *pages) renderReauth(w http.ResponseWriter, r *http.Request, pr *auth.Principal, then string, err error) error {
	v, verr := p.securityView(r, pr)
	if verr != nil {
		return verr
	}
	d := v.Data.(*securityData)
	d.Reauth.Prompt, d.Reauth.Then, d.Reauth.ThenLabel = true, then, thenLabel(then)
	status := ghttp.StatusOf(gatehouse.EReauthRequired)
	if err != nil {
		status = ghttpStatus(err)
		v.refuseAs("reauth_", err)
	}
	p.render(w, status, "security", v)
	return nil
}

// securityReauth checks the password (or authenticator code) and carries out the action that was
// refused, or goes back to the security page.
func (p *pages) securityReauth(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	then := r.PostForm.Get("then")
	if thenLabel(then) == "" {
		then = ""
	}
	_, err := p.auth.Account.Reauthenticate(r.Context(), pr, r.PostForm.Get("password"), r.PostForm.Get("code"), p.kit.Meta(r))
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EInternal || gatehouse.ErrorCode(err) == gatehouse.EUnauthorized {
			return err
		}
		return p.renderReauth(w, r, pr, then, err)
	}
	return p.reauthThen(w, r, pr, then)
}

func (p *pages) securityReauthContinue(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	then := r.PostForm.Get("then")
	if thenLabel(then) == "" {
		then = ""
	}
	return p.reauthThen(w, r, pr, then)
}

// reauthThen carries out a refused action once the user confirmed it is them.
func (p *pages) reauthThen(w http.ResponseWriter, r *http.Request, pr *auth.Principal, then string) error {
	switch {
	case then == "mfa_setup":
		return p.mfaSetup(w, r, pr)
	case then == "mfa":
		p.redirect(w, r, "/settings/security?done=reauth#mfa")
	case then == "passkeys":
		p.redirect(w, r, "/settings/security?done=reauth#passkeys")
	case strings.HasPrefix(then, "link:"):
		r.SetPathValue("provider", strings.TrimPrefix(then, "link:"))
		return p.securityLink(w, r, pr)
	case strings.HasPrefix(then, "passkey_delete:"):
		r.SetPathValue("id", strings.TrimPrefix(then, "passkey_delete:"))
		return p.passkeyDelete(w, r, pr)
	default:
		p.redirect(w, r, "/settings/security?done=reauth")
	}
	return nil
}

func reauthNotice() string {
	return fmt.Sprintf("Thank you. For the next %d minutes you can add or delete passkeys, set up an authenticator and link external identities.", int(gatehouse.ReauthWindow/time.Minute))
}
