package http

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// mfaRequired is the answer to a correct password for an account with MFA: no session, no
// cookie, only the token for POST /api/auth/login/mfa.
type mfaRequired struct {
	MFARequired bool     `json:"mfa_required"`
	MFAToken    string   `json:"mfa_token"`
	Methods     []string `json:"methods"`
	ExpiresIn   int64    `json:"expires_in"`
}

func writeMFARequired(w http.ResponseWriter, m *auth.MFAPending) {
	writeJSON(w, http.StatusOK, mfaRequired{MFARequired: true, MFAToken: m.Token, Methods: m.Methods, ExpiresIn: int64(m.ExpiresIn / time.Second)})
}

// loginMFA completes a sign-in with a TOTP code or a recovery code; it answers like a normal
// sign-in, plus how many recovery codes remain.
func (s *Server) loginMFA(w http.ResponseWriter, r *http.Request) {
	var req struct {
		MFAToken     string `json:"mfa_token"`
		Code         string `json:"code"`
		RecoveryCode string `json:"recovery_code"`
	}
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	t, err := s.auth.SignIn.LoginMFA(r.Context(), auth.MFALoginRequest{Token: req.MFAToken, Code: req.Code, RecoveryCode: req.RecoveryCode}, s.meta(r))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.cookies.SetSession(w, t)
	writeJSON(w, http.StatusOK, struct {
		tokenResponse
		RecoveryCodesRemaining *int `json:"recovery_codes_remaining"`
	}{s.tokens(r, t), t.RecoveryCodesLeft})
}

func (s *Server) accountTOTPSetup(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	// No body is needed; one that is sent must still be a JSON object (strict like every other
	// endpoint), so only an empty body skips decoding.
	if r.ContentLength != 0 {
		var req struct{}
		if err := decode(w, r, &req); err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	setup, err := s.auth.Account.BeginTOTP(r.Context(), p, s.meta(r))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, totpSetupJSON{Secret: setup.Secret, URL: setup.URL})
}

func (s *Server) accountTOTPConfirm(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req struct {
		Code string `json:"code"`
	}
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	codes, err := s.auth.Account.ConfirmTOTP(r.Context(), p, req.Code, s.meta(r))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"recovery_codes": codes})
}

// reauth is the body of the MFA changes that need a current code or the password.
type reauth struct {
	Code     string `json:"code"`
	Password string `json:"password"`
}

func (s *Server) accountTOTPDelete(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req reauth
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := s.auth.Account.DisableTOTP(r.Context(), p, req.Code, req.Password, s.meta(r)); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) accountRecoveryCodes(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req reauth
	if err := decode(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	codes, err := s.auth.Account.RegenerateRecoveryCodes(r.Context(), p, req.Code, req.Password, s.meta(r))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"recovery_codes": codes})
}

func (s *Server) adminResetMFA(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	n, err := s.auth.Admin.AdminResetMFA(r.Context(), p, id, s.meta(r))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"sessions_ended": n})
}
