package http

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/gatehouse/gatehouse/access"
	"github.com/gatehouse/gatehouse/auth"
)

// MyApp is one app of a user's "My apps" (docs/access-control.md, "My apps"): the security
// page shows it as a tile, GET /api/account/my-apps as JSON.
type MyApp struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// Policy is what opening an access rule's app asks: one_factor, two_factor or bypass. An
	// OpenID Provider client has none: the app itself asks for what it needs when it signs in.
	Policy string `json:"policy,omitempty"`
	// ClientID is set for an OpenID Provider client.
	ClientID string `json:"client_id,omitempty"`
}

// MyApps lists the apps the user may open: the access rules' apps in rule order, then the
// OpenID Provider's clients with a launch URL that admit the user, by name. An address listed
// already is not listed again (a client behind forward auth too keeps its rule's policy). acc
// or prov may be nil.
func MyApps(ctx context.Context, acc *access.Service, prov OIDCProvider, p *auth.Principal, ip netip.Addr) ([]MyApp, error) {
	out := []MyApp{}
	seen := map[string]bool{}
	if acc != nil {
		apps, err := acc.AppsFor(ctx, p.User, ip)
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			out = append(out, MyApp{Name: a.Name, URL: a.URL, Policy: a.Policy.String()})
			seen[a.URL] = true
		}
	}
	if prov != nil {
		clients, err := prov.LaunchApps(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, c := range clients {
			if !seen[c.LaunchURL] {
				out = append(out, MyApp{Name: c.Name, URL: c.LaunchURL, ClientID: c.ID})
				seen[c.LaunchURL] = true
			}
		}
	}
	return out, nil
}

func (s *Server) myAppsRoutes() {
	if s.access == nil && s.provider == nil {
		return
	}
	s.handle("GET /api/account/my-apps", s.user(s.accountMyApps))
}

// accountMyApps lists the apps the user may open: {"apps": [{"name", "url", "policy" or
// "client_id"}]}.
func (s *Server) accountMyApps(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ip, _ := netip.ParseAddr(s.meta(r).IP)
	apps, err := MyApps(r.Context(), s.access, s.provider, p, ip)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": apps})
	return nil
}
