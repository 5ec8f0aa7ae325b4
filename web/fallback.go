package web

import (
	"net/http"
	"net/url"
	"strings"
)

// fallback answers every request no page pattern matched: unknown paths get the styled 404 page
// instead of the mux's plain text, and a GET on a form endpoint (a reload after a refused form,
// a pasted address) goes back to the page the form lives on instead of a bare "405 Method Not
// Allowed". One place for every route: it asks the mux itself which patterns exist, so a new
// form needs no entry here. /api/ has its own catch-all (JSON) in package http and never gets
// here.
func (p *pages) fallback(mux *http.ServeMux) pageFunc {
	// has reports whether a pattern other than this catch-all serves method on path.
	has := func(method, path string, host string) bool {
		u, err := url.Parse(path)
		if err != nil {
			return false
		}
		_, pattern := mux.Handler(&http.Request{Method: method, URL: u, Host: host})
		return pattern != "" && pattern != "/"
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		// The escaped form, so a segment like %2F stays inside its segment when cut and sent back.
		path := r.URL.EscapedPath()
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if has(http.MethodPost, path, r.Host) {
				// The nearest enclosing path that shows a page: /settings/security/mfa/confirm
				// goes to /settings/security, /admin/users/7/sessions/9/revoke to
				// /admin/users/7, /login/mfa to /login. Only real form paths get here, so this
				// never turns a typo into a redirect.
				for up := parent(path); up != ""; up = parent(up) {
					// Never "//host" or "/\host": a browser would leave for another site.
					if strings.HasPrefix(up, "//") || strings.HasPrefix(up, "/\\") {
						break
					}
					if has(http.MethodGet, up, r.Host) {
						p.redirect(w, r, up)
						return nil
					}
				}
				p.redirect(w, r, "/")
				return nil
			}
			p.errorPage(w, r, http.StatusNotFound, "There is no page at this address. Check it, or start again from the link below.")
			return nil
		}
		if has(http.MethodGet, path, r.Host) {
			w.Header().Set("Allow", "GET, HEAD")
			p.errorPage(w, r, http.StatusMethodNotAllowed, "This page does not take forms. Open it again from the link below.")
			return nil
		}
		p.errorPage(w, r, http.StatusNotFound, "There is no page at this address. Check it, or start again from the link below.")
		return nil
	}
}

// parent is path without its last segment ("/a/b" → "/a", "/a" → "/"), or "" above the root.
func parent(path string) string {
	path = strings.TrimSuffix(path, "/")
	if path == "" {
		return ""
	}
	i := strings.LastIndex(path, "/")
	if i <= 0 {
		return "/"
	}
	return path[:i]
}

// redirectHint turns the redirect URI of an empty provider id (".../oidc//callback") into the
// hint ".../oidc/{id}/callback". Asking for the URI of "{id}" itself would path-escape the
// braces into "%7Bid%7D".
func redirectHint(empty string) string {
	return strings.TrimSuffix(empty, "/callback") + "{id}/callback"
}
