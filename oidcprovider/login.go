package oidcprovider

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/i18n"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// The sign-in of an authorization request: op redirects to loginPath with the request id; the
// browser signs in on gatehouse's own login page if it has no session, confirms it is the user
// when the app asks for a fresh sign-in, adds a second factor on gatehouse's step-up page when
// the app asks for one, consents, and goes back to op's callback.

//go:embed templates/*.html
var templateFS embed.FS

// parsePages parses the pages once per language of cat, with that language's "t" and "lang".
func parsePages(cat *i18n.Catalog) (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, code := range cat.Codes() {
		pr := cat.Printer(code)
		t, err := template.New("").Funcs(template.FuncMap{"t": pr.T, "lang": pr.Code}).ParseFS(templateFS, "templates/*.html")
		if err != nil {
			return nil, err
		}
		out[code] = t
	}
	return out, nil
}

// pageCSP lets the provider's pages load gatehouse's stylesheet and nothing else: no script, no
// inline style, no frames (web's pages use the same rules).
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"

// passkeyCSP adds gatehouse's own script and its calls to the passkey API, for the confirm page
// offering a passkey (web's pages allow the same).
const passkeyCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// pageData is what the provider's pages show.
type pageData struct {
	Base    string
	Title   string
	App     string
	ID      string
	User    string
	Claims  []string
	Message string
	Error   string
	// Brand: the site name, logo, accent colour and footer link, as on every page.
	Brand gatehouse.Brand
	// Confirm: the app wants a fresh sign-in (Code: with the authenticator; Password: with the
	// password, which an account without one cannot give; Passkey: a passkey may confirm too).
	Code, Password, Passkey bool
}

func (p *Provider) base() string { return strings.TrimSuffix(p.public.Path, "/") }

func (p *Provider) render(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	d.Base = p.base()
	d.Brand = p.core.Settings().Brand(d.Base)
	// The pages speak the language of gatehouse's own (the gatehouse_lang cookie, else
	// Accept-Language); texts made in Go are read back into it like the pages' are.
	code, _ := p.cat.ForRequest(r)
	pr := p.cat.Printer(code)
	d.Title, d.Message, d.Error = pr.Localize(d.Title), pr.Localize(d.Message), pr.Localize(d.Error)
	for i, c := range d.Claims {
		d.Claims[i] = pr.Localize(c)
	}
	// The server's default policy allows nothing; these pages need gatehouse's stylesheet.
	if d.Passkey {
		w.Header().Set("Content-Security-Policy", passkeyCSP)
	} else {
		w.Header().Set("Content-Security-Policy", pageCSP)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := p.pages[pr.Code()].ExecuteTemplate(w, name, d); err != nil {
		p.log.Error("rendering a provider page failed", "page", name, "err", err)
	}
}

// problem shows a page that tells the user what went wrong, for errors that must not go back
// to the app (an unknown request cannot be trusted with a redirect).
func (p *Provider) problem(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	p.render(w, r, status, "problem.html", &pageData{Title: title, Message: msg})
}

// flow is one request being signed in.
type flow struct {
	req    *authRequest
	client *client
	pr     *auth.Principal
	sess   *gatehouse.Session
}

// load reads the request of ?id= or the form's id and the browser's session (pr nil when none).
func (p *Provider) load(w http.ResponseWriter, r *http.Request, id string) (*flow, bool) {
	req, err := p.authRequest(r.Context(), id)
	if err != nil {
		p.problem(w, r, http.StatusNotFound, "Sign-in link expired", "This sign-in request is unknown or has expired. Go back to the app and start again.")
		return nil, false
	}
	c, err := p.client(r.Context(), req.ClientID)
	if err != nil {
		p.problem(w, r, http.StatusNotFound, "Unknown app", "The app that sent you here is no longer registered.")
		return nil, false
	}
	return p.withSession(w, r, &flow{req: req, client: c})
}

// withSession adds the browser's session to f, if it has one.
func (p *Provider) withSession(w http.ResponseWriter, r *http.Request, f *flow) (*flow, bool) {
	if pr, err := p.kit.Principal(r); err == nil {
		sess, err := p.store.SessionByID(r.Context(), pr.SessionID)
		if err != nil {
			p.problem(w, r, http.StatusInternalServerError, "Something went wrong", "Try again in a moment.")
			return nil, false
		}
		f.pr, f.sess = pr, sess
	}
	return f, true
}

// authorize is op's authorize endpoint, with the login step served in place: op validates and
// stores the request, then would send the browser to loginPath only to have it come straight
// back with the request's id. Instead the step runs here with the request and client op just
// handled, saving the browser a round trip and the server a request with its reads of both.
// Every other answer of op's (errors to the app, error pages) goes out as op wrote it.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	m := memoOf(r.Context())
	hold := &loginHere{ResponseWriter: w, login: func() string {
		if req := m.createdRequest(); req != nil {
			return p.loginURL(req.ID)
		}
		return ""
	}}
	p.op.ServeHTTP(hold, r)
	if !hold.held {
		return
	}
	w.Header().Del("Location")
	w.Header().Del("Content-Type")
	req := m.createdRequest()
	c, err := p.client(r.Context(), req.ClientID)
	if err != nil {
		p.problem(w, r, http.StatusNotFound, "Unknown app", "The app that sent you here is no longer registered.")
		return
	}
	if f, ok := p.withSession(w, r, &flow{req: req, client: c}); ok {
		p.proceed(w, r, f)
	}
}

// loginHere holds back op's redirect to the login step of the request it just created (and the
// short body http.Redirect writes with it); anything else passes.
type loginHere struct {
	http.ResponseWriter
	login func() string // the login step's address, "" until op has stored a request
	held  bool
}

func (l *loginHere) WriteHeader(code int) {
	if code == http.StatusFound && !l.held {
		if to := l.login(); to != "" && l.Header().Get("Location") == to {
			l.held = true
			return
		}
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *loginHere) Write(b []byte) (int, error) {
	if l.held {
		return len(b), nil
	}
	return l.ResponseWriter.Write(b)
}

func (l *loginHere) Unwrap() http.ResponseWriter { return l.ResponseWriter }

// toApp sends an OAuth error back to the app's registered redirect URI.
func (p *Provider) toApp(w http.ResponseWriter, r *http.Request, f *flow, err error) {
	op.AuthRequestError(w, r, f.req, err, p.op)
}

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	f, ok := p.load(w, r, r.URL.Query().Get("id"))
	if !ok {
		return
	}
	p.proceed(w, r, f)
}

// proceed takes the flow as far as it goes without the user: to the login page, the confirm or
// consent page, or back to the app.
func (p *Provider) proceed(w http.ResponseWriter, r *http.Request, f *flow) {
	ctx := r.Context()
	if f.pr == nil {
		if f.req.hasPrompt(oidc.PromptNone) {
			p.toApp(w, r, f, oidc.ErrLoginRequired())
			return
		}
		http.Redirect(w, r, p.base()+"/login?rd="+url.QueryEscape(p.base()+p.loginURL(f.req.ID)), http.StatusSeeOther)
		return
	}
	ok, err := p.allowed(ctx, f.client, f.pr.User.ID)
	if err != nil {
		p.problem(w, r, http.StatusServiceUnavailable, "Something went wrong", "Try again in a moment.")
		return
	}
	if !ok {
		p.failure(ctx, f.client.c.ID, f.pr.User.ID, "not_in_allowed_groups", nil)
		p.render(w, r, http.StatusForbidden, "denied.html", &pageData{Title: "Not allowed", App: f.client.c.Name, User: f.pr.User.Username})
		return
	}
	sub, err := p.subject(ctx, f.pr.User.ID)
	if err != nil {
		p.problem(w, r, http.StatusInternalServerError, "Something went wrong", "Try again in a moment.")
		return
	}
	if f.req.HintSubject != "" && f.req.HintSubject != sub {
		// The app asked for another user (id_token_hint): never answer for this one silently.
		if f.req.hasPrompt(oidc.PromptNone) {
			p.toApp(w, r, f, oidc.ErrLoginRequired().WithDescription("another user is signed in"))
			return
		}
	}
	authTime, amr, acr := signIn(f.sess)
	if need := p.needsConfirm(f, authTime); need != "" {
		if f.req.hasPrompt(oidc.PromptNone) {
			p.toApp(w, r, f, oidc.ErrLoginRequired().WithDescription("%s", need))
			return
		}
		d := p.confirmData(ctx, f)
		d.Message = need
		p.render(w, r, http.StatusOK, "confirm.html", d)
		return
	}
	if f.req.wantsTwoFactor() && acr != ACRTwoFactor && !reauthedWithCode(f, authTime) {
		p.stepUp(w, r, f)
		return
	}
	if consent, err := p.needsConsent(ctx, f); err != nil {
		p.problem(w, r, http.StatusInternalServerError, "Something went wrong", "Try again in a moment.")
		return
	} else if consent {
		if f.req.hasPrompt(oidc.PromptNone) {
			// consent_required (OpenID Connect Core 3.1.2.6) has no constructor in the op package.
			p.toApp(w, r, f, &oidc.Error{ErrorType: "consent_required", Description: "the user has not allowed this app yet"})
			return
		}
		p.render(w, r, http.StatusOK, "consent.html", &pageData{Title: fmt.Sprintf("Sign in to %s?", f.client.c.Name), App: f.client.c.Name,
			ID: f.req.ID, User: f.pr.User.Username, Claims: claimsOf(f.req.Scopes)})
		return
	}
	p.complete(w, r, f, sub, authTime, amr, acr)
}

// signIn tells when and how the session last proved it is the user: its sign-in, or a later
// confirmation (which, with MFA on, took the authenticator).
func signIn(s *gatehouse.Session) (time.Time, []string, string) {
	amr, acr := sessionAMR(s)
	at := s.CreatedAt
	if s.ReauthAt != nil && s.ReauthAt.After(at) {
		at = *s.ReauthAt
	}
	return at, amr, acr
}

// needsConfirm says why the user must confirm it is them, or "".
func (p *Provider) needsConfirm(f *flow, authTime time.Time) string {
	switch {
	case f.req.hasPrompt(oidc.PromptLogin) && authTime.Before(f.req.CreatedAt):
		return fmt.Sprintf("%s asks you to sign in again.", f.client.c.Name)
	// max_age counts from the request: a sign-in or confirmation after it always satisfies it
	// (prompt=login arrives here as max_age=0).
	case f.req.MaxAge != nil && f.req.CreatedAt.Sub(authTime) > time.Duration(*f.req.MaxAge)*time.Second:
		return fmt.Sprintf("%s asks for a recent sign-in.", f.client.c.Name)
	}
	return ""
}

// AppOfReturn implements ghttp.OIDCProvider: gatehouse's step-up page names the app instead of
// showing /oauth2/login?id=..., an address that means nothing to the user.
func (p *Provider) AppOfReturn(ctx context.Context, rd string) string {
	u, err := url.Parse(rd)
	if err != nil || u.Path != p.base()+loginPath || u.Query().Get("id") == "" {
		return ""
	}
	req, err := p.authRequest(ctx, u.Query().Get("id"))
	if err != nil {
		return ""
	}
	c, err := p.client(ctx, req.ClientID)
	if err != nil {
		return ""
	}
	return c.c.Name
}

// stepUp sends a one-factor session that the app wants with two (acr_values=2fa) through
// gatehouse's step-up, the one access rules with policy two_factor use (/login?step_up=1): an
// authenticator code, a recovery code or a passkey adds the second factor to the session, and the
// browser comes back here. A user with none set up cannot get there: the app hears so at once.
func (p *Provider) stepUp(w http.ResponseWriter, r *http.Request, f *flow) {
	ctx := r.Context()
	if f.req.hasPrompt(oidc.PromptNone) {
		p.toApp(w, r, f, oidc.ErrLoginRequired().WithDescription("%s asks for a second factor", f.client.c.Name))
		return
	}
	st, err := p.core.StepUpState(ctx, f.pr)
	if err != nil {
		p.problem(w, r, http.StatusServiceUnavailable, "Something went wrong", "Try again in a moment.")
		return
	}
	if !st.Done && !st.TOTP && !st.Passkey {
		p.failure(ctx, f.client.c.ID, f.pr.User.ID, "second_factor_unavailable", nil)
		p.toApp(w, r, f, oidc.ErrAccessDenied().WithDescription("the app needs a second factor, and this account has none set up"))
		return
	}
	http.Redirect(w, r, p.base()+"/login?step_up=1&rd="+url.QueryEscape(p.base()+p.loginURL(f.req.ID)), http.StatusSeeOther)
}

// reauthedWithCode: a confirmation by a user with MFA on took the authenticator code
// (auth.Service.Reauthenticate), so a session confirmed after the request proved two factors.
func reauthedWithCode(f *flow, authTime time.Time) bool {
	return f.pr.User.MFAEnabled && f.sess.ReauthAt != nil && !authTime.Before(f.req.CreatedAt)
}

func (p *Provider) needsConsent(ctx context.Context, f *flow) (bool, error) {
	if f.client.c.SkipConsent && !f.req.hasPrompt(oidc.PromptConsent) {
		return false, nil
	}
	if f.req.hasPrompt(oidc.PromptConsent) {
		return true, nil
	}
	c, err := p.store.OPConsent(ctx, f.pr.User.ID, f.client.c.ID)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, s := range f.req.Scopes {
		if !slices.Contains(c.Scopes, s) {
			return true, nil
		}
	}
	return false, nil
}

// complete marks the request signed in and hands it back to op, which issues the code.
func (p *Provider) complete(w http.ResponseWriter, r *http.Request, f *flow, sub string, authTime time.Time, amr []string, acr string) {
	f.req.UserID, f.req.SessionID, f.req.Subject = f.pr.User.ID, f.pr.SessionID, sub
	f.req.AuthTime, f.req.AMR, f.req.ACR, f.req.IsDone = authTime, amr, acr, true
	if reauthedWithCode(f, authTime) && acr != ACRTwoFactor {
		// A confirmation with a code normally steps the session up (then acr is 2fa already);
		// should it not have, the code still counts, beside the sign-in's own factor.
		f.req.AMR, f.req.ACR = append(factorAMR(f.sess.AuthMethod), "otp", "mfa"), ACRTwoFactor
	}
	ev := p.newEvent(gatehouse.EventOIDCAuthorized, f.pr.User.ID, f.pr.SessionID, map[string]any{"client_id": f.client.c.ID, "scopes": f.req.Scopes, "acr": f.req.ACR})
	// The completed request is written together with its code and the event, by op's callback
	// served in place (storage.SaveAuthCode): one transaction instead of three writes, and no
	// read of what was just decided.
	p.serveCallback(w, r.WithContext(context.WithValue(r.Context(), completedKey{}, &completion{req: f.req, ev: ev})), f.req.ID)
}

// completedKey carries the request complete just signed in to op's callback served in place.
type completedKey struct{}

// completion is a request complete signed in, and the event that records it.
type completion struct {
	req *authRequest
	ev  *gatehouse.Event
}

// completed is the request of id that this request's complete signed in, if any.
func completed(ctx context.Context, id string) *completion {
	if c, ok := ctx.Value(completedKey{}).(*completion); ok && c.req.ID == id {
		return c
	}
	return nil
}

// serveCallback answers with op's callback for request id right here: the browser would only be
// sent there to be sent on to the app, so this saves it a round trip, and the server a request
// with its session check. The session was just checked by the caller, which completed the
// request for it; the callback endpoint itself stays for requests completed elsewhere.
func (p *Provider) serveCallback(w http.ResponseWriter, r *http.Request, id string) {
	cb := r.Clone(r.Context())
	cb.Method = http.MethodGet
	cb.URL = &url.URL{Path: callbackPath, RawQuery: "id=" + url.QueryEscape(id)}
	cb.RequestURI = cb.URL.RequestURI()
	cb.Body, cb.ContentLength, cb.Form, cb.PostForm = http.NoBody, 0, nil, nil
	cb.Header.Del("Content-Type")
	p.op.ServeHTTP(w, cb)
}

// postedFlow checks a form posted to the provider's pages (same origin, readable) and loads the
// request its field names; on failure it has answered with a page.
func (p *Provider) postedFlow(w http.ResponseWriter, r *http.Request, field string) (*flow, bool) {
	if err := p.kit.CheckCSRF(r); err != nil {
		p.problem(w, r, http.StatusForbidden, "Request refused", "This form was sent from another site or by an old browser. Go back, reload the page and try again.")
		return nil, false
	}
	if err := r.ParseForm(); err != nil {
		p.problem(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return nil, false
	}
	return p.load(w, r, r.PostForm.Get(field))
}

// loginSubmit takes the consent and confirm forms.
func (p *Provider) loginSubmit(w http.ResponseWriter, r *http.Request) {
	f, ok := p.postedFlow(w, r, "id")
	if !ok {
		return
	}
	if f.pr == nil {
		p.proceed(w, r, f)
		return
	}
	switch r.PostForm.Get("action") {
	case "allow":
		c := &gatehouse.OPConsent{UserID: f.pr.User.ID, ClientID: f.client.c.ID, Scopes: f.req.Scopes, GrantedAt: p.clock.Now()}
		if err := p.store.SaveOPConsent(r.Context(), c); err != nil {
			p.problem(w, r, http.StatusInternalServerError, "Something went wrong", "Try again in a moment.")
			return
		}
		// A consent given now answers prompt=consent too.
		f.req.Prompt = slices.DeleteFunc(f.req.Prompt, func(s string) bool { return s == oidc.PromptConsent })
		p.proceed(w, r, f)
	case "deny":
		p.failure(r.Context(), f.client.c.ID, f.pr.User.ID, "consent_denied", nil)
		p.toApp(w, r, f, oidc.ErrAccessDenied().WithDescription("the user declined"))
	case "confirm":
		p.confirm(w, r, f)
	default:
		p.problem(w, r, http.StatusBadRequest, "Bad request", "The form did not say what to do.")
	}
}

func (p *Provider) confirm(w http.ResponseWriter, r *http.Request, f *flow) {
	_, err := p.core.Reauthenticate(r.Context(), f.pr, r.PostForm.Get("password"), r.PostForm.Get("code"), p.kit.Meta(r))
	if err != nil {
		msg := "That did not match. Try again."
		var e *gatehouse.Error
		if errors.As(err, &e) && e.Code != gatehouse.EInvalidCredentials && e.Code != gatehouse.EInternal {
			msg = e.Message
		}
		d := p.confirmData(r.Context(), f)
		d.Error = msg
		p.render(w, r, http.StatusUnauthorized, "confirm.html", d)
		return
	}
	sess, err := p.store.SessionByID(r.Context(), f.pr.SessionID)
	if err != nil {
		p.problem(w, r, http.StatusInternalServerError, "Something went wrong", "Try again in a moment.")
		return
	}
	f.sess = sess
	p.proceed(w, r, f)
}

// confirmData is the confirm page: the authenticator code when MFA is on (the password alone is
// not enough then), else the password if the account has one; and a passkey when the user has
// one, as on gatehouse's own "Confirm it's you" (web/reauth.go). A passkey-only account is not
// asked for a password it does not have.
func (p *Provider) confirmData(ctx context.Context, f *flow) *pageData {
	u := f.pr.User
	d := &pageData{Title: "Confirm it's you", App: f.client.c.Name, ID: f.req.ID, User: u.Username, Code: u.MFAEnabled,
		Password: !u.MFAEnabled && u.PasswordHash != ""}
	if pks, err := p.store.ListPasskeys(ctx, u.ID); err == nil {
		d.Passkey = len(pks) > 0
	} else {
		p.log.Error("listing passkeys failed", "err", err)
	}
	return d
}

// loginContinue is where the confirm page's passkey script goes after the assertion (POST
// /api/account/reauth/passkey/finish, which recorded the confirmation on the session): the
// request of "then" goes on as after a confirmation by form.
func (p *Provider) loginContinue(w http.ResponseWriter, r *http.Request) {
	if f, ok := p.postedFlow(w, r, "then"); ok {
		p.proceed(w, r, f)
	}
}

// callback lets op issue the code only to the browser whose session completed the request.
func (p *Provider) callback(w http.ResponseWriter, r *http.Request) {
	req, err := p.authRequest(r.Context(), r.URL.Query().Get("id"))
	pr, perr := p.kit.Principal(r)
	if err != nil || perr != nil || !req.IsDone || req.SessionID != pr.SessionID {
		p.problem(w, r, http.StatusNotFound, "Sign-in link expired", "This sign-in request is unknown or has expired. Go back to the app and start again.")
		return
	}
	p.op.ServeHTTP(w, r)
}

// claimsOf names, for the consent page, what each scope lets the app see.
func claimsOf(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		switch s {
		case oidc.ScopeProfile:
			out = append(out, "your name and username")
		case oidc.ScopeEmail:
			out = append(out, "your email address")
		case ScopeGroups:
			out = append(out, "the groups you are in")
		case oidc.ScopeOfflineAccess:
			out = append(out, "access while you are away, until you sign out of gatehouse")
		}
	}
	return append([]string{"that you are signed in, and a stable identifier for you"}, out...)
}

func newSubject() string { return uuid.NewString() }

type ctxKey struct{}

// endSessionState carries the browser's session into TerminateSessionFromRequest, which the op
// package calls without the request, and reports back whether the session was ended.
type endSessionState struct {
	pr    *auth.Principal
	meta  auth.ClientMeta
	ended bool
}

// endSessionHandler is RP-initiated logout: op checks the id_token_hint and the
// post_logout_redirect_uri against the client; storage.TerminateSessionFromRequest ends the
// session. The cookie is cleared when it did.
func (p *Provider) endSessionHandler(w http.ResponseWriter, r *http.Request) {
	st := &endSessionState{meta: p.kit.Meta(r)}
	if pr, err := p.kit.Principal(r); err == nil {
		st.pr = pr
	}
	ctx := context.WithValue(r.Context(), ctxKey{}, st)
	p.op.ServeHTTP(&clearOnEnd{ResponseWriter: w, st: st, clear: p.kit.Cookies.ClearSession}, r.WithContext(ctx))
}

// clearOnEnd clears the session cookie before the redirect is written, once the session ended.
type clearOnEnd struct {
	http.ResponseWriter
	st    *endSessionState
	clear func(http.ResponseWriter)
	done  bool
}

func (c *clearOnEnd) WriteHeader(code int) {
	if !c.done && c.st.ended {
		c.clear(c.ResponseWriter)
	}
	c.done = true
	c.ResponseWriter.WriteHeader(code)
}

func (c *clearOnEnd) Write(b []byte) (int, error) {
	if !c.done {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(b)
}

func (c *clearOnEnd) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (p *Provider) endSession(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	st, _ := ctx.Value(ctxKey{}).(*endSessionState)
	if req.IDTokenHintClaims == nil {
		// Without a hint anyone could link here: gatehouse's sign-out page asks first.
		return p.base() + "/logout", nil
	}
	if st == nil || st.pr == nil {
		return req.RedirectURI, nil
	}
	sub, err := p.subject(ctx, st.pr.User.ID)
	if err != nil {
		return "", err
	}
	if sub != req.UserID {
		// Another user signed in since: leave their session alone.
		return req.RedirectURI, nil
	}
	if err := p.core.Logout(ctx, st.pr, st.meta); err != nil {
		return "", err
	}
	st.ended = true
	return req.RedirectURI, nil
}
