package http

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// accountReauthState answers whether the session may make changes that need a recent
// authentication, until when, and with what the user can confirm it is them.
func (s *Server) accountReauthState(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	st, err := s.auth.Account.ReauthState(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, reauthView(st))
	return nil
}

// accountReauth confirms it is the user ({"password"} or, with MFA on, {"code"}) and renews the
// session's recent authentication.
func (s *Server) accountReauth(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req reauth // handlers_mfa.go: {"code"} or {"password"}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	st, err := s.auth.Account.Reauthenticate(r.Context(), p, req.Password, req.Code, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, reauthView(st))
	return nil
}

// accountReauthPasskeyBegin starts a passkey assertion that confirms it is the user.
func (s *Server) accountReauthPasskeyBegin(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		return err
	}
	c, err := s.auth.Account.BeginPasskeyReauth(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, challengeView(c))
	return nil
}

// accountReauthPasskeyFinish takes the assertion and renews the session's recent authentication.
func (s *Server) accountReauthPasskeyFinish(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Ceremony   string          `json:"ceremony"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	st, err := s.auth.Account.FinishPasskeyReauth(r.Context(), p, req.Ceremony, req.Credential, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, reauthView(st))
	return nil
}
