package http

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

const perPage = 50

// page reads ?page= (from 1); anything else is invalid input.
func page(r *http.Request) (int, error) {
	v := r.URL.Query().Get("page")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, gatehouse.FieldError("page", "page must be a whole number from 1")
	}
	return n, nil
}

func nextPage(cur int, more bool) *int {
	if !more {
		return nil
	}
	n := cur + 1
	return &n
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query().Get("query")
	if len(q) > 254 {
		return gatehouse.FieldError("query", "query is too long")
	}
	var users []*gatehouse.User
	var more bool
	if g := r.URL.Query().Get("group"); g != "" && s.access != nil {
		// ?group=NAME: that group's members, in one page (docs/access-control.md).
		users, err = s.access.MembersByName(r.Context(), s.actor(r, p), g)
	} else {
		users, more, err = s.auth.Admin.ListUsers(r.Context(), p, q, pg, perPage)
	}
	if err != nil {
		return err
	}
	items := make([]any, len(users))
	for i, u := range users {
		items[i] = s.viewUser(r, u)
	}
	writeJSON(w, http.StatusOK, list[any]{Items: items, NextPage: nextPage(pg, more)})
	return nil
}

func (s *Server) adminCreateUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
		Role     string `json:"role"`
		// Language: the account's; empty takes this request's (cookie, else Accept-Language).
		Language string `json:"language"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u, err := s.auth.Admin.CreateUser(r.Context(), p, auth.CreateUserRequest{Username: req.Username, Email: req.Email, Password: req.Password,
		Role: gatehouse.Role(req.Role), Language: req.Language}, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func pathID(r *http.Request) (int64, error) { return auth.ParseID(r.PathValue("id")) }

func (s *Server) adminGetUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err == nil {
		var u *gatehouse.User
		if u, err = s.auth.Admin.UserByID(r.Context(), p, id); err == nil {
			writeJSON(w, http.StatusOK, s.viewUser(r, u))
			return nil
		}
	}
	return err
}

func (s *Server) adminUpdateUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req struct {
		Role     *string `json:"role"`
		Disabled *bool   `json:"disabled"`
		Email    *string `json:"email"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	patch := auth.UserPatch{Disabled: req.Disabled, Email: req.Email}
	if req.Role != nil {
		role := gatehouse.Role(*req.Role)
		patch.Role = &role
	}
	u, err := s.auth.Admin.UpdateUser(r.Context(), p, id, patch, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewUser(r, u))
	return nil
}

func (s *Server) adminDeleteUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err == nil {
		err = s.auth.Admin.DeleteUser(r.Context(), p, id, s.meta(r))
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminResetPassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req struct {
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.auth.Admin.ResetPassword(r.Context(), p, id, req.Password, s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminUserSessions(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	items, err := s.auth.Admin.UserSessions(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionsView(items))
	return nil
}

func (s *Server) adminRevokeSession(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.auth.Admin.AdminRevokeSession(r.Context(), p, r.PathValue("id"), s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type settingsResponse struct {
	Settings map[string]any         `json:"settings"`
	Schema   []gatehouse.SettingDef `json:"schema"`
	Secrets  map[string]bool        `json:"secrets_set"`
	// Warnings name combinations that are valid but will not work as intended.
	Warnings []string `json:"warnings,omitempty"`
}

func (s *Server) settingsBody(st *gatehouse.Settings) settingsResponse {
	def := s.auth.Core.CookieSecureDefault()
	resp := settingsResponse{Settings: st.Public(def), Schema: gatehouse.SettingDefs(def), Secrets: map[string]bool{}}
	for _, d := range resp.Schema {
		if d.Type == gatehouse.TypeSecret {
			resp.Secrets[d.Key] = st.Raw(d.Key) != ""
		}
	}
	resp.Warnings = st.Warnings()
	return resp
}

func (s *Server) adminSettings(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	st, err := s.auth.Admin.Settings(p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.settingsBody(st))
	return nil
}

func (s *Server) adminPatchSettings(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var patch map[string]json.RawMessage
	if err := decode(w, r, &patch); err != nil {
		return err
	}
	if err := s.auth.Admin.PatchSettings(r.Context(), p, settingsPatch(patch), s.meta(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.settingsBody(s.auth.Core.Settings()))
	return nil
}

func (s *Server) adminEvents(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	f := gatehouse.EventFilter{Kind: r.URL.Query().Get("kind"), Offset: (pg - 1) * perPage, Limit: perPage}
	if u := r.URL.Query().Get("user"); u != "" {
		id, err := strconv.ParseInt(u, 10, 64)
		if err != nil {
			return gatehouse.FieldError("user", "user must be a user id")
		}
		f.UserID = &id
	}
	events, more, err := s.auth.Admin.Events(r.Context(), p, f)
	if err != nil {
		return err
	}
	if events == nil {
		events = []*gatehouse.Event{}
	}
	writeJSON(w, http.StatusOK, list[*gatehouse.Event]{Items: events, NextPage: nextPage(pg, more)})
	return nil
}

// settingsPatch types the JSON values of a settings change as gatehouse.SettingsPatch wants them:
// true and false, whole numbers, strings. Anything else (null, 1.5, "600" for a number, an
// object) is passed on as it is, and the validation refuses it naming the setting: the API
// promises JSON types and converts nothing.
func settingsPatch(raw map[string]json.RawMessage) gatehouse.SettingsPatch {
	out := gatehouse.SettingsPatch{}
	for k, v := range raw {
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			out[k] = nil
			continue
		}
		if n, ok := x.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				x = i
			}
		}
		out[k] = x
	}
	return out
}
