package http

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// OIDCProvider is gatehouse's OpenID Provider (package oidcprovider): its protocol endpoints and
// pages, and the admin and account use cases served here as JSON.
type OIDCProvider interface {
	Mount(mux *http.ServeMux, kit PageKit) error
	ListClients(ctx context.Context, by *auth.Principal) ([]*gatehouse.OPClient, error)
	Client(ctx context.Context, by *auth.Principal, id string) (*gatehouse.OPClient, error)
	CreateClient(ctx context.Context, by *auth.Principal, in gatehouse.OPClientInput, meta auth.ClientMeta) (*gatehouse.OPClient, string, error)
	UpdateClient(ctx context.Context, by *auth.Principal, id string, in gatehouse.OPClientInput, meta auth.ClientMeta) (*gatehouse.OPClient, string, error)
	RotateSecret(ctx context.Context, by *auth.Principal, id string, meta auth.ClientMeta) (string, error)
	DeleteClient(ctx context.Context, by *auth.Principal, id string, meta auth.ClientMeta) error
	RotateKeys(ctx context.Context, by *auth.Principal, publish time.Duration, meta auth.ClientMeta) error
	Consents(ctx context.Context, by *auth.Principal) ([]*gatehouse.OPConsent, error)
	RevokeConsent(ctx context.Context, by *auth.Principal, clientID string, meta auth.ClientMeta) error
	// LaunchApps lists the clients with a launch URL that admit the user (My apps).
	LaunchApps(ctx context.Context, by *auth.Principal) ([]*gatehouse.OPClient, error)
	// AppOfReturn names the app whose pending sign-in rd goes back to, or "" when rd is no
	// sign-in of the provider: pages show the name instead of the provider's internal address.
	AppOfReturn(ctx context.Context, rd string) string
}

func (s *Server) providerRoutes() {
	if s.provider == nil {
		return
	}
	s.handle("GET /api/admin/oidc/clients", s.admin(s.adminListClients))
	s.handle("POST /api/admin/oidc/clients", s.admin(s.adminCreateClient))
	s.handle("GET /api/admin/oidc/clients/{id}", s.admin(s.adminGetClient))
	s.handle("PATCH /api/admin/oidc/clients/{id}", s.admin(s.adminUpdateClient))
	s.handle("DELETE /api/admin/oidc/clients/{id}", s.admin(s.adminDeleteClient))
	s.handle("POST /api/admin/oidc/clients/{id}/secret", s.admin(s.adminRotateClientSecret))
	s.handle("POST /api/admin/oidc/keys/rotate", s.admin(s.adminRotateKeys))
	s.handle("GET /api/account/apps", s.user(s.accountApps))
	s.handle("DELETE /api/account/apps/{client_id}", s.user(s.accountRevokeApp))
}

// clientView is a client as the API shows it: never its secret or the secret's hash.
type clientView struct {
	ClientID               string    `json:"client_id"`
	Name                   string    `json:"name"`
	RedirectURIs           []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris"`
	Public                 bool      `json:"public"`
	AllowedGroups          []string  `json:"allowed_groups"`
	SkipConsent            bool      `json:"skip_consent"`
	AccessTokenTTLSecs     int64     `json:"access_token_ttl_secs"`
	RefreshTokenTTLSecs    int64     `json:"refresh_token_ttl_secs"`
	LaunchURL              string    `json:"launch_url"`
	CreatedAt              time.Time `json:"created_at"`
	UpdatedAt              time.Time `json:"updated_at"`
	// ClientSecret is set only in the answer that created it.
	ClientSecret string `json:"client_secret,omitempty"`
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func viewClient(c *gatehouse.OPClient, secret string) clientView {
	return clientView{ClientID: c.ID, Name: c.Name, RedirectURIs: nonNil(c.RedirectURIs), PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs),
		Public: c.Public, AllowedGroups: nonNil(c.AllowedGroups), SkipConsent: c.SkipConsent,
		AccessTokenTTLSecs: int64(c.AccessTokenTTL / time.Second), RefreshTokenTTLSecs: int64(c.RefreshTokenTTL / time.Second),
		LaunchURL: c.LaunchURL, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, ClientSecret: secret}
}

func (s *Server) adminListClients(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	list, err := s.provider.ListClients(r.Context(), p)
	if err != nil {
		return err
	}
	items := make([]clientView, 0, len(list))
	for _, c := range list {
		items = append(items, viewClient(c, ""))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_page": nil})
	return nil
}

func (s *Server) adminCreateClient(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in gatehouse.OPClientInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, secret, err := s.provider.CreateClient(r.Context(), p, in, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, viewClient(c, secret))
	return nil
}

func (s *Server) adminGetClient(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	c, err := s.provider.Client(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewClient(c, ""))
	return nil
}

func (s *Server) adminUpdateClient(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in gatehouse.OPClientInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, secret, err := s.provider.UpdateClient(r.Context(), p, r.PathValue("id"), in, s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewClient(c, secret))
	return nil
}

func (s *Server) adminDeleteClient(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.provider.DeleteClient(r.Context(), p, r.PathValue("id"), s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminRotateClientSecret(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	secret, err := s.provider.RotateSecret(r.Context(), p, r.PathValue("id"), s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"client_id": r.PathValue("id"), "client_secret": secret})
	return nil
}

func (s *Server) adminRotateKeys(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var b struct {
		PublishSecs *int64 `json:"publish_secs"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &b); err != nil {
			return err
		}
	}
	publish := time.Hour
	if b.PublishSecs != nil {
		if *b.PublishSecs < 0 || *b.PublishSecs > 7*24*3600 {
			return gatehouse.FieldError("publish_secs", "must be between 0 and 604800")
		}
		publish = time.Duration(*b.PublishSecs) * time.Second
	}
	if err := s.provider.RotateKeys(r.Context(), p, publish, s.meta(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"rotated": true, "publish_secs": int64(publish / time.Second)})
	return nil
}

func (s *Server) accountApps(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	list, err := s.provider.Consents(r.Context(), p)
	if err != nil {
		return err
	}
	type item struct {
		ClientID  string    `json:"client_id"`
		Name      string    `json:"name"`
		Scopes    []string  `json:"scopes"`
		GrantedAt time.Time `json:"granted_at"`
	}
	items := make([]item, 0, len(list))
	for _, c := range list {
		items = append(items, item{ClientID: c.ClientID, Name: c.ClientName, Scopes: nonNil(c.Scopes), GrantedAt: c.GrantedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next_page": nil})
	return nil
}

func (s *Server) accountRevokeApp(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.provider.RevokeConsent(r.Context(), p, r.PathValue("client_id"), s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
