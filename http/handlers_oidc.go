package http

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// providerBody is the JSON of POST and PATCH /api/admin/providers; nil fields are unchanged.
type providerBody struct {
	ID                    *string   `json:"id"`
	Name                  *string   `json:"name"`
	Issuer                *string   `json:"issuer"`
	ClientID              *string   `json:"client_id"`
	ClientSecret          *string   `json:"client_secret"`
	Scopes                *[]string `json:"scopes"`
	AutoBindVerifiedEmail *bool     `json:"auto_bind_verified_email"`
	AutoCreateUsers       *bool     `json:"auto_create_users"`
	AllowedEmailDomains   *[]string `json:"allowed_email_domains"`
	DefaultGroups         *[]string `json:"default_groups"`
	TokenAuthMethod       *string   `json:"token_auth_method"`
	Enabled               *bool     `json:"enabled"`
}

func (b providerBody) input() auth.ProviderInput {
	return auth.ProviderInput{ID: b.ID, Name: b.Name, Issuer: b.Issuer, ClientID: b.ClientID, ClientSecret: b.ClientSecret,
		Scopes: b.Scopes, AutoBindVerifiedEmail: b.AutoBindVerifiedEmail, AutoCreateUsers: b.AutoCreateUsers, Enabled: b.Enabled,
		AllowedEmailDomains: b.AllowedEmailDomains, DefaultGroups: b.DefaultGroups, TokenAuthMethod: b.TokenAuthMethod}
}

func (s *Server) adminListProviders(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ps, err := s.auth.Providers.ListProviders(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, providersView(ps))
	return nil
}

func (s *Server) adminCreateProvider(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var b providerBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	v, err := s.auth.Providers.CreateProvider(r.Context(), p, b.input(), s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, providerView(v))
	return nil
}

func (s *Server) adminGetProvider(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.auth.Providers.GetProvider(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, providerView(v))
	return nil
}

func (s *Server) adminUpdateProvider(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var b providerBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	v, err := s.auth.Providers.UpdateProvider(r.Context(), p, r.PathValue("id"), b.input(), s.meta(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, providerView(v))
	return nil
}

func (s *Server) adminDeleteProvider(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.auth.Providers.DeleteProvider(r.Context(), p, r.PathValue("id"), s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) accountIdentities(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ids, err := s.auth.Account.Identities(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, identitiesView(ids))
	return nil
}

func (s *Server) accountUnlinkIdentity(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err == nil {
		err = s.auth.Account.UnlinkIdentity(r.Context(), p, id, s.meta(r))
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// externalStart sends the browser to the provider. It is a GET (a link on the login page) and
// only ever signs in; linking an identity to the signed-in account starts from a same-origin
// POST on the security page, so another site cannot make a signed-in browser link an identity.
func (s *Server) externalStart(w http.ResponseWriter, r *http.Request) error {
	st, err := s.auth.SignIn.StartExternal(r.Context(), r.PathValue("provider"), r.URL.Query().Get("rd"), nil, s.meta(r))
	if err != nil {
		return s.externalError(w, r, err)
	}
	s.cookies.SetExternal(w, st.BrowserToken)
	http.Redirect(w, r, st.RedirectURL, http.StatusSeeOther)
	return nil
}

func (s *Server) externalCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	req := auth.CallbackRequest{ProviderID: r.PathValue("provider"), State: q.Get("state"), Code: q.Get("code"),
		Error: q.Get("error"), ErrorDescription: q.Get("error_description")}
	if c, err := r.Cookie(ExternalCookie); err == nil {
		req.BrowserToken = c.Value
	}
	if pr, err := s.cookiePrincipal(r); err == nil {
		req.Principal = pr
	}
	// The binding cookie has done its job whatever happens next.
	s.cookies.ClearExternal(w)
	res, err := s.auth.SignIn.FinishExternal(r.Context(), req, s.meta(r))
	if err != nil {
		if nl := notLinkedOffer(err); nl != nil {
			s.cookies.SetPending(w, nl.Offer.BrowserToken)
		}
		return s.externalError(w, r, err)
	}
	base := strings.TrimSuffix(s.public.Path, "/")
	to := res.RD
	if res.Tokens != nil && res.Tokens.MFA != nil {
		// The account needs its second factor: the login page shows the code step.
		s.cookies.SetMFA(w, res.Tokens.MFA.Token, res.Tokens.MFA.ExpiresIn)
		q := url.Values{"step": {"mfa"}}
		if to != "" {
			q.Set("rd", to)
		}
		http.Redirect(w, r, base+"/login?"+q.Encode(), http.StatusSeeOther)
		return nil
	}
	if res.Tokens != nil {
		s.cookies.SetSession(w, res.Tokens)
	}
	if to == "" {
		to = base + "/settings/security"
	} else if strings.HasPrefix(to, "/") {
		to = base + to
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// externalError answers a failed external sign-in: a page for browsers, which arrive here by
// navigation; for API clients it returns the error, answered as JSON like any other.
func (s *Server) externalError(w http.ResponseWriter, r *http.Request, err error) error {
	nl := notLinkedOffer(err)
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		if nl != nil {
			writeJSON(w, statusOf(nl.Err.Code), notLinkedBody{Error: errorDetail{Code: nl.Err.Code, Message: nl.Err.Message},
				Verification: verifyOffer{Email: nl.Offer.MaskedEmail, Endpoint: s.verifyEndpoint()}})
			return nil
		}
		return err
	}
	code := gatehouse.ErrorCode(err)
	msg := "Something went wrong; the server log has details."
	var e *gatehouse.Error
	if errors.As(err, &e) && code != gatehouse.EInternal {
		msg = e.Message
	} else {
		s.log.Error("external sign-in failed", "path", r.URL.Path, "err", err)
	}
	if msg != "" {
		// Messages are sentences continued by the API's wording; a page starts them capitalised.
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	title := "Sign-in failed"
	if code == gatehouse.ENotLinked {
		title = "Account not linked"
	}
	base := strings.TrimSuffix(s.public.Path, "/")
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(statusOf(code))
	d := map[string]string{"Title": title, "Message": msg, "Base": base, "Code": code}
	if nl != nil {
		d["VerifyEmail"], d["VerifyAction"] = nl.Offer.MaskedEmail, s.verifyEndpoint()
	}
	_ = externalErrorPage.Execute(w, d)
	return nil
}

// externalErrorPage is self-contained so the API package need not depend on the web pages; it
// uses their stylesheet for the same look.
var externalErrorPage = template.Must(template.New("external").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{{.Title}} · gatehouse</title><link rel="stylesheet" href="{{.Base}}/static/app.css"></head>
<body><header class="top"><a class="brand" href="{{.Base}}/">gatehouse</a></header>
<main id="main"><section class="card narrow"><h1>{{.Title}}</h1>
<p class="error-summary" role="alert" id="external-error" data-code="{{.Code}}">{{.Message}}</p>
{{if .VerifyEmail}}<form method="post" action="{{.VerifyAction}}" id="external-verify">
<button type="submit" class="primary">Send a verification link to {{.VerifyEmail}}</button></form>{{end}}
<p><a href="{{.Base}}/login">Back to sign-in</a> · <a href="{{.Base}}/settings/security">Settings → Security</a></p>
</section></main></body></html>
`))
