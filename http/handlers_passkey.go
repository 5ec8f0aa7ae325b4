package http

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
)

// decodeOptional decodes a JSON body when there is one: the begin endpoints take no input, so
// an empty body is as good as {}.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return decode(w, r, v)
}

func (s *Server) passkeyLoginBegin(w http.ResponseWriter, r *http.Request) error {
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		return err
	}
	c, err := s.auth.SignIn.BeginPasskeyLogin(r.Context(), s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, challengeView(c))
	return nil
}

func (s *Server) passkeyLoginFinish(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Ceremony     string          `json:"ceremony"`
		Credential   json.RawMessage `json:"credential"`
		StaySignedIn bool            `json:"stay_signed_in"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t, err := s.auth.SignIn.FinishPasskeyLogin(r.Context(), req.Ceremony, req.Credential, req.StaySignedIn, s.meta(r))
	if err != nil {
		return err
	}
	s.signedIn(w, r, http.StatusOK, t)
	return nil
}

func (s *Server) accountPasskeys(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	items, err := s.auth.Account.Passkeys(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, passkeysView(items))
	return nil
}

func (s *Server) accountPasskeyBegin(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		return err
	}
	c, err := s.auth.Account.BeginPasskeyRegistration(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, challengeView(c))
	return nil
}

func (s *Server) accountPasskeyFinish(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Ceremony   string          `json:"ceremony"`
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := s.auth.Account.FinishPasskeyRegistration(r.Context(), p, req.Ceremony, req.Name, req.Credential, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, passkeyView(v))
	return nil
}

func passkeyID(r *http.Request, name string) (int64, error) {
	return PathID(r, name, "passkey not found")
}

func (s *Server) accountPasskeyRename(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := passkeyID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := s.auth.Account.RenamePasskey(r.Context(), p, id, req.Name, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, passkeyView(v))
	return nil
}

func (s *Server) accountPasskeyDelete(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := passkeyID(r, "id")
	if err == nil {
		err = s.auth.Account.DeletePasskey(r.Context(), p, id, s.meta(r))
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminUserPasskeys(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	uid, err := pathID(r)
	if err != nil {
		return err
	}
	items, err := s.auth.Admin.AdminPasskeys(r.Context(), p, uid)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, passkeysView(items))
	return nil
}

func (s *Server) adminDeletePasskey(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	uid, err := pathID(r)
	var id int64
	if err == nil {
		id, err = passkeyID(r, "pid")
	}
	if err == nil {
		err = s.auth.Admin.AdminDeletePasskey(r.Context(), p, uid, id, s.meta(r))
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
