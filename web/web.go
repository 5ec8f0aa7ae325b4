// Package web serves gatehouse's pages: the state-driven login page, logout, account security
// and the admin console. Pages are server-rendered with html/template; every form works without
// JavaScript. They call package auth exactly as the JSON API does, and share its cookie, client
// address and cross-origin rules through http.PageKit.
package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/access"
	"github.com/gatehouse/gatehouse/auth"
	ghttp "github.com/gatehouse/gatehouse/http"
	"github.com/gatehouse/gatehouse/i18n"
	"github.com/gatehouse/gatehouse/redirect"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps are what the pages need.
type Deps struct {
	Auth *auth.App
	// Access keeps groups and access rules; nil leaves their pages out.
	Access    *access.Service
	PublicURL *url.URL
	Logger    *slog.Logger
	// AdminNotices are configuration problems found at start (a public URL that cannot reach
	// this server): every page shows them to administrators until the configuration is fixed.
	AdminNotices []string
	// Provider, when set, adds the apps pages of the OpenID Provider (web/apps.go).
	Provider ghttp.OIDCProvider
	// Catalog translates every page (built once by internal/app; nil builds one here).
	Catalog *i18n.Catalog
}

// Pages returns the function http.Deps.Pages expects: it registers every page on the mux.
func Pages(d Deps) func(*http.ServeMux, ghttp.PageKit) error {
	return func(mux *http.ServeMux, kit ghttp.PageKit) error {
		p := &pages{auth: d.Auth, access: d.Access, public: d.PublicURL, log: d.Logger, kit: kit, base: strings.TrimSuffix(d.PublicURL.Path, "/"), adminNotices: d.AdminNotices, provider: d.Provider}
		if p.log == nil {
			p.log = slog.New(slog.DiscardHandler)
		}
		if p.cat = d.Catalog; p.cat == nil {
			cat, err := i18n.New()
			if err != nil {
				return err
			}
			p.cat = cat
		}
		if err := p.parse(); err != nil {
			return err
		}
		p.routes(mux)
		return nil
	}
}

type pages struct {
	auth   *auth.App
	access *access.Service
	public *url.URL
	log    *slog.Logger
	kit    ghttp.PageKit
	base   string // the public URL's path, so links work behind a path prefix
	// tmpl are the parsed pages by language code, then by name.
	tmpl map[string]map[string]*template.Template
	cat  *i18n.Catalog

	adminNotices []string
	provider     ghttp.OIDCProvider
}

// pageNames are the templates under templates/, each rendered inside layout.html.
var pageNames = []string{"login", "logout", "security", "admin_users", "admin_user", "admin_delete", "admin_settings", "admin_events", "error",
	"register", "activate", "recover", "recover_reset", "email_confirm", "admin_mail", "admin_dashboard", "admin_mail_template", "stepup", "admin_branding"}

func (p *pages) parse() error {
	p.tmpl = map[string]map[string]*template.Template{}
	for _, code := range p.cat.Codes() {
		byName, err := p.parseLang(p.cat.Printer(code))
		if err != nil {
			return err
		}
		p.tmpl[code] = byName
	}
	return nil
}

// parseLang parses every page with pr's "t": {{t "Sign in"}}, {{t "Signed in as %s" .Name}}.
func (p *pages) parseLang(pr *i18n.Printer) (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	funcs := template.FuncMap{
		"t":      pr.T,
		"lang":   pr.Code,
		"time":   formatTime,
		"device": Device,
		"fieldID": func(k string) string {
			return "f-" + strings.ReplaceAll(k, "_", "-")
		},
	}
	for k, f := range p.passkeyFuncs() {
		funcs[k] = f
	}
	funcs["brandField"] = brandField
	funcs["textField"] = textField
	for k, f := range accessFuncs() {
		funcs[k] = f
	}
	// One template set per language holds the sections several pages include (part_*.html,
	// partial_*.html; mfa_*.html the MFA steps) once, and every page: its "content" renamed
	// "content:NAME", under a copy of the layout that calls it. Parsing the layout and every
	// section again for each page held about 16 MiB of parse trees at idle (html/template's
	// Clone copies them), which the memory limit then made the collector fight over.
	set, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/mfa_*.html", "templates/partial_*.html", "templates/part_*.html")
	if err != nil {
		return nil, err
	}
	layout, err := fs.ReadFile(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	for _, n := range slices.Concat(pageNames, externalPages, appPages, accessPages, invitationPages) {
		page, err := fs.ReadFile(templateFS, "templates/"+n+".html")
		if err != nil {
			return nil, err
		}
		content := `{{define "content:` + n + `"}}`
		if !strings.Contains(string(page), `{{define "content"}}`) {
			return nil, fmt.Errorf("page %s defines no content", n)
		}
		if _, err := set.New(n + ".html").Parse(strings.Replace(string(page), `{{define "content"}}`, content, 1)); err != nil {
			return nil, err
		}
		t, err := set.New("page:" + n).Parse(strings.Replace(string(layout), `{{template "content" .}}`, `{{template "content:`+n+`" .}}`, 1))
		if err != nil {
			return nil, err
		}
		out[n] = t
	}
	return out, nil
}

// csp allows only gatehouse's own stylesheet, script and images: no inline script or style.
// form-action is left out on purpose: after sign-in the login form redirects to the `rd`
// address, which may be another host of the same site, and Chromium applies form-action to
// redirects.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// cspMailPreview is csp plus inline style, for the mail template preview only (its sandboxed
// srcdoc frame inherits the page's policy, and mail HTML carries its style inline).
const cspMailPreview = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// pageFunc is a page handler. It writes its page (or a redirect), or returns an error and writes
// nothing: page shows the error through fail, so every page fails the same way (the error's
// status and message, or a logged "Something went wrong" for errors without a code). Forms
// that answer a refused submission by showing the form again do so themselves (form.go).
type pageFunc func(w http.ResponseWriter, r *http.Request) error

// userPageFunc is a pageFunc for a signed-in user (user, admin).
type userPageFunc func(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error

// page sets the headers every page needs, refuses cross-origin unsafe requests, and shows the
// handler's error.
func (p *pages) page(h pageFunc) http.Handler { return p.pageLimit(64<<10, h) }

// pageLimit is page with another bound on the request body (a file upload needs more).
func (p *pages) pageLimit(limit int64, h pageFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := p.withLang(rw, r)
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", csp)
		hdr.Set("Cache-Control", "no-store")
		hdr.Set("Referrer-Policy", "same-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := p.kit.CheckCSRF(r); err != nil {
				p.errorPage(w, r, http.StatusForbidden, "This form was sent from another site or by an old browser, so it was refused. Go back, reload the page and try again.")
				return
			}
			// Forms are small; a huge body is refused before parsing.
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if err := r.ParseForm(); err != nil {
				p.errorPage(w, r, http.StatusBadRequest, p.tr(w, "The form could not be read: %s", err.Error()))
				return
			}
		}
		if err := h(w, r); err != nil {
			p.fail(w, r, err)
		}
	})
}

// view is the data every template gets.
type view struct {
	Title  string
	Base   string
	User   *gatehouse.User
	Admin  bool
	Nav    string
	Notice string
	// form: the values, field messages and form-wide message of the page's form (form.go).
	form
	Data any
	// Banners are the start-up configuration problems, shown to administrators only.
	Banners []string
	// HasApps: the OpenID Provider's apps page exists (web/apps.go).
	HasApps bool
	// Lang is the page's language code; Langs the switch's buttons; Path where the switch
	// comes back to.
	Lang  string
	Langs []langOption
	Path  string
	// Brand: the site name, logo, accent colour and footer link (branding.go).
	Brand brand
}

func (p *pages) render(w http.ResponseWriter, status int, name string, v *view) {
	v.Base = p.base
	v.HasApps = p.provider != nil
	v.Brand = p.brand()
	if v.Admin {
		v.Banners = p.adminNotices
	}
	if v.Errors == nil {
		v.Errors = map[string]string{}
	}
	if v.Form == nil {
		v.Form = map[string]string{}
	}
	pr := p.printer(w, v)
	localize(pr, v)
	v.Lang, v.Langs = pr.Code(), p.langOptions(pr.Code())
	if lw, ok := w.(*langWriter); ok && lw.r.Method == http.MethodGet {
		v.Path = p.base + lw.r.URL.RequestURI()
	}
	var buf bytes.Buffer
	if err := p.tmpl[pr.Code()][name].Execute(&buf, v); err != nil {
		p.log.Error("rendering a page failed", "page", name, "err", err)
		http.Error(w, "internal error; the server log has details", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (p *pages) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	v := &view{Title: http.StatusText(status), form: form{Error: msg}}
	if pr, err := p.kit.Principal(r); err == nil {
		v.User, v.Admin = pr.User, pr.User.Role == gatehouse.RoleAdmin
	}
	p.render(w, status, "error", v)
}

// fail shows err on a page: coded errors keep their message, anything else is logged and
// shown as an internal error.
func (p *pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := gatehouse.ErrorCode(err)
	var e *gatehouse.Error
	if code == gatehouse.EInternal || !errors.As(err, &e) {
		if r.Context().Err() != nil {
			// The browser went away; nothing is wrong with the server.
			p.log.Info("page ended early: the client went away", "path", r.URL.Path)
			return
		}
		p.log.Error("page failed", "path", r.URL.Path, "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "Something went wrong; the server log has details.")
		return
	}
	p.errorPage(w, r, ghttp.StatusOf(code), e.Message)
}

// redirect sends the browser to a path under the public URL with 303 See Other.
func (p *pages) redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, p.base+path, http.StatusSeeOther)
}

// user requires a signed-in browser; others go to the login page and come back afterwards.
func (p *pages) user(h userPageFunc) pageFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		pr, err := p.kit.Principal(r)
		if err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.EInternal {
				return err
			}
			back := r.URL.Path
			if r.Method != http.MethodGet {
				back = "/settings/security"
			} else if r.URL.RawQuery != "" {
				back += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, p.base+"/login?"+url.Values{"rd": {p.base + back}}.Encode(), http.StatusSeeOther)
			return nil
		}
		return h(w, r, pr)
	}
}

// admin requires an administrator; other signed-in users get 403.
func (p *pages) admin(h userPageFunc) pageFunc {
	return p.user(func(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
		if pr.User.Role != gatehouse.RoleAdmin {
			p.errorPage(w, r, http.StatusForbidden, "Only administrators can open the admin console.")
			return nil
		}
		return h(w, r, pr)
	})
}

// safeRD returns rd as an absolute URL when it is on the public URL's site, else "".
func (p *pages) safeRD(rd string) string {
	if s, ok := redirect.Safe(p.public, rd); ok {
		return s
	}
	return ""
}

func formatTime(t any) string {
	switch v := t.(type) {
	case *time.Time:
		if v == nil {
			return ""
		}
		return formatTime(*v)
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format("2006-01-02 15:04 UTC")
	case string:
		if v == "" {
			return ""
		}
		if tt, err := time.Parse(time.RFC3339, v); err == nil {
			return tt.UTC().Format("2006-01-02 15:04 UTC")
		}
		return v
	}
	return ""
}

func ghttpStatus(err error) int { return ghttp.StatusOf(gatehouse.ErrorCode(err)) }

func asError(err error, target **gatehouse.Error) bool { return errors.As(err, target) }
