package http

import (
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/mail"
)

// Mail flows: registration and activation, password recovery, email change, and the admin's
// view of mail delivery.

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
		Language string `json:"language"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	// The account's language: the one asked for, else the request's Accept-Language.
	if req.Language == "" {
		req.Language = r.Header.Get("Accept-Language")
	}
	res, err := s.auth.Mail.Register(r.Context(), auth.RegisterRequest{Username: req.Username, Email: req.Email, Password: req.Password, Language: req.Language}, s.meta(r))
	if err != nil {
		return err
	}
	return s.registered(w, r, res)
}

// registered answers a registration (public or through an invitation).
func (s *Server) registered(w http.ResponseWriter, r *http.Request, res *auth.RegisterResult) error {
	if res.Tokens != nil {
		// No activation needed: signed in at once (seed 004), like POST /api/auth/login.
		s.cookies.SetSession(w, res.Tokens)
		writeJSON(w, http.StatusCreated, registeredResponse{Status: "active", tokenResponse: s.tokens(r, res.Tokens)})
		return nil
	}
	status := "active"
	if res.ActivationRequired {
		status = "activation_required"
	}
	// 202 on every registration that needs activation, also when the address was already in use
	// (see auth.Register): the answer must not tell the two apart.
	writeJSON(w, http.StatusAccepted, map[string]string{"status": status})
	return nil
}

func (s *Server) activate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u, err := s.auth.Mail.Activate(r.Context(), req.Token, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "activated", "username": u.Username})
	return nil
}

func (s *Server) resendActivation(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Login string `json:"login"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.auth.Mail.ResendActivation(r.Context(), req.Login, s.meta(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
	return nil
}

func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email string `json:"email"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.auth.Mail.ForgotPassword(r.Context(), req.Email, s.meta(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
	return nil
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.auth.Mail.ResetPasswordWithLink(r.Context(), req.Token, req.Password, s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) accountEmail(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.auth.Mail.RequestEmailChange(r.Context(), p, req.Email, req.Password, s.meta(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "confirmation_sent"})
	return nil
}

// accountEmailConfirm needs no session: the link is the proof (auth.ConfirmEmailChange).
func (s *Server) accountEmailConfirm(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u, err := s.auth.Mail.ConfirmEmailChange(r.Context(), req.Token, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "changed", "email": u.Email})
	return nil
}

func (s *Server) adminMailTest(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		To string `json:"to"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	resp, err := s.auth.Admin.SendTestMail(r.Context(), p, req.To, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sent": true, "server_response": resp})
	return nil
}

func (s *Server) adminMailOutbox(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	items, more, err := s.auth.Admin.Outbox(r.Context(), p, r.URL.Query().Get("status"), pg, perPage)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*gatehouse.OutboxMail{}
	}
	writeJSON(w, http.StatusOK, struct {
		list[*gatehouse.OutboxMail]
		Configured bool `json:"mail_configured"`
	}{list[*gatehouse.OutboxMail]{Items: items, NextPage: nextPage(pg, more)}, s.auth.Core.MailConfigured()})
	return nil
}

func (s *Server) adminMailRetry(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return gatehouse.Errorf(gatehouse.ENotFound, "no such mail")
	}
	if err := s.auth.Admin.RetryMail(r.Context(), p, id, s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminPendingUsers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	users, more, err := s.auth.Admin.PendingUsers(r.Context(), p, pg, perPage)
	if err != nil {
		return err
	}
	if users == nil {
		users = []*gatehouse.User{}
	}
	writeJSON(w, http.StatusOK, list[*gatehouse.User]{Items: users, NextPage: nextPage(pg, more)})
	return nil
}

func (s *Server) adminResendActivation(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := auth.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.auth.Admin.AdminResendActivation(r.Context(), p, id, s.meta(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent"})
	return nil
}

// registeredResponse is a registration that signed in: the tokens of POST /api/auth/login and
// the account's status.
type registeredResponse struct {
	Status string `json:"status"`
	tokenResponse
}

func (s *Server) adminMailTemplates(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	items, err := s.auth.Admin.MailTemplates(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[*auth.MailTemplateView]{Items: items})
	return nil
}

func (s *Server) adminMailTemplate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.auth.Admin.MailTemplate(r.Context(), p, r.PathValue("kind"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) adminSaveMailTemplate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var t mail.Template
	if err := decode(w, r, &t); err != nil {
		return err
	}
	v, err := s.auth.Admin.SaveMailTemplate(r.Context(), p, r.PathValue("kind"), t, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) adminResetMailTemplate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.auth.Admin.ResetMailTemplate(r.Context(), p, r.PathValue("kind"), s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) adminPreviewMailTemplate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var t mail.Template
	if err := decode(w, r, &t); err != nil {
		return err
	}
	out, err := s.auth.Admin.PreviewMailTemplate(r.Context(), p, r.PathValue("kind"), t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
