package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	ghttp "github.com/gatehouse/gatehouse/http"
)

// Apps that sign in through gatehouse as an OpenID Provider (docs/oidc-provider.md): the admin
// page (templates/admin_apps.html) and the security page's "Apps you signed in to"
// (templates/part_apps.html). Both exist only when Deps.Provider is set.

var appPages = []string{"admin_apps"}

// keyPublishDelay is how long new signing keys are published before they sign.
const keyPublishDelay = time.Hour

type appsData struct {
	Apps []*gatehouse.OPClient
	// Secret is shown once, right after it was made, for SecretFor.
	Secret, SecretFor string
	Issuer            string
	// LaunchFor is the app whose launch URL form was refused: it opens again with LaunchValue,
	// the error next to its field (Errors["<id>:launch_url"]).
	LaunchFor, LaunchValue string
}

func (p *pages) appsView(r *http.Request, pr *auth.Principal) (*view, error) {
	list, err := p.provider.ListClients(r.Context(), pr)
	if err != nil {
		return nil, err
	}
	return &view{Title: "Apps", Nav: "apps", User: pr.User, Admin: true, Data: &appsData{Apps: list, Issuer: p.public.String()}}, nil
}

var appNotices = map[string]string{"deleted": "The app is deleted; its tokens no longer work.", "keys": "New signing keys are published; they sign in an hour.",
	"launch": "The launch URL is saved: My apps shows it to the users the app admits."}

func (p *pages) adminApps(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v, err := p.appsView(r, pr)
	if err != nil {
		return err
	}
	v.Notice = appNotices[r.URL.Query().Get("done")]
	p.render(w, http.StatusOK, "admin_apps", v)
	return nil
}

// lines splits a textarea into its non-empty lines (URIs, groups).
func lines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func appForm(r *http.Request) gatehouse.OPClientInput {
	f := r.PostForm
	str := func(k string) *string { v := strings.TrimSpace(f.Get(k)); return &v }
	list := func(k string) *[]string { v := lines(f.Get(k)); return &v }
	boolean := func(k string) *bool { v := f.Get(k) != ""; return &v }
	in := gatehouse.OPClientInput{ClientID: str("client_id"), Name: str("name"), RedirectURIs: list("redirect_uris"),
		PostLogoutRedirectURIs: list("post_logout_redirect_uris"), AllowedGroups: list("allowed_groups"),
		Public: boolean("public"), SkipConsent: boolean("skip_consent"), LaunchURL: str("launch_url")}
	if n, err := strconv.ParseInt(f.Get("access_token_ttl_secs"), 10, 64); err == nil {
		in.AccessTokenTTLSecs = &n
	}
	return in
}

func (p *pages) adminCreateApp(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	c, secret, err := p.provider.CreateClient(r.Context(), pr, appForm(r), p.kit.Meta(r))
	if err != nil && gatehouse.ErrorCode(err) == gatehouse.EInternal {
		return err
	}
	v, verr := p.appsView(r, pr)
	if verr != nil {
		return verr
	}
	if err != nil {
		v.refuse(err)
		v.keep(r, "name", "client_id", "launch_url", "redirect_uris", "post_logout_redirect_uris", "allowed_groups", "public", "skip_consent")
		p.render(w, ghttp.StatusOf(gatehouse.ErrorCode(err)), "admin_apps", v)
		return nil
	}
	d := v.Data.(*appsData)
	d.Secret, d.SecretFor = secret, c.ID
	v.Notice = "The app " + c.Name + " is registered."
	p.render(w, http.StatusOK, "admin_apps", v)
	return nil
}

func (p *pages) adminRotateAppSecret(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	secret, err := p.provider.RotateSecret(r.Context(), pr, r.PathValue("id"), p.kit.Meta(r))
	if err != nil {
		return err
	}
	v, err := p.appsView(r, pr)
	if err != nil {
		return err
	}
	d := v.Data.(*appsData)
	d.Secret, d.SecretFor = secret, r.PathValue("id")
	v.Notice = "A new secret is made; the old one no longer works."
	p.render(w, http.StatusOK, "admin_apps", v)
	return nil
}

func (p *pages) adminDeleteApp(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	if r.PostForm.Get("confirm") == "" {
		p.errorPage(w, r, http.StatusBadRequest, "Tick the box to confirm that the app and its sign-ins go.")
		return nil
	}
	if err := p.provider.DeleteClient(r.Context(), pr, r.PathValue("id"), p.kit.Meta(r)); err != nil {
		return err
	}
	p.redirect(w, r, "/admin/apps?done=deleted")
	return nil
}

// adminAppLaunchURL sets or clears (empty) an app's launch URL from its row of the list.
func (p *pages) adminAppLaunchURL(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	v := strings.TrimSpace(r.PostForm.Get("launch_url"))
	_, _, err := p.provider.UpdateClient(r.Context(), pr, r.PathValue("id"), gatehouse.OPClientInput{LaunchURL: &v}, p.kit.Meta(r))
	if err == nil {
		p.redirect(w, r, "/admin/apps?done=launch")
		return nil
	}
	if code := gatehouse.ErrorCode(err); code == gatehouse.EInternal || code == gatehouse.ENotFound {
		return err
	}
	view, verr := p.appsView(r, pr)
	if verr != nil {
		return verr
	}
	d := view.Data.(*appsData)
	d.LaunchFor, d.LaunchValue = r.PathValue("id"), v
	// Next to the field of that app's row: "<id>:launch_url".
	view.refuseAs(d.LaunchFor+":", err)
	p.render(w, ghttp.StatusOf(gatehouse.ErrorCode(err)), "admin_apps", view)
	return nil
}

func (p *pages) adminRotateKeys(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	if err := p.provider.RotateKeys(r.Context(), pr, keyPublishDelay, p.kit.Meta(r)); err != nil {
		return err
	}
	p.redirect(w, r, "/admin/apps?done=keys")
	return nil
}

func (p *pages) securityRevokeApp(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	if err := p.provider.RevokeConsent(r.Context(), pr, r.PathValue("id"), p.kit.Meta(r)); err != nil {
		return err
	}
	p.redirect(w, r, "/settings/security?done=app_revoked")
	return nil
}

// appsOfUser is the security page's "Apps you signed in to" (nil without a provider).
func (p *pages) appsOfUser(r *http.Request, pr *auth.Principal) ([]*gatehouse.OPConsent, error) {
	if p.provider == nil {
		return nil, nil
	}
	return p.provider.Consents(r.Context(), pr)
}
