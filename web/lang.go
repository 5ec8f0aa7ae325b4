package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/i18n"
)

// Languages: every page is rendered in the language of its request (i18n.Catalog.ForRequest:
// the gatehouse_lang cookie, else Accept-Language, else English). A signed-in user's saved
// preference applies when the browser has made no choice of its own; saving it on the account
// page sets the cookie too. The templates are parsed once per language, each with its own "t".

// langWriter carries the request's language from page() to render(), which has no request.
type langWriter struct {
	http.ResponseWriter
	r        *http.Request
	pr       *i18n.Printer
	explicit bool // the cookie chose the language
}

func (w *langWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withLang wraps w with the request's language.
func (p *pages) withLang(w http.ResponseWriter, r *http.Request) *langWriter {
	code, explicit := p.cat.ForRequest(r)
	return &langWriter{ResponseWriter: w, r: r, pr: p.cat.Printer(code), explicit: explicit}
}

// printer is the language of a page about to be rendered for user u (nil when signed out).
func (p *pages) printer(w http.ResponseWriter, v *view) *i18n.Printer {
	lw, ok := w.(*langWriter)
	if !ok {
		return p.cat.Printer(i18n.Default)
	}
	if !lw.explicit && v != nil && v.User != nil && v.User.Language != "" {
		return p.cat.Printer(v.User.Language)
	}
	return lw.pr
}

// tr translates a page's own text in the request's language: for messages with arguments,
// which render() cannot read back.
func (p *pages) tr(w http.ResponseWriter, key string, args ...any) string {
	return p.printer(w, nil).T(key, args...)
}

// localize translates what a page shows that Go code put into the view: titles, notices and
// error messages (also those of package auth, read back by i18n.Printer.Localize).
func localize(pr *i18n.Printer, v *view) {
	v.Title = pr.Localize(v.Title)
	v.Notice = pr.Localize(v.Notice)
	v.Error = pr.Localize(v.Error)
	for k, m := range v.Errors {
		v.Errors[k] = pr.Localize(m)
	}
	banners := make([]string, len(v.Banners))
	for i, b := range v.Banners {
		banners[i] = pr.Localize(b)
	}
	v.Banners = banners
}

// langOption is one button of the language switch.
type langOption struct {
	Code, Name string
	Current    bool
}

// langName is a language in its own words: a reader who cannot read the page's language still
// finds theirs.
func langName(code string) string {
	switch code {
	case "de":
		return "Deutsch"
	case "en":
		return "English"
	}
	return code
}

func (p *pages) langOptions(current string) []langOption {
	var out []langOption
	for _, c := range p.cat.Codes() {
		out = append(out, langOption{Code: c, Name: langName(c), Current: c == current})
	}
	return out
}

// languageSubmit is the switch on every page: it remembers the choice in the gatehouse_lang
// cookie and goes back to the page it was sent from.
func (p *pages) languageSubmit(w http.ResponseWriter, r *http.Request) error {
	code := r.PostFormValue("lang")
	if !p.cat.Supported(code) {
		p.errorPage(w, r, http.StatusBadRequest, "This language is not offered.")
		return nil
	}
	p.kit.Cookies.SetLanguage(w, code)
	back := r.PostFormValue("back")
	// Only a path of this site: never "//host" or a full URL, so the switch cannot redirect away.
	if !strings.HasPrefix(back, p.base+"/") || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		back = p.base + "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// lang is the language code of the request behind w (cookie, else Accept-Language): a new
// account's preference at registration.
func (p *pages) lang(w http.ResponseWriter) string {
	return p.printer(w, nil).Code()
}

// securityLanguage saves the account's language (the security page's "Language" section) and
// switches this browser to it at once.
func (p *pages) securityLanguage(w http.ResponseWriter, r *http.Request, pr *auth.Principal) error {
	code := r.PostForm.Get("language")
	if _, err := p.auth.Account.SetLanguage(r.Context(), pr, code, p.kit.Meta(r)); err != nil {
		return err
	}
	if code != "" {
		p.kit.Cookies.SetLanguage(w, code)
	}
	p.redirect(w, r, "/settings/security?done=language#language")
	return nil
}
