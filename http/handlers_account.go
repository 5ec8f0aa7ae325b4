package http

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

type list[T any] struct {
	Items    []T  `json:"items"`
	NextPage *int `json:"next_page"`
}

func (s *Server) accountSessions(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	items, err := s.auth.Account.Sessions(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionsView(items))
	return nil
}

func (s *Server) accountRevokeSession(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	err := s.auth.Account.RevokeOwnSession(r.Context(), p, r.PathValue("id"), s.meta(r))
	if r.PathValue("id") == p.SessionID && (err == nil || gatehouse.IsCode(err, gatehouse.EStoreUnavailable)) {
		s.cookies.ClearSession(w)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) accountSignOutOthers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	n, err := s.auth.Account.SignOutOthers(r.Context(), p, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"ended": n})
	return nil
}

func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.auth.Account.ChangePassword(r.Context(), p, req.CurrentPassword, req.NewPassword, s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
