package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	ghttp "github.com/gatehouse/gatehouse/http"
	"github.com/gatehouse/gatehouse/totp"
)

// mfaData is the Multi-Factor Authentication section of the security page.
type mfaData struct {
	Status *auth.MFAStatus
	// Setup is the unfinished authenticator setup (QR code, secret, URI), when there is one.
	Setup *auth.TOTPSetup
	// SetupError explains why an unfinished setup cannot be shown (changed mfa_secret_key).
	SetupError string
	// Codes are fresh recovery codes, shown once, right after they were made.
	Codes []string
}

// CodesText is the recovery codes as a text file.
func (d *mfaData) CodesText() string {
	return "gatehouse recovery codes\nEach code works once.\n\n" + strings.Join(d.Codes, "\n") + "\n"
}

// CodesDownload is a data: URL of the codes for the download link. It is built here, with
// every byte escaped, because html/template refuses data: URLs it did not see made.
func (d *mfaData) CodesDownload() template.URL {
	return template.URL("data:text/plain;charset=utf-8," + url.PathEscape(d.CodesText()))
}

func (p *pages) mfaData(r *http.Request, pr *auth.Principal) (*mfaData, error) {
	st, err := p.auth.Account.MFAStatus(r.Context(), pr.User.ID)
	if err != nil {
		return nil, err
	}
	d := &mfaData{Status: st}
	if st.Pending {
		d.Setup, err = p.auth.Account.PendingTOTP(r.Context(), pr)
		if gatehouse.IsCode(err, gatehouse.EMFAUnavailable) {
			d.Setup, d.SetupError = nil, errMessage(err)
		} else if gatehouse.IsCode(err, gatehouse.EReauthRequired) {
			// An unfinished setup is shown only to a recently authenticated session; the
			// setup button starts over after the password is confirmed.
			d.Setup = nil
		} else if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, err
		}
	}
	return d, nil
}

func errMessage(err error) string {
	var e *gatehouse.Error
	if asError(err, &e) {
		return e.Message
	}
	return "Something went wrong; the server log has details."
}

// mfaRender shows the security page after an MFA form: with fresh recovery codes, or with the
// error of a refused form.
func (p *pages) mfaRender(w http.ResponseWriter, r *http.Request, pr *auth.Principal, codes []string, err error) error {
	if gatehouse.ErrorCode(err) == gatehouse.EInternal {
		return err
	}
	v, verr := p.securityView(r, pr)
	if verr != nil {
		return verr
	}
	v.set("mfa_form", r.PostForm.Get("form"))
	status := http.StatusOK
	if err != nil {
		status = ghttpStatus(err)
		// Fields of the MFA forms are prefixed so they never collide with the password form.
		v.refuseAs("mfa_", err)
	}
	if d, ok := v.Data.(*securityData); ok && d.MFA != nil {
		d.MFA.Codes = codes
		if len(codes) > 0 {
			v.Notice = "Save these recovery codes now: they are shown only once."
		}
	}
	p.render(w, status, "security", v)
	return nil
}

// mfaSetup starts (or restarts) an authenticator setup and shows it.
func (p *pages) mfaSetup(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	if _, err := p.auth.Account.BeginTOTP(r.Context(), pr, p.kit.Meta(r)); err != nil {
		if gatehouse.IsCode(err, gatehouse.EReauthRequired) {
			return p.renderReauth(w, r, pr, "mfa_setup", nil)
		}
		return p.mfaRender(w, r, pr, nil, err)
	}
	p.redirect(w, r, "/settings/security#mfa")
	return nil
}

// mfaQR renders the unfinished setup's otpauth URI as a PNG QR code. A same-origin image keeps
// the CSP's img-src at 'self'; the secret is never put in a URL.
func (p *pages) mfaQR(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	s, err := p.auth.Account.PendingTOTP(r.Context(), pr)
	if err != nil {
		http.Error(w, "no authenticator setup is in progress", ghttpStatus(err))
		return nil
	}
	png, err := totp.QRCode(s.URL, 240)
	if err != nil {
		p.log.Error("rendering a QR code failed", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return nil
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	// The image holds the secret: no other site may even embed it.
	w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	_, _ = w.Write(png)
	return nil
}

func (p *pages) mfaConfirm(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	codes, err := p.auth.Account.ConfirmTOTP(r.Context(), pr, r.PostForm.Get("code"), p.kit.Meta(r))
	if gatehouse.IsCode(err, gatehouse.EReauthRequired) {
		return p.renderReauth(w, r, pr, "mfa", nil)
	}
	return p.mfaRender(w, r, pr, codes, err)
}

// errNoReauth is said on the page when neither a code nor the password was typed.
var errNoReauth = gatehouse.FieldError("code", "enter a current code from your authenticator app, or your password")

func (p *pages) mfaRecoveryCodes(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	if r.PostForm.Get("code") == "" && r.PostForm.Get("password") == "" {
		return p.mfaRender(w, r, pr, nil, errNoReauth)
	}
	codes, err := p.auth.Account.RegenerateRecoveryCodes(r.Context(), pr, r.PostForm.Get("code"), r.PostForm.Get("password"), p.kit.Meta(r))
	return p.mfaRender(w, r, pr, codes, err)
}

func (p *pages) mfaDisable(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	if r.PostForm.Get("code") == "" && r.PostForm.Get("password") == "" {
		return p.mfaRender(w, r, pr, nil, errNoReauth)
	}
	if err := p.auth.Account.DisableTOTP(r.Context(), pr, r.PostForm.Get("code"), r.PostForm.Get("password"), p.kit.Meta(r)); err != nil {
		return p.mfaRender(w, r, pr, nil, err)
	}
	p.redirect(w, r, "/settings/security?done=mfa_off")
	return nil
}

// mfaStep is the second step of the login page.
type mfaStep struct {
	Token string
	// Recovery opens the recovery-code part (after a wrong recovery code).
	Recovery bool
}

// loginMFASubmit finishes a sign-in with a code or a recovery code. The challenge token travels
// in a hidden field; without a valid one the user starts over at the password step.
func (p *pages) loginMFASubmit(w http.ResponseWriter, r *http.Request) error {
	f := r.PostForm
	rd := f.Get("rd")
	req := auth.MFALoginRequest{Token: f.Get("mfa_token"), Code: strings.TrimSpace(f.Get("code")), RecoveryCode: strings.TrimSpace(f.Get("recovery_code"))}
	if req.Code != "" && req.RecoveryCode != "" {
		req.Code = "" // both filled: the recovery code was the deliberate choice
	}
	var t *auth.Tokens
	var err error
	if req.Code == "" && req.RecoveryCode == "" && req.Token != "" {
		// Nothing typed: ask again without spending an attempt.
		err = gatehouse.FieldError("code", "enter the 6-digit code from your authenticator app, or a recovery code")
	} else {
		t, err = p.auth.SignIn.LoginMFA(r.Context(), req, p.kit.Meta(r))
	}
	if err == nil {
		p.kit.Cookies.SetSession(w, t)
		// The challenge of an external sign-in, if it came by cookie, is spent.
		p.kit.Cookies.ClearMFA(w)
		dest := p.afterSignIn(rd)
		if t.RecoveryCodesLeft != nil && req.RecoveryCode != "" && p.safeRD(rd) == "" {
			dest = p.base + "/settings/security?done=recovery#mfa"
		}
		http.Redirect(w, r, dest, http.StatusSeeOther)
		return nil
	}
	code := gatehouse.ErrorCode(err)
	if code == gatehouse.EInternal {
		return err
	}
	v, verr := p.loginView(r, rd)
	if verr != nil {
		return verr
	}
	d := v.Data.(*loginData)
	switch code {
	case gatehouse.EUnauthorized:
		// The challenge is over (expired, used up, or reset): back to the password step.
		v.Error = errMessage(err)
		p.render(w, http.StatusUnauthorized, "login", v)
		return nil
	case gatehouse.ERateLimited:
		ghttp.SetRetryAfter(w, err)
		v.Error = "Too many code attempts. Wait a moment and try again."
	default:
		var e *gatehouse.Error
		if asError(err, &e) && e.Field != "" {
			v.fieldError(e.Field, upperFirst(e.Message)+".")
		} else {
			v.Error = upperFirst(errMessage(err)) + "."
		}
	}
	v.Title = "Two-step verification"
	d.MFA = &mfaStep{Token: req.Token, Recovery: req.RecoveryCode != "" || code == gatehouse.EMFAUnavailable}
	p.render(w, ghttpStatus(err), "login", v)
	return nil
}

// showMFAStep renders the login page's second step after a correct password.
func (p *pages) showMFAStep(w http.ResponseWriter, r *http.Request, rd string, m *auth.MFAPending) error {
	v, err := p.loginView(r, rd)
	if err != nil {
		return err
	}
	v.Title = "Two-step verification"
	v.Data.(*loginData).MFA = &mfaStep{Token: m.Token}
	p.render(w, http.StatusOK, "login", v)
	return nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// adminResetMFA is the admin user page's "Reset MFA" button.
func (p *pages) adminResetMFA(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id, err := auth.ParseID(r.PathValue("id"))
	if err == nil {
		_, err = p.auth.Admin.AdminResetMFA(r.Context(), pr, id, p.kit.Meta(r))
	}
	if err != nil {
		return err
	}
	if id == pr.User.ID {
		// Resetting one's own MFA ends one's own sessions too.
		p.kit.Cookies.ClearSession(w)
		p.redirect(w, r, "/login?signed_out=1")
		return nil
	}
	p.redirect(w, r, fmt.Sprintf("/admin/users/%d?done=mfa", id))
	return nil
}
