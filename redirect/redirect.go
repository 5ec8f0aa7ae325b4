// Package redirect decides whether a return address (`rd`) is safe to send a browser to after
// sign-in: only addresses on the public URL's site are, so gatehouse is never an open redirect.
package redirect

import (
	"net/netip"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Safe resolves rd against the public URL and returns it as an absolute URL when it is on the
// same site: the same host, or a host under the same registrable domain (eTLD+1), over HTTPS or
// the public URL's own scheme. Anything else - other sites, other schemes, credentials in the
// URL, backslashes or control characters that browsers interpret loosely - is refused.
func Safe(public *url.URL, rd string) (string, bool) {
	if rd == "" || len(rd) > 2048 || strings.ContainsAny(rd, "\\") {
		return "", false
	}
	for _, c := range rd {
		if c < 0x20 || c == 0x7f {
			return "", false
		}
	}
	u, err := url.Parse(rd)
	if err != nil {
		return "", false
	}
	u = public.ResolveReference(u)
	if u.User != nil || u.Host == "" || u.Opaque != "" {
		return "", false
	}
	if u.Scheme != "https" && u.Scheme != public.Scheme {
		return "", false
	}
	if public.Scheme == "https" && u.Scheme != "https" {
		return "", false // never downgrade
	}
	if !SameSite(public.Hostname(), u.Hostname()) {
		return "", false
	}
	// Escaping can make the target longer than the limit (found by FuzzSafe): refuse it then, so
	// an accepted target is accepted again when it comes back (login page -> sign-in -> redirect).
	out := u.String()
	if len(out) > 2048 {
		return "", false
	}
	return out, true
}

// SameSite reports whether host b is on the site of host a.
func SameSite(a, b string) bool {
	a, b = strings.ToLower(strings.TrimSuffix(a, ".")), strings.ToLower(strings.TrimSuffix(b, "."))
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	// IP addresses and single-label names (localhost) have no registrable domain: exact only.
	if _, err := netip.ParseAddr(a); err == nil {
		return false
	}
	if _, err := netip.ParseAddr(b); err == nil {
		return false
	}
	ea, err := publicsuffix.EffectiveTLDPlusOne(a)
	if err != nil {
		return false
	}
	eb, err := publicsuffix.EffectiveTLDPlusOne(b)
	return err == nil && ea == eb
}
