package http

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/access"
	"github.com/gatehouse/gatehouse/auth"
)

// Groups and access rules (docs/access-control.md). The access service checks the admin role
// itself; the admin wrapper keeps answering 403 before any work, like every admin route.

func (s *Server) accessRoutes() {
	if s.access == nil {
		return
	}
	s.handle("GET /api/admin/groups", s.admin(s.adminListGroups))
	s.handle("POST /api/admin/groups", s.admin(s.adminCreateGroup))
	s.handle("GET /api/admin/groups/{id}", s.admin(s.adminGetGroup))
	s.handle("PATCH /api/admin/groups/{id}", s.admin(s.adminUpdateGroup))
	s.handle("DELETE /api/admin/groups/{id}", s.admin(s.adminDeleteGroup))
	s.handle("PUT /api/admin/groups/{id}/members/{user_id}", s.admin(s.adminGroupMember(true)))
	s.handle("DELETE /api/admin/groups/{id}/members/{user_id}", s.admin(s.adminGroupMember(false)))
	s.handle("GET /api/admin/access-rules", s.admin(s.adminAccessRules))
	s.handle("PUT /api/admin/access-rules", s.admin(s.adminReplaceAccessRules))
	s.handle("POST /api/admin/access-rules/test", s.admin(s.adminTestAccess))
	s.handle("POST /api/account/step-up", s.user(s.accountStepUp))
}

// accountStepUp adds a second factor to the current session: {"code"} or {"recovery_code"}
// -> 204 (docs/access-control.md, Step-up). A Bearer client gets 200 with a new access token
// instead: the one it sent was minted as one factor and stays so (its claims are signed).
func (s *Server) accountStepUp(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Code         string `json:"code"`
		RecoveryCode string `json:"recovery_code"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.auth.Account.StepUp(r.Context(), p, req.Code, req.RecoveryCode, s.meta(r)); err != nil {
		return err
	}
	if p.ViaCookie {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	t, err := s.auth.Core.RefreshAccess(r.Context(), p, s.meta(r))
	if err != nil {
		return err
	}
	tr := s.tokens(r, t)
	tr.RefreshToken = ""
	writeJSON(w, http.StatusOK, tr)
	return nil
}

func (s *Server) actor(r *http.Request, p *auth.Principal) access.Actor {
	m := s.meta(r)
	return access.Actor{UserID: p.User.ID, Admin: p.User.Role == gatehouse.RoleAdmin, SessionID: p.SessionID, IP: m.IP, UserAgent: m.UserAgent}
}

// userView is a user as the API shows it: the contract's fields and the user's groups.
type userView struct {
	*gatehouse.User
	Groups []string `json:"groups"`
}

// viewUser adds the user's groups (from the access service's cache) when groups are on.
func (s *Server) viewUser(r *http.Request, u *gatehouse.User) any {
	if s.access == nil {
		return u
	}
	g, err := s.access.UserGroups(r.Context(), u.ID)
	if err != nil {
		s.log.Error("reading a user's groups failed", "err", err)
	}
	if g == nil {
		g = []string{}
	}
	return userView{User: u, Groups: g}
}

func (s *Server) adminListGroups(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	gs, err := s.access.ListGroups(r.Context(), s.actor(r, p))
	if err != nil {
		return err
	}
	if gs == nil {
		gs = []*gatehouse.Group{}
	}
	writeJSON(w, http.StatusOK, list[*gatehouse.Group]{Items: gs})
	return nil
}

func (s *Server) adminCreateGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	g, err := s.access.CreateGroup(r.Context(), s.actor(r, p), req.Name, req.Description)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, g)
	return nil
}

// groupView is a group with its members.
type groupView struct {
	*gatehouse.Group
	MemberIDs []int64 `json:"member_ids"`
}

func (s *Server) adminGetGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	g, members, err := s.access.Group(r.Context(), s.actor(r, p), id)
	if err != nil {
		return err
	}
	if members == nil {
		members = []int64{}
	}
	writeJSON(w, http.StatusOK, groupView{Group: g, MemberIDs: members})
	return nil
}

func (s *Server) adminUpdateGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	g, err := s.access.UpdateGroup(r.Context(), s.actor(r, p), id, req.Name, req.Description)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *Server) adminDeleteGroup(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err == nil {
		err = s.access.DeleteGroup(r.Context(), s.actor(r, p), id)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminGroupMember(add bool) userHandler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		gid, err := pathID(r)
		if err != nil {
			return err
		}
		uid, err := auth.ParseID(r.PathValue("user_id"))
		if err != nil {
			return err
		}
		change := s.access.RemoveMember
		if add {
			change = s.access.AddMember
		}
		if _, err := change(r.Context(), s.actor(r, p), gid, uid); err != nil {
			return err
		}
		u, err := s.auth.Admin.UserByID(r.Context(), p, uid)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, s.viewUser(r, u))
		return nil
	}
}

func (s *Server) adminAccessRules(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	rules, err := s.access.Rules(r.Context(), s.actor(r, p))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": emptyLists(rules), "default_policy": s.access.DefaultPolicy().String()})
	return nil
}

func (s *Server) adminReplaceAccessRules(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Rules *[]gatehouse.AccessRule `json:"rules"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Rules == nil {
		return gatehouse.FieldError("rules", "rules is required (an empty list removes every rule)")
	}
	rules, err := s.access.ReplaceRules(r.Context(), s.actor(r, p), *req.Rules)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": emptyLists(rules), "default_policy": s.access.DefaultPolicy().String()})
	return nil
}

// emptyLists answers [] rather than null for lists a rule leaves empty.
func emptyLists(rules []gatehouse.AccessRule) []gatehouse.AccessRule {
	out := make([]gatehouse.AccessRule, len(rules))
	nz := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	for i, r := range rules {
		out[i] = gatehouse.AccessRule{Domains: nz(r.Domains), Paths: nz(r.Paths), Methods: nz(r.Methods), Networks: nz(r.Networks), Subjects: nz(r.Subjects), Policy: r.Policy}
	}
	return out
}

// adminTestAccess answers "which rule would decide this request, and how" for the console's
// test box: {"url", "method", "user", "ip"} -> {"rule", "policy", "answer"}.
func (s *Server) adminTestAccess(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		URL    string `json:"url"`
		Method string `json:"method"`
		User   string `json:"user"`
		IP     string `json:"ip"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := s.testAccess(r, p, req.URL, req.Method, req.User, req.IP)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// AccessTest is the outcome of a test request.
type AccessTest struct {
	Rule   any    `json:"rule"` // 1-based, or "default"
	Policy string `json:"policy"`
	Answer string `json:"answer"`
}

func (s *Server) testAccess(r *http.Request, p *auth.Principal, rawURL, method, login, ip string) (*AccessTest, error) {
	d, u, err := s.access.Explain(r.Context(), s.actor(r, p), rawURL, method, login, ip)
	if err != nil {
		return nil, err
	}
	return &AccessTest{Rule: ruleNumber(d.Rule), Policy: d.Policy.String(), Answer: answerText(d, u != nil, u != nil && u.MFAEnabled)}, nil
}

func ruleNumber(i int) any {
	if i < 0 {
		return "default"
	}
	return i + 1
}

func answerText(d access.Decision, signedIn, hasMFA bool) string {
	switch {
	case d.Policy == access.Bypass:
		return "200: let through without user headers"
	case d.Policy == access.Deny:
		return "403: denied"
	case !signedIn || d.NeedUser:
		return "401: sign in first (a browser is sent to the login page)"
	case d.Policy == access.TwoFactor && !hasMFA:
		return "401: needs a second factor, and this user has none set up yet"
	case d.Policy == access.TwoFactor:
		return "200 once the session has a second factor; a one-factor session is sent to the second-factor step first"
	}
	return "200 with Remote-User and Remote-Groups"
}
