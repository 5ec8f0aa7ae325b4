package access

import (
	"net/netip"
	"strings"
)

// Request is the original request a proxy asks about. Host may carry a port and any case; Path
// is the path without the query, already cleaned (CleanPath); Method is as sent.
type Request struct {
	Host   string
	Path   string
	Method string
	IP     netip.Addr
}

// Subject is the signed-in user a request is from.
type Subject struct {
	Username string
	// Groups are the user's group names (normalized).
	Groups []string
}

// Decision is the outcome of matching a request.
type Decision struct {
	// Rule is the index of the matching rule, -1 when the default policy applied.
	Rule   int
	Policy Policy
	// NeedUser is set for an anonymous request when the first rule matching everything but the
	// subjects names subjects: who the user is decides, so the caller must sign them in first.
	NeedUser bool
}

// Match returns the decision of the first rule matching r and sub (nil: not signed in). It
// allocates nothing and takes no lock.
func (m *Matcher) Match(r *Request, sub *Subject) Decision {
	host := hostOnly(r.Host)
	cand, known := m.byHost[host]
	if !known {
		cand = m.other
	}
	for _, i := range cand {
		ru := &m.rules[i]
		if !ru.matchRequest(host, r) {
			continue
		}
		if !ru.hasSubjects() {
			return Decision{Rule: int(i), Policy: ru.policy}
		}
		if sub == nil {
			return Decision{Rule: int(i), Policy: ru.policy, NeedUser: true}
		}
		if ru.matchSubject(sub) {
			return Decision{Rule: int(i), Policy: ru.policy}
		}
	}
	return Decision{Rule: -1, Policy: m.def}
}

func (ru *rule) matchRequest(host string, r *Request) bool {
	return ru.matchHost(host) && ru.matchMethod(r.Method) && ru.matchNet(r.IP) && ru.matchPath(r.Path)
}

func (ru *rule) matchHost(host string) bool {
	if len(ru.exact) == 0 && len(ru.suffix) == 0 {
		return true
	}
	for _, d := range ru.exact {
		if host == d {
			return true
		}
	}
	for _, sfx := range ru.suffix {
		// "*.example.com" matches any name under example.com, not example.com itself.
		if len(host) > len(sfx) && host[len(host)-len(sfx):] == sfx {
			return true
		}
	}
	return false
}

func (ru *rule) matchMethod(m string) bool {
	if len(ru.methods) == 0 {
		return true
	}
	for _, x := range ru.methods {
		if strings.EqualFold(m, x) {
			return true
		}
	}
	return false
}

func (ru *rule) matchNet(ip netip.Addr) bool {
	if len(ru.nets) == 0 {
		return true
	}
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range ru.nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (ru *rule) matchPath(p string) bool {
	if len(ru.paths) == 0 {
		return true
	}
	for i := range ru.paths {
		if ru.paths[i].match(p) {
			return true
		}
	}
	return false
}

func (ru *rule) matchSubject(sub *Subject) bool {
	for _, u := range ru.users {
		if strings.EqualFold(sub.Username, u) {
			return true
		}
	}
	for _, g := range ru.groups {
		for _, have := range sub.Groups {
			if g == have {
				return true
			}
		}
	}
	return false
}

// hostOnly strips a port, the brackets of an IPv6 literal and a trailing dot, and lower-cases
// the name; it allocates only for a name that has upper-case letters (browsers and proxies send
// lower case).
func hostOnly(h string) string {
	h = hostPart(h)
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

func hostPart(h string) string {
	if strings.HasPrefix(h, "[") {
		if end := strings.IndexByte(h, ']'); end > 0 {
			return h[1:end]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h, ':') == i {
		h = h[:i]
	}
	return strings.TrimSuffix(h, ".")
}
