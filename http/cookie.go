package http

import (
	"net/http"
	"net/textproto"
	"strings"
)

// sessionCookie finds the session cookie's value the way r.Cookie(CookieName) does (the first
// well-formed one, surrounding quotes removed) without allocating: r.Cookie builds a slice and
// a Cookie for every request check that carries a cookie. cookie_internal_test.go holds it to
// net/http's answer.
func sessionCookie(r *http.Request) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			// A name without "=" is a cookie with an empty value to net/http, too.
			name, val, _ := strings.Cut(textproto.TrimString(part), "=")
			if name != CookieName {
				continue
			}
			if len(val) > 1 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			if validCookieValue(val) {
				return val, true
			}
		}
	}
	return "", false
}

// validCookieValue is net/http's rule for cookie-value bytes (RFC 6265 with the space and comma
// it tolerates).
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}
