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
func (s *Server) loginMFA(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		MFAToken     string `json:"mfa_token"`
		Code         string `json:"code"`
		RecoveryCode string `json:"recovery_code"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t, err := s.auth.SignIn.LoginMFA(r.Context(), auth.MFALoginRequest{Token: req.MFAToken, Code: req.Code, RecoveryCode: req.RecoveryCode}, s.meta(r))
	if err != nil {
		return err
	}
	s.cookies.SetSession(w, t)
	writeJSON(w, http.StatusOK, struct {
		tokenResponse
		RecoveryCodesRemaining *int `json:"recovery_codes_remaining"`
	}{s.tokens(r, t), t.RecoveryCodesLeft})
	return nil
}

func (s *Server) accountTOTPSetup(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	// No body is needed; one that is sent must still be a JSON object (strict like every other
	// endpoint), so only an empty body skips decoding.
	if r.ContentLength != 0 {
		var req struct{}
		if err := decode(w, r, &req); err != nil {
			return err
		}
	}
	setup, err := s.auth.Account.BeginTOTP(r.Context(), p, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, totpSetupJSON{Secret: setup.Secret, URL: setup.URL})
	return nil
}

func (s *Server) accountTOTPConfirm(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	codes, err := s.auth.Account.ConfirmTOTP(r.Context(), p, req.Code, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string][]string{"recovery_codes": codes})
	return nil
}

// reauth is the body of the MFA changes that need a current code or the password.
type reauth struct {
	Code     string `json:"code"`
	Password string `json:"password"`
}

func (s *Server) accountTOTPDelete(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req reauth
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.auth.Account.DisableTOTP(r.Context(), p, req.Code, req.Password, s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) accountRecoveryCodes(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req reauth
	if err := decode(w, r, &req); err != nil {
		return err
	}
	codes, err := s.auth.Account.RegenerateRecoveryCodes(r.Context(), p, req.Code, req.Password, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string][]string{"recovery_codes": codes})
	return nil
}

func (s *Server) adminResetMFA(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	n, err := s.auth.Admin.AdminResetMFA(r.Context(), p, id, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"sessions_ended": n})
	return nil
}
