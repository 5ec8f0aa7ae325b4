package http

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/redirect"
)

// verifyPath is forward auth's endpoint, the hot path of every protected request.
const verifyPath = "/api/auth/verify"

// verify is forward auth for reverse proxies (Traefik forwardAuth, Caddy forward_auth, nginx
// auth_request): 200 with Remote-* headers when signed in; otherwise 401, or a 302 to the login
// page when the original request wants HTML. It never touches the database on a cache hit.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	p, err := s.authenticate(r)
	if err == nil {
		// One backing array for the five values: one allocation instead of five on the path
		// that answers every request of the protected apps. Each slice has cap 1, so nothing
		// appended to one header can overwrite the next.
		v := [...]string{p.User.Username, p.User.Email, p.User.DisplayName(), string(p.User.Role), "no-store"}
		vals := v[:]
		h := w.Header()
		h["Remote-User"] = vals[0:1:1]
		h["Remote-Email"] = vals[1:2:2]
		h["Remote-Name"] = vals[2:3:3]
		h["Remote-Groups"] = vals[3:4:4]
		h["Cache-Control"] = vals[4:5:5]
		w.WriteHeader(http.StatusOK)
		return
	}
	// Past this point the answer may reach a browser (a proxy passes a 401 on, a 302 is
	// followed): it gets the security headers ServeHTTP leaves off verify's 200.
	s.setSecurityHeaders(w)
	if !auth401(err) {
		writeError(w, r, s.log, err)
		return
	}
	if wantsHTML(r) {
		http.Redirect(w, r, s.loginURL(originalURL(r)), http.StatusFound)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	writeError(w, r, s.log, err)
}

func auth401(err error) bool { return statusOf(gatehouse.ErrorCode(err)) == http.StatusUnauthorized }

// loginURL is the login page on the public URL, with rd only when rd is on the public site.
func (s *Server) loginURL(rd string) string {
	u := *s.public
	u.Path = strings.TrimSuffix(u.Path, "/") + "/login"
	if safe, ok := redirect.Safe(s.public, rd); ok {
		u.RawQuery = url.Values{"rd": {safe}}.Encode()
	}
	return u.String()
}

// originalURL is the address the user asked the proxy for: an explicit rd parameter (nginx
// auth_request style), X-Original-URL, or X-Forwarded-Proto/Host/Uri (Traefik, Caddy). Whatever
// it is, loginURL only keeps it when it is on the public site.
func originalURL(r *http.Request) string {
	if rd := r.URL.Query().Get("rd"); rd != "" {
		return rd
	}
	if o := r.Header.Get("X-Original-URL"); o != "" {
		return o
	}
	proto, host := r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host")
	if proto == "" || host == "" {
		return ""
	}
	return proto + "://" + host + r.Header.Get("X-Forwarded-Uri")
}

func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
