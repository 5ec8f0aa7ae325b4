package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// externalPages are the admin pages of external providers (templates/admin_provider*.html) and
// the page of the external-authentication verification link (external_verify.html).
var externalPages = []string{"admin_providers", "admin_provider", "admin_provider_delete", "external_verify"}

// externalData is the External identities section of the security page.
type externalData struct {
	Identities []auth.IdentityView
	// Linkable are the enabled providers the user has no identity with yet.
	Linkable []auth.Provider
}

func (p *pages) externalData(r *http.Request, pr *auth.Principal) (*externalData, error) {
	ids, err := p.auth.Account.Identities(r.Context(), pr)
	if err != nil {
		return nil, err
	}
	st, err := p.auth.SignIn.State(r.Context())
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, i := range ids {
		have[i.Provider] = true
	}
	d := &externalData{Identities: ids}
	for _, pv := range st.Providers {
		if !have[pv.ID] {
			d.Linkable = append(d.Linkable, pv)
		}
	}
	return d, nil
}

var externalNotices = map[string]string{
	"linked":   "The external identity is linked. You can now sign in with it.",
	"unlinked": "The external identity is unlinked.",
}

// securityLink starts linking an identity to the signed-in account. It is a POST so that the
// page's same-origin check applies: another site cannot start a link for a signed-in browser.
func (p *pages) securityLink(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	st, err := p.auth.SignIn.StartExternal(r.Context(), r.PathValue("provider"), "", pr, p.kit.Meta(r))
	if gatehouse.IsCode(err, gatehouse.EReauthRequired) {
		return p.renderReauth(w, r, pr, "link:"+r.PathValue("provider"), nil)
	}
	if err != nil {
		return err
	}
	p.kit.Cookies.SetExternal(w, st.BrowserToken)
	http.Redirect(w, r, st.RedirectURL, http.StatusSeeOther)
	return nil
}

func (p *pages) securityUnlink(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id, err := auth.ParseID(r.PathValue("id"))
	if err == nil {
		err = p.auth.Account.UnlinkIdentity(r.Context(), pr, id, p.kit.Meta(r))
	}
	if err == nil {
		p.redirect(w, r, "/settings/security?done=unlinked")
		return nil
	}
	if gatehouse.ErrorCode(err) == gatehouse.EConflict {
		// The refusal is shown on the page it came from, with its explanation.
		v, verr := p.securityView(r, pr)
		if verr != nil {
			return verr
		}
		v.Error = capitalize(err.(*gatehouse.Error).Message)
		p.render(w, http.StatusConflict, "security", v)
		return nil
	}
	return err
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

type providersData struct {
	Providers []*auth.ProviderView
	// RedirectBase is the redirect URI with a placeholder for the id, shown while creating.
	RedirectBase string
	// ClientSecretSet is false: the shared provider fields ask for a secret when creating.
	ClientSecretSet bool
}

func (p *pages) providersView(r *http.Request, pr *auth.Principal) (*view, error) {
	ps, err := p.auth.Providers.ListProviders(r.Context(), pr)
	if err != nil {
		return nil, err
	}
	return &view{Title: "External authentication", Nav: "providers", User: pr.User, Admin: true,
		Data: &providersData{Providers: ps, RedirectBase: redirectHint(p.auth.Core.RedirectURI(""))}, form: form{Form: map[string]string{"scopes": strings.Join(auth.DefaultScopes, " ")}}}, nil
}

func (p *pages) adminProviders(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.providersView(r, pr)
	if err != nil {
		return err
	}
	v.Notice = map[string]string{"deleted": "The provider is deleted.", "saved": "The provider is saved."}[r.URL.Query().Get("done")]
	p.render(w, http.StatusOK, "admin_providers", v)
	return nil
}

// providerForm reads the provider form. Checkboxes are sent only when ticked, so every boolean
// is set explicitly; an empty client secret keeps the stored one.
func providerForm(r *http.Request, create bool) auth.ProviderInput {
	f := r.PostForm
	str := func(k string) *string { v := f.Get(k); return &v }
	boolean := func(k string) *bool { v := f.Get(k) != ""; return &v }
	scopes := strings.Fields(f.Get("scopes"))
	domains := []string{f.Get("allowed_email_domains")}
	groups := []string{f.Get("default_groups")}
	in := auth.ProviderInput{Name: str("name"), Issuer: str("issuer"), ClientID: str("client_id"), ClientSecret: str("client_secret"),
		Scopes: &scopes, AutoBindVerifiedEmail: boolean("auto_bind_verified_email"), AutoCreateUsers: boolean("auto_create_users"), Enabled: boolean("enabled"),
		TokenAuthMethod: str("token_auth_method"), AllowedEmailDomains: &domains, DefaultGroups: &groups}
	if create && strings.TrimSpace(f.Get("id")) != "" {
		in.ID = str("id")
	}
	return in
}

func keepForm(r *http.Request, v *view) {
	v.keep(r, "id", "name", "issuer", "client_id", "scopes", "auto_bind_verified_email", "auto_create_users", "enabled",
		"token_auth_method", "allowed_email_domains", "default_groups")
}

func (p *pages) adminCreateProvider(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	pv, err := p.auth.Providers.CreateProvider(r.Context(), pr, providerForm(r, true), p.kit.Meta(r))
	if err == nil {
		p.redirect(w, r, "/admin/providers/"+pv.ID+"?done=created")
		return nil
	}
	if gatehouse.ErrorCode(err) == gatehouse.EInternal {
		return err
	}
	v, verr := p.providersView(r, pr)
	if verr != nil {
		return verr
	}
	keepForm(r, v)
	v.refuse(err)
	p.render(w, ghttpStatus(err), "admin_providers", v)
	return nil
}

func (p *pages) providerView(r *http.Request, pr *auth.Principal) (*view, error) {
	pv, err := p.auth.Providers.GetProvider(r.Context(), pr, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	f := map[string]string{"name": pv.Name, "issuer": pv.Issuer, "client_id": pv.ClientID, "scopes": strings.Join(pv.Scopes, " "),
		"token_auth_method": pv.TokenAuthMethod, "allowed_email_domains": strings.Join(pv.AllowedEmailDomains, " "),
		"default_groups": strings.Join(pv.DefaultGroups, " ")}
	for k, on := range map[string]bool{"auto_bind_verified_email": pv.AutoBindVerifiedEmail, "auto_create_users": pv.AutoCreateUsers, "enabled": pv.Enabled} {
		if on {
			f[k] = "1"
		}
	}
	return &view{Title: pv.Name, Nav: "providers", User: pr.User, Admin: true, Data: pv, form: form{Form: f}}, nil
}

func (p *pages) adminProvider(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.providerView(r, pr)
	if err != nil {
		return err
	}
	v.Notice = map[string]string{
		"created": "The provider is saved. Register the redirect URI below at the provider.",
		"saved":   "The provider is saved.",
	}[r.URL.Query().Get("done")]
	p.render(w, http.StatusOK, "admin_provider", v)
	return nil
}

func (p *pages) adminSaveProvider(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id := r.PathValue("id")
	_, err := p.auth.Providers.UpdateProvider(r.Context(), pr, id, providerForm(r, false), p.kit.Meta(r))
	if err == nil {
		p.redirect(w, r, "/admin/providers/"+id+"?done=saved")
		return nil
	}
	if c := gatehouse.ErrorCode(err); c == gatehouse.EInternal || c == gatehouse.ENotFound {
		return err
	}
	v, verr := p.providerView(r, pr)
	if verr != nil {
		return verr
	}
	keepForm(r, v)
	v.refuse(err)
	p.render(w, ghttpStatus(err), "admin_provider", v)
	return nil
}

func (p *pages) adminToggleProvider(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	on := r.PostForm.Get("enabled") == "1"
	if _, err := p.auth.Providers.UpdateProvider(r.Context(), pr, r.PathValue("id"), auth.ProviderInput{Enabled: &on}, p.kit.Meta(r)); err != nil {
		return err
	}
	p.redirect(w, r, "/admin/providers?done=saved")
	return nil
}

func (p *pages) adminDeleteProviderPage(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.providerView(r, pr)
	if err != nil {
		return err
	}
	v.Title = "Delete " + v.Data.(*auth.ProviderView).Name
	p.render(w, http.StatusOK, "admin_provider_delete", v)
	return nil
}

func (p *pages) adminDeleteProviderSubmit(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	id := r.PathValue("id")
	if r.PostForm.Get("confirm") != "yes" {
		p.redirect(w, r, "/admin/providers/"+id+"/delete")
		return nil
	}
	if err := p.auth.Providers.DeleteProvider(r.Context(), pr, id, p.kit.Meta(r)); err != nil {
		return err
	}
	p.redirect(w, r, "/admin/providers?done=deleted")
	return nil
}
