// Package http serves gatehouse's JSON API, health and metrics endpoints. routes.go lists every
// route; errors.go maps error codes to statuses in one place.
package http

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/access"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/http/clientip"
	"github.com/gatehouse/gatehouse/i18n"
)

// Deps are what the HTTP layer needs.
type Deps struct {
	Auth *auth.App
	// Access keeps groups and access rules; nil leaves forward auth as "any signed-in user".
	Access         *access.Service
	Logger         *slog.Logger
	Metrics        *Metrics
	PublicURL      *url.URL
	TrustedProxies []netip.Prefix
	// CookieDomain is server.cookie_domain: empty for a host-only session cookie.
	CookieDomain string
	// Ready reports whether the store is reachable (readiness).
	Ready func(ctx context.Context) error
	// Writable reports whether the store takes writes (a full disk answers pings); nil skips it.
	Writable func(ctx context.Context) error
	// MetricsToken is server.metrics_token: the bearer token /metrics asks of anyone but a direct
	// loopback peer ("" = loopback only).
	MetricsToken string
	// Detail, when set, adds the state of parts that can run degraded without making the
	// instance unready (rate limits counted locally while Redis fails) to /readyz.
	Detail func() map[string]string
	// Pages, when set, serves the web pages (login, settings, admin) under the same mux. kit gives
	// them the cookie, client-address and CSRF rules of the API, so both behave alike.
	Pages func(mux *http.ServeMux, kit PageKit) error
	// Provider, when set, is the OpenID Provider for apps (package oidcprovider).
	Provider OIDCProvider
	// Catalog, when set, translates error messages for clients that ask for another language
	// (the gatehouse_lang cookie, else Accept-Language); codes never change.
	Catalog *i18n.Catalog
}

// PageKit is what the web pages share with the API.
type PageKit struct {
	// Meta describes the client (IP per trusted_proxies, user agent).
	Meta func(r *http.Request) auth.ClientMeta
	// CheckCSRF refuses cross-origin unsafe requests (Sec-Fetch-Site / Origin).
	CheckCSRF func(r *http.Request) error
	// Principal authenticates the session cookie only: pages never take Bearer tokens.
	Principal func(r *http.Request) (*auth.Principal, error)
	// Cookies writes every gatehouse cookie (cookies.go).
	Cookies Cookies
}

// Server is gatehouse's HTTP handler.
type Server struct {
	auth    *auth.App
	access  *access.Service
	log     *slog.Logger
	metrics *Metrics
	public  *url.URL
	trusted []netip.Prefix
	// xffWarned is set after the first X-Forwarded-For from an untrusted peer has been logged:
	// once per process, since a misconfigured proxy would otherwise log on every request.
	xffWarned    atomic.Bool
	cookies      Cookies
	ready        func(ctx context.Context) error
	writable     func(ctx context.Context) error
	detail       func() map[string]string
	metricsToken string
	provider     OIDCProvider
	catalog      *i18n.Catalog
	csrf         *http.CrossOriginProtection
	mux          *http.ServeMux
	// verifyH is the request check with its metrics, answered before the mux (ServeHTTP).
	verifyH http.Handler

	secHeaders []headerValue
}

type headerValue struct {
	k string
	v []string
}

// securityHeaders go on every response; pages may replace the CSP with their own. HSTS only
// when the public URL is HTTPS: sent over plain HTTP it would be ignored, and on a trial setup
// it would pin a name to HTTPS that nobody serves.
func securityHeaders(public *url.URL) []headerValue {
	hv := func(k, v string) headerValue { return headerValue{http.CanonicalHeaderKey(k), []string{v}} }
	h := []headerValue{
		hv("X-Content-Type-Options", "nosniff"),
		hv("Referrer-Policy", "no-referrer"),
		hv("X-Frame-Options", "DENY"),
		hv("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
	}
	if public.Scheme == "https" {
		h = append(h, hv("Strict-Transport-Security", "max-age=31536000"))
	}
	return h
}

// NewServer builds the handler with every route of routes.go.
func NewServer(d Deps) (*Server, error) {
	s := &Server{auth: d.Auth, access: d.Access, log: d.Logger, metrics: d.Metrics, public: d.PublicURL, trusted: d.TrustedProxies, ready: d.Ready, writable: d.Writable, detail: d.Detail, metricsToken: d.MetricsToken, provider: d.Provider, catalog: d.Catalog, mux: http.NewServeMux(), secHeaders: securityHeaders(d.PublicURL)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.cookies = newCookies(d.PublicURL.Path, d.CookieDomain, func() bool { return d.Auth.Core.Settings().CookieSecure })
	// Cross-origin protection (Sec-Fetch-Site / Origin) guards every unsafe request made with
	// the cookie. Behind a proxy the Host header may differ from the public URL, so the public
	// origin is trusted explicitly.
	s.csrf = http.NewCrossOriginProtection()
	if err := s.csrf.AddTrustedOrigin(d.PublicURL.Scheme + "://" + d.PublicURL.Host); err != nil {
		return nil, err
	}
	s.routes()
	kit := PageKit{Meta: s.meta, CheckCSRF: s.csrf.Check, Principal: s.cookiePrincipal,
		Cookies: s.cookies}
	if d.Pages != nil {
		if err := d.Pages(s.mux, kit); err != nil {
			return nil, err
		}
	}
	if d.Provider != nil {
		if err := d.Provider.Mount(s.mux, kit); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ServeHTTP applies the middleware every response needs: panic recovery and security headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: errorDetail{Code: "internal", Message: "internal error; the server log has details"}})
		}
	}()
	// The request check answers every request of the protected apps: it goes straight to its
	// handler instead of through the mux's choice among ~100 patterns (bench/README.md has the
	// profile). The path is exact, so the mux would pick the same handler; any other spelling
	// (a trailing slash, dot segments) still goes through the mux and its redirects.
	//
	// Forward auth's 200 answer is read by the proxy, never shown by a browser: it goes without
	// the security headers, which verify adds itself to the answers a browser may see. With
	// them the header map outgrows its small form (eight entries) on the hottest path, which
	// measured as half of the check's cost.
	if r.URL.Path == verifyPath {
		s.verifyH.ServeHTTP(w, r)
		return
	}
	s.setSecurityHeaders(w)
	s.mux.ServeHTTP(w, r)
}

// setSecurityHeaders adds the headers every browser-facing answer carries. The value slices are
// shared by every response (one allocation per server, not four per request); their length
// equals their capacity, so a later Add copies instead of writing into them, and Set replaces
// them.
func (s *Server) setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	for _, kv := range s.secHeaders {
		h[kv.k] = kv.v
	}
}

// statusWriter remembers the status for metrics. Writers are pooled: the request check must not
// pay an allocation for its own bookkeeping.
type statusWriter struct {
	http.ResponseWriter
	status int
}

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handle registers a route (see wrap); the handler's error becomes the JSON error answer
// (serve, errors.go).
func (s *Server) handle(pattern string, h handlerFunc) {
	s.mux.Handle(pattern, s.wrap(pattern, s.serve(h)))
}

// wrap adds what every route gets: metrics (requests by status class, latency by status code)
// and, for unsafe methods, cross-origin protection when the request does not carry a Bearer
// token (a browser cannot attach one by itself).
func (s *Server) wrap(pattern string, h http.HandlerFunc) http.Handler {
	var rm *routeMetrics
	if s.metrics != nil {
		rm = s.metrics.forRoute(pattern)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		if !hasBearer(r) {
			if err := s.csrf.Check(r); err != nil {
				// Go's reason ("browser is out of date: Sec-Fetch-Site is missing...") is for the
				// log; the pages' scripts show the message to people as it is.
				s.log.Info("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "err", err)
				s.writeError(w, r, gatehouse.Errorf(codeCSRF, "This request was sent from another site or by an old browser, so it was refused. Go back, reload the page and try again."))
				if rm != nil {
					rm.observe(http.StatusForbidden, time.Since(t0))
				}
				return
			}
		}
		if rm == nil {
			h(w, r)
			return
		}
		sw := statusWriters.Get().(*statusWriter)
		sw.ResponseWriter, sw.status = w, 0
		h(sw, r)
		status := sw.status
		sw.ResponseWriter = nil
		statusWriters.Put(sw)
		if status == 0 {
			status = http.StatusOK
		}
		rm.observe(status, time.Since(t0))
	})
}

func hasBearer(r *http.Request) bool {
	a := r.Header.Get("Authorization")
	return len(a) > 7 && (a[:7] == "Bearer " || a[:7] == "bearer ")
}

func (s *Server) meta(r *http.Request) auth.ClientMeta {
	// Stored in sessions and the audit trail: cut to 512 bytes and made valid UTF-8 (a cut can
	// split a character; a client can send anything), since PostgreSQL refuses invalid text and
	// a refused insert must not let a request leave no trace.
	ua := r.UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	ua = strings.ToValidUTF8(ua, "")
	ip, untrusted := clientip.Of(r, s.trusted)
	if untrusted && s.xffWarned.CompareAndSwap(false, true) {
		s.log.Warn("X-Forwarded-For from a peer that is not a trusted proxy is ignored; if this peer is your reverse proxy, add its address or range to server.trusted_proxies (logged once)", "peer", ip.String())
	}
	ips := ""
	if ip.IsValid() {
		ips = ip.String()
	}
	path := r.URL.Path // decoded: %ff makes invalid UTF-8 too
	if len(path) > 512 {
		path = path[:512]
	}
	path = strings.ToValidUTF8(path, "")
	return auth.ClientMeta{IP: ips, UserAgent: ua, Method: r.Method, Path: path}
}
