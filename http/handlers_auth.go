package http

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/http/jsonbody"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		s.log.Warn("not ready: store unreachable", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": "store unreachable", "detail": s.readyDetail()})
		return nil
	}
	if s.writable != nil {
		if err := s.writable(ctx); err != nil {
			s.log.Warn("not ready: the store refuses writes", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": "store not writable", "detail": s.readyDetail()})
			return nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "detail": s.readyDetail()})
	return nil
}

func (s *Server) readyDetail() map[string]string {
	if s.detail == nil {
		return map[string]string{}
	}
	return s.detail()
}

func (s *Server) state(w http.ResponseWriter, r *http.Request) error {
	st, err := s.auth.SignIn.State(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stateView(st))
	return nil
}

// tokenResponse is the answer to every completed sign-in or refresh.
type tokenResponse struct {
	// User is a user as every API answer shows it, with its groups (viewUser).
	User         any    `json:"user"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	// DeviceToken is for clients without a cookie jar: sent back as device_token with later
	// sign-ins, it marks them as a known device (browsers get the gatehouse_device cookie).
	DeviceToken string `json:"device_token,omitempty"`
}

// tokens is the token answer for t.
func (s *Server) tokens(r *http.Request, t *auth.Tokens) tokenResponse {
	return tokenResponse{User: s.viewUser(r, t.User), AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
		TokenType: "Bearer", ExpiresIn: int64(t.ExpiresIn / time.Second), DeviceToken: t.DeviceToken}
}

// cookiePrincipal authenticates the session cookie alone.
func (s *Server) cookiePrincipal(r *http.Request) (*auth.Principal, error) {
	p := new(auth.Principal)
	if err := s.cookiePrincipalTo(r, p); err != nil {
		return nil, err
	}
	return p, nil
}

// cookiePrincipalTo is cookiePrincipal filling *p.
func (s *Server) cookiePrincipalTo(r *http.Request, p *auth.Principal) error {
	c, ok := sessionCookie(r)
	if !ok {
		return gatehouse.Errorf(gatehouse.EUnauthorized, "not signed in")
	}
	return s.auth.Core.AuthenticateCookieTo(r.Context(), c, func() auth.ClientMeta { return s.meta(r) }, p)
}

// signedIn sets the session cookie and answers with the tokens.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request, status int, t *auth.Tokens) {
	s.cookies.SetSession(w, t)
	writeJSON(w, status, s.tokens(r, t))
}

func (s *Server) setupAdmin(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t, err := s.auth.SignIn.SetupAdmin(r.Context(), auth.SetupRequest{Username: req.Username, Email: req.Email, Password: req.Password, Language: r.Header.Get("Accept-Language")}, s.meta(r))
	if err != nil {
		return err
	}
	s.signedIn(w, r, http.StatusCreated, t)
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Login string `json:"login"`
		// Username is RustyFile's name for the same field (seed 001).
		Username     string `json:"username"`
		Password     string `json:"password"`
		StaySignedIn bool   `json:"stay_signed_in"`
		// DeviceToken is the device_token of an earlier sign-in, for clients without cookies.
		DeviceToken string `json:"device_token"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.DeviceToken == "" {
		req.DeviceToken = DeviceToken(r)
	}
	if req.Login != "" && req.Username != "" {
		return gatehouse.FieldError("username", "send either login or username, not both")
	}
	if req.Login == "" {
		req.Login = req.Username
	}
	t, err := s.auth.SignIn.Login(r.Context(), auth.LoginRequest{Login: req.Login, Password: req.Password, StaySignedIn: req.StaySignedIn, Device: req.DeviceToken}, s.meta(r))
	if err != nil {
		return err
	}
	if t.MFA != nil {
		writeMFARequired(w, t.MFA)
		return nil
	}
	s.signedIn(w, r, http.StatusOK, t)
	return nil
}

// refresh takes a refresh token in the body; or, with no body, a Bearer access token (seed 001,
// RustyFile's shape), answered with a new access token for the same session and no refresh token.
// The second form sets no cookie: it is for scripts and apps.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return jsonbody.Error(err)
	}
	if len(bytes.TrimSpace(body)) == 0 && r.Header.Get("Authorization") == "" {
		return gatehouse.Errorf(gatehouse.EInvalid, "send {\"refresh_token\": ...} as JSON, or no body and the access token as \"Authorization: Bearer <access token>\"")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		p, err := s.authenticate(r)
		var t *auth.Tokens
		if err == nil {
			t, err = s.auth.Core.RefreshAccess(r.Context(), p, s.meta(r))
		}
		if err != nil {
			return err
		}
		tr := s.tokens(r, t)
		tr.RefreshToken = ""
		writeJSON(w, http.StatusOK, tr)
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t, err := s.auth.Core.Refresh(r.Context(), req.RefreshToken, s.meta(r))
	if err != nil {
		return err
	}
	s.signedIn(w, r, http.StatusOK, t)
	return nil
}

// logout ends the session behind the credential, if any, and always clears the cookie: even when
// the database did not take the revocation (503 store_unavailable), this instance refuses the
// session already and the revocation is queued.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if p, err := s.authenticate(r); err == nil {
		if err := s.auth.Core.Logout(r.Context(), p, s.meta(r)); err != nil {
			if gatehouse.IsCode(err, gatehouse.EStoreUnavailable) {
				s.cookies.ClearSession(w)
			}
			return err
		}
	}
	s.cookies.ClearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// authenticate finds the principal from a Bearer token, else the session cookie.
func (s *Server) authenticate(r *http.Request) (*auth.Principal, error) {
	p := new(auth.Principal)
	if err := s.authenticateTo(r, p); err != nil {
		return nil, err
	}
	return p, nil
}

// authenticateTo is authenticate filling *p: the request check keeps its principal on the
// stack, one allocation fewer on the path that answers every request of the protected apps.
func (s *Server) authenticateTo(r *http.Request, p *auth.Principal) error {
	if a := headerValue1(r.Header, "Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return gatehouse.Errorf(gatehouse.EUnauthorized, "the Authorization header must be \"Bearer <access token>\"")
		}
		return s.auth.Core.AuthenticateBearerTo(r.Context(), strings.TrimSpace(tok), func() auth.ClientMeta { return s.meta(r) }, p)
	}
	return s.cookiePrincipalTo(r, p)
}

// userHandler is a handler for a signed-in user; like handlerFunc it returns its error.
type userHandler func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error

// user wraps a handler that needs a signed-in user.
func (s *Server) user(h userHandler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.authenticate(r)
		if err != nil {
			return err
		}
		return h(w, r, p)
	}
}

// admin wraps a handler that needs an administrator.
func (s *Server) admin(h userHandler) handlerFunc {
	return s.user(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		if p.User.Role != gatehouse.RoleAdmin {
			return gatehouse.Errorf(gatehouse.EForbidden, "administrators only")
		}
		return h(w, r, p)
	})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	via := "bearer"
	if p.ViaCookie {
		via = "cookie"
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": s.viewUser(r, p.User), "session": map[string]any{"id": p.SessionID, "via": via}})
	return nil
}
