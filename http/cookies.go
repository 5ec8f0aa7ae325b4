package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/i18n"
)

// Every cookie gatehouse sets, for the API and the pages alike. All are HttpOnly and
// SameSite=Lax (sent on a top-level navigation back from a provider or a mail link, never on a
// cross-site subrequest); Secure follows the auth_cookie_secure setting at the moment the cookie
// is written, so an administrator's change applies at once.
const (
	// CookieName is the browser session cookie, on every path (and on server.cookie_domain when
	// set, so forward auth for sibling subdomains receives it).
	CookieName = "gatehouse_session"
	// MFACookie carries the second-factor challenge of an external sign-in to the login page.
	MFACookie = "gatehouse_mfa"
	// ExternalCookie binds a started external sign-in to the browser that started it, so a
	// state (or a whole callback URL) taken from one browser cannot be completed in another.
	// It is only sent to the external sign-in endpoints.
	ExternalCookie = "gatehouse_oidc"
	// ExternalPendingCookie ties an external identity that matched no account to the browser
	// that brought it, so that only this browser can ask for the verification mail. Like the
	// sign-in binding cookie it is only sent to the external sign-in endpoints.
	ExternalPendingCookie = "gatehouse_oidc_pending"
	// LanguageCookie is the browser's choice of language for the pages (web/lang.go).
	LanguageCookie = i18n.CookieName
	// DeviceCookie marks the browser as a known device of the account it last signed in to
	// (auth's device tokens): its sign-ins keep working through a sign-in flood or an account
	// lockout. It outlives sign-out on purpose, for a year, and is sent with sign-ins only in
	// effect (only the sign-in handlers read it).
	DeviceCookie = "gatehouse_device"
)

// Cookies writes gatehouse's cookies with their attributes.
type Cookies struct {
	base   string      // the public URL's path without its trailing slash
	domain string      // server.cookie_domain, for the session cookie only
	secure func() bool // the auth_cookie_secure setting
}

func (c Cookies) write(w http.ResponseWriter, name, value, path, domain string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, Domain: domain, MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure(), SameSite: http.SameSiteLaxMode})
}

// externalPath is where the browser sends the external sign-in cookies: the external sign-in
// endpoints under the public URL's path (gatehouse may be served under a prefix).
func (c Cookies) externalPath() string { return c.base + "/api/auth/oidc/" }

// SetSession sets the session cookie of a fresh sign-in (nothing on refresh): a browser-session
// cookie, or a persistent one when the session has a fixed length.
func (c Cookies) SetSession(w http.ResponseWriter, t *auth.Tokens) {
	if t.CookieToken == "" {
		return
	}
	maxAge := 0
	if t.CookieMaxAge > 0 {
		maxAge = int(t.CookieMaxAge / time.Second)
	}
	c.write(w, CookieName, t.CookieToken, "/", c.domain, maxAge)
	if t.DeviceToken != "" {
		c.write(w, DeviceCookie, t.DeviceToken, c.base+"/", "", int(auth.DeviceTTL/time.Second))
	}
}

// DeviceToken is the device token the browser holds, "" when none.
func DeviceToken(r *http.Request) string {
	c, err := r.Cookie(DeviceCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// ClearSession removes the session cookie.
func (c Cookies) ClearSession(w http.ResponseWriter) { c.write(w, CookieName, "", "/", c.domain, -1) }

// SetExternal sets the browser-binding cookie of an external sign-in that was just started.
func (c Cookies) SetExternal(w http.ResponseWriter, value string) {
	c.write(w, ExternalCookie, value, c.externalPath(), "", int(auth.ExternalFlowTTL/time.Second))
}

// ClearExternal removes the browser-binding cookie once its sign-in is over.
func (c Cookies) ClearExternal(w http.ResponseWriter) {
	c.write(w, ExternalCookie, "", c.externalPath(), "", -1)
}

// SetPending sets the cookie of an external identity waiting for its email to be proven.
func (c Cookies) SetPending(w http.ResponseWriter, value string) {
	c.write(w, ExternalPendingCookie, value, c.externalPath(), "", int(auth.ExternalPendingTTL/time.Second))
}

// SetMFA hands the second-factor challenge of an external sign-in to the login page, in a
// short-lived cookie for that page only rather than in the address, where history and logs
// would keep it.
func (c Cookies) SetMFA(w http.ResponseWriter, token string, ttl time.Duration) {
	c.write(w, MFACookie, token, c.base+"/login", "", int(ttl/time.Second))
}

// SetLanguage remembers the pages' language for a year, on every path under the public URL.
func (c Cookies) SetLanguage(w http.ResponseWriter, code string) {
	c.write(w, LanguageCookie, code, c.base+"/", "", 365*24*3600)
}

// ClearMFA removes the challenge cookie once it is spent.
func (c Cookies) ClearMFA(w http.ResponseWriter) { c.write(w, MFACookie, "", c.base+"/login", "", -1) }

func newCookies(public string, domain string, secure func() bool) Cookies {
	return Cookies{base: strings.TrimSuffix(public, "/"), domain: domain, secure: secure}
}
