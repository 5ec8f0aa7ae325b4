package http

import (
	"fmt"
	"net/url"
	"strings"
)

// Links is the one place that knows the addresses auth hands out (it implements auth.Links):
// links in mail, the callback registered at OpenID providers, and where a finished flow returns
// to. Every path here is a route of routes.go or of the pages (web/); all absolute addresses are
// built on server.public_url, never on a request's Host.
type Links struct{ public *url.URL }

// NewLinks builds the links of the site at public (server.public_url; nil when unset).
func NewLinks(public *url.URL) Links { return Links{public: public} }

// Activation is the page that activates a registered account.
func (l Links) Activation(tok string) (string, error) { return l.withToken("/activate", tok) }

// PasswordReset is the page that sets a new password.
func (l Links) PasswordReset(tok string) (string, error) { return l.withToken("/recover/reset", tok) }

// EmailChange is the page that confirms a new address.
func (l Links) EmailChange(tok string) (string, error) {
	return l.withToken("/settings/email/confirm", tok)
}

// ExternalVerify is the page that confirms linking an external identity to an existing account.
func (l Links) ExternalVerify(tok string) (string, error) {
	return l.withToken("/login/external/verify", tok)
}

// RegistrationNotice is the sign-in page, linked from the mail that tells an address's owner
// that someone tried to register with it.
func (l Links) RegistrationNotice(tok string) (string, error) { return l.withToken("/login", tok) }

// Invitation is the page where an invitee makes an account.
func (l Links) Invitation(tok string) (string, error) { return l.withToken("/invite", tok) }

// OIDCCallback is the redirect URI of a provider (GET /api/auth/oidc/{provider}/callback); a
// relative path when no public URL is set, as a hint for the admin page.
func (l Links) OIDCCallback(providerID string) string {
	if l.public == nil {
		return "/api/auth/oidc/" + providerID + "/callback"
	}
	return strings.TrimSuffix(l.public.String(), "/") + "/api/auth/oidc/" + url.PathEscape(providerID) + "/callback"
}

// IdentityLinked is where linking an identity from Settings returns to (a relative address).
func (l Links) IdentityLinked() string { return "/settings/security?done=linked" }

// withToken is public_url + path with the token as the one query parameter.
func (l Links) withToken(path, tok string) (string, error) {
	if l.public == nil || l.public.Host == "" {
		return "", fmt.Errorf("server.public_url is not set: cannot build links for mail")
	}
	u := *l.public
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = url.Values{"token": {tok}}.Encode()
	u.Fragment = ""
	return u.String(), nil
}
