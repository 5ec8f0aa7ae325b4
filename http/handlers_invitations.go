package http

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Invitations (docs/access-control.md, Invitations): the administrators' API, and the two
// public endpoints an invitee's client uses.

func (s *Server) invitationRoutes() {
	s.handle("GET /api/admin/invitations", s.admin(s.adminListInvitations))
	s.handle("POST /api/admin/invitations", s.admin(s.adminCreateInvitation))
	s.handle("DELETE /api/admin/invitations/{id}", s.admin(s.adminRevokeInvitation))
	s.handle("POST /api/auth/invitation", s.invitationInfo)
	s.handle("POST /api/auth/invitation/accept", s.acceptInvitation)
}

// invitationJSON is an invitation as the API shows it; url only in the answer that made it.
type invitationJSON struct {
	ID        int64      `json:"id"`
	URL       string     `json:"url,omitempty"`
	Email     string     `json:"email"`
	Groups    []string   `json:"groups"`
	MaxUses   int        `json:"max_uses"`
	Uses      int        `json:"uses"`
	State     string     `json:"state"`
	CreatedBy *int64     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func invitationView(inv *gatehouse.Invitation, state, url string) invitationJSON {
	g := inv.Groups
	if g == nil {
		g = []string{}
	}
	return invitationJSON{ID: inv.ID, URL: url, Email: inv.Email, Groups: g, MaxUses: inv.MaxUses, Uses: inv.Uses,
		State: state, CreatedBy: inv.CreatedBy, CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, RevokedAt: inv.RevokedAt}
}

func (s *Server) adminListInvitations(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	invs, err := s.auth.Admin.ListInvitations(r.Context(), p)
	if err != nil {
		return err
	}
	items := make([]invitationJSON, len(invs))
	for i, inv := range invs {
		items[i] = invitationView(inv.Invitation, inv.State, "")
	}
	writeJSON(w, http.StatusOK, list[invitationJSON]{Items: items})
	return nil
}

func (s *Server) adminCreateInvitation(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Email     string   `json:"email"`
		Groups    []string `json:"groups"`
		ExpiresIn int64    `json:"expires_in"`
		MaxUses   int      `json:"max_uses"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.ExpiresIn < 0 || req.ExpiresIn > int64(auth.InvitationMaxTTL/time.Second) {
		return gatehouse.FieldError("expires_in", "expires_in must be between 60 seconds and 90 days")
	}
	n, err := s.auth.Admin.CreateInvitation(r.Context(), p, auth.InvitationRequest{Email: req.Email, Groups: req.Groups,
		ExpiresIn: time.Duration(req.ExpiresIn) * time.Second, MaxUses: req.MaxUses}, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, invitationView(n.Invitation, gatehouse.InvitationActive, n.URL))
	return nil
}

func (s *Server) adminRevokeInvitation(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id", "invitation")
	if err != nil {
		return err
	}
	if err := s.auth.Admin.RevokeInvitation(r.Context(), p, id, s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// invitationInfo: {"token"} -> {"email", "groups", "expires_at"} of a usable invitation; 400
// invalid_input (field token) for any link that does not work. The token travels in the body,
// not the URL, so it stays out of access logs.
func (s *Server) invitationInfo(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	info, err := s.auth.Mail.Invitation(r.Context(), req.Token)
	if err != nil {
		return err
	}
	g := info.Groups
	if g == nil {
		g = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"email": info.Email, "groups": g, "expires_at": info.ExpiresAt})
	return nil
}

// acceptInvitation: {"token", "username", "email", "password"} -> the answers of
// POST /api/auth/register.
func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token    string `json:"token"`
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := s.auth.Mail.AcceptInvitation(r.Context(), req.Token, auth.RegisterRequest{Username: req.Username, Email: req.Email, Password: req.Password}, s.meta(r))
	if err != nil {
		return err
	}
	return s.registered(w, r, res)
}
