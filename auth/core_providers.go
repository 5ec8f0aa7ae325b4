package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/oidc"
)

// RedirectURI is the callback address to register at the provider.
func (s *providerDir) RedirectURI(providerID string) string { return s.links.OIDCCallback(providerID) }

func (s *providerDir) needRP() error {
	if s.rp == nil {
		return gatehouse.Errorf(gatehouse.EInternal, "external sign-in is not configured on this server")
	}
	return nil
}

// loginProviders are the enabled providers the login page offers.
func (s *providerDir) loginProviders(ctx context.Context) []Provider {
	out := []Provider{}
	if s.rp == nil {
		return out
	}
	ps, err := s.store.ListProviders(ctx)
	if err != nil {
		// The login page still works for passwords when the list cannot be read.
		s.log.Error("listing external providers failed", "err", err)
		return out
	}
	for _, p := range ps {
		if p.Enabled {
			out = append(out, Provider{ID: p.ID, Name: p.Name})
		}
	}
	return out
}

// rpConfig opens the sealed client secret. A secret sealed under another mfa_secret_key is a
// configuration problem the admin must fix: logged, and said plainly.
func (s *providerDir) rpConfig(ctx context.Context, p *gatehouse.OIDCProvider, meta ClientMeta) (oidc.Config, error) {
	secret, err := s.rp.Open(p.ID, p.ClientSecretSealed)
	if err != nil {
		s.log.Error("the client secret of an external provider cannot be decrypted: auth.mfa_secret_key changed since it was saved; an administrator must enter the client secret again",
			"provider", p.ID)
		s.core.event(ctx, gatehouse.EventLoginExternalFailed, 0, "", meta, map[string]any{"provider": p.ID, "reason": "client_secret_undecryptable"})
		return oidc.Config{}, gatehouse.Errorf(gatehouse.EProvider,
			"sign-in with %s is misconfigured on this server (its client secret cannot be decrypted); an administrator must enter the client secret again", p.Name)
	}
	return oidc.Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: secret, RedirectURL: s.RedirectURI(p.ID), Scopes: p.Scopes,
		AuthMethod: authMethod(p.TokenAuthMethod)}, nil
}
