package http

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/access"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/http/clientip"
	"github.com/gatehouse/gatehouse/redirect"
)

// verifyPath is forward auth's endpoint, the hot path of every protected request.
const verifyPath = "/api/auth/verify"

// verify is forward auth for reverse proxies (Traefik forwardAuth, Caddy forward_auth, nginx
// auth_request). It learns the original request from the proxy's headers and judges it by the
// access rules (docs/access-control.md): 200 with Remote-* headers when allowed; 200 without
// them for bypass; 401 (or a 302 to the login page for a browser) when a sign-in or a second
// factor is missing; 403 when signed in but not allowed. It never touches the database on a
// cache hit and allocates nothing for the rule match.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) error {
	if s.access == nil {
		return s.verifyAnyUser(w, r)
	}
	var req access.Request
	if err := s.originalRequest(r, &req); err != nil {
		s.setSecurityHeaders(w)
		return err
	}
	// Anonymous first: bypass needs no credential check, and a deny that names no subject
	// answers the same for everyone.
	d := s.access.Decide(&req, nil)
	if d.Policy == access.Bypass && !d.NeedUser {
		bypass(w)
		return nil
	}
	var p auth.Principal // on the stack: nothing below keeps it
	if err := s.authenticateTo(r, &p); err != nil {
		if d.Policy == access.Deny && !d.NeedUser {
			return s.denied(w, r, d, nil)
		}
		return s.notSignedIn(w, r, err, false)
	}
	gs, err := s.access.Groups(r.Context(), p.User.ID)
	if err != nil {
		s.setSecurityHeaders(w)
		return err
	}
	sub := access.Subject{Username: p.User.Username, Groups: gs.Names}
	d = s.access.DecideUser(&req, &sub, d)
	switch {
	case d.Policy == access.Bypass:
		bypass(w)
	case d.Policy == access.Deny:
		return s.denied(w, r, d, &p)
	case d.Policy == access.TwoFactor && !p.SecondFactor():
		return s.notSignedIn(w, r, gatehouse.Errorf(gatehouse.ESecondFactorRequired, "this address needs a sign-in with a second factor (TOTP, a recovery code or a passkey)"), true)
	default:
		allow(w, p.User, gs.Header)
	}
	return nil
}

// allow answers 200 with the identity headers of u and groups (the Remote-Groups value). One
// backing array holds the five values: one allocation instead of five on the path that answers
// every request of the protected apps. Each slice has cap 1, so nothing appended to one header
// can overwrite the next.
func allow(w http.ResponseWriter, u *gatehouse.User, groups string) {
	v := [...]string{u.Username, u.Email, u.DisplayName(), groups, "no-store"}
	vals := v[:]
	h := w.Header()
	h["Remote-User"] = vals[0:1:1]
	h["Remote-Email"] = vals[1:2:2]
	h["Remote-Name"] = vals[2:3:3]
	h["Remote-Groups"] = vals[3:4:4]
	h["Cache-Control"] = vals[4:5:5]
	w.WriteHeader(http.StatusOK)
}

// Values shared by every bypass answer; each has length equal to capacity, so nothing can be
// appended into them.
var (
	noStore = []string{"no-store"}
	empty   = []string{""}
)

// bypass answers 200 with the Remote-* headers present but empty: no user. They are sent
// rather than left out because Caddy 2.6's forward_auth copy_headers, given a header the answer
// lacks, passes its placeholder text ("{http.reverse_proxy.header.Remote-User}") to the app.
func bypass(w http.ResponseWriter) {
	h := w.Header()
	h["Remote-User"] = empty
	h["Remote-Email"] = empty
	h["Remote-Name"] = empty
	h["Remote-Groups"] = empty
	h["Cache-Control"] = noStore
	w.WriteHeader(http.StatusOK)
}

// originalRequest fills req from X-Original-URL, or X-Forwarded-Host/-Uri, with the method from
// X-Forwarded-Method (X-Original-Method), and the client address through trusted proxies when
// a rule looks at networks. Without either header, only a server without rules answers (the
// behaviour before rules existed); with rules, a proxy that does not say what was asked for is
// a configuration error, and guessing would let requests skip rules meant for them.
func (s *Server) originalRequest(r *http.Request, req *access.Request) error {
	// Without rules nothing depends on the address: a server that has none answers as it did
	// before rules existed, whatever the proxy sends.
	m := s.access.Matcher()
	rules := m.Len() > 0
	var uri string
	// Canonical forms of the names, looked up directly: Header.Get canonicalizes its argument
	// on every call ("X-Original-URL" into a new string; even a canonical name costs a scan).
	if o := headerValue1(r.Header, "X-Original-Url"); o != "" {
		host, u, ok := access.SplitURL(o)
		if !ok && rules {
			return gatehouse.FieldError("X-Original-URL", "X-Original-URL must be an absolute http(s) URL")
		}
		req.Host, uri = host, u
	} else if h := headerValue1(r.Header, "X-Forwarded-Host"); h != "" {
		req.Host, uri = h, headerValue1(r.Header, "X-Forwarded-Uri")
	} else if rules {
		return gatehouse.Errorf(gatehouse.EInvalid, "the proxy did not say which address was requested: send X-Original-URL, or X-Forwarded-Host and X-Forwarded-Uri (docs/reverse-proxy.md)")
	}
	path, ok := access.CleanPath(uri)
	if !ok && rules {
		return gatehouse.FieldError("X-Forwarded-Uri", "the requested path is not a valid URL path")
	}
	req.Path = path
	req.Method = headerValue1(r.Header, "X-Forwarded-Method")
	if req.Method == "" {
		if req.Method = headerValue1(r.Header, "X-Original-Method"); req.Method == "" {
			req.Method = r.Method
		}
	}
	if m.UsesNetworks() {
		req.IP, _ = clientip.Of(r, s.trusted)
	}
	return nil
}

// notSignedIn answers a missing sign-in (or second factor, stepUp): 401, or for a browser a 302
// to the login page, which comes back to the original URL. The error it returns is the JSON
// answer (serve).
func (s *Server) notSignedIn(w http.ResponseWriter, r *http.Request, err error, stepUp bool) error {
	// Past this point the answer may reach a browser (a proxy passes a 401 on, a 302 is
	// followed): it gets the security headers ServeHTTP leaves off verify's 200.
	s.setSecurityHeaders(w)
	if !auth401(err) {
		return err
	}
	if wantsHTML(r) {
		http.Redirect(w, r, s.loginURL(originalURL(r), stepUp), http.StatusFound)
		return nil
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	return err
}

// denied answers 403: a page naming the account for a browser (with a way to switch), JSON for
// anything else; and records access.denied, rate-limited.
func (s *Server) denied(w http.ResponseWriter, r *http.Request, d access.Decision, p *auth.Principal) error {
	s.setSecurityHeaders(w)
	m := s.meta(r)
	orig := originalURL(r)
	var u *gatehouse.User
	sid := ""
	if p != nil {
		u, sid = p.User, p.SessionID
	}
	s.access.Denied(r.Context(), d, orig, u, sid, m.IP, m.UserAgent)
	if wantsHTML(r) {
		s.deniedPage(w, u, orig)
		return nil
	}
	return gatehouse.Errorf(gatehouse.EForbidden, "you may not open this address")
}

// verifyAnyUser is verify without the access service: any signed-in user passes.
func (s *Server) verifyAnyUser(w http.ResponseWriter, r *http.Request) error {
	var p auth.Principal
	if err := s.authenticateTo(r, &p); err != nil {
		return s.notSignedIn(w, r, err, false)
	}
	allow(w, p.User, "")
	return nil
}

func auth401(err error) bool { return statusOf(gatehouse.ErrorCode(err)) == http.StatusUnauthorized }

// loginURL is the login page on the public URL, with rd only when rd is on the public site;
// stepUp asks the page for the second-factor step of the current session.
func (s *Server) loginURL(rd string, stepUp bool) string {
	u := *s.public
	u.Path = strings.TrimSuffix(u.Path, "/") + "/login"
	q := url.Values{}
	if safe, ok := redirect.Safe(s.public, rd); ok {
		q.Set("rd", safe)
	}
	if stepUp {
		q.Set("step_up", "1")
	}
	u.RawQuery = q.Encode()
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

// wantsHTML reports whether the client is a browser that can follow a redirect or read a page.
// A request with an Authorization header is a script or an API client whatever it accepts: a
// redirect to the login page (or its second-factor step) means nothing to it, so it gets the
// 401 or 403 with a code.
func wantsHTML(r *http.Request) bool {
	if len(r.Header["Authorization"]) > 0 {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// headerValue1 is the first value of an already canonical header name: Header.Get without its
// canonicalization, which costs the request check a scan of the name per header.
func headerValue1(h http.Header, canonical string) string {
	if v := h[canonical]; len(v) > 0 {
		return v[0]
	}
	return ""
}
