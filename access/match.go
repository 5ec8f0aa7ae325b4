package access

import (
	"net/netip"
	"slices"
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
	// from is the rule list that decided, set by Service.Decide for DecideUser.
	from *Matcher
}

// Match returns the decision of the first rule matching r and sub (nil: not signed in). It
// allocates nothing and takes no lock.
func (m *Matcher) Match(r *Request, sub *Subject) Decision {
	return m.matchFrom(m.candidates(r.Host), 0, r, sub)
}

// Resume is Match for a signed-in sub after anon, m's decision for the same request without a
// user. anon is the answer whenever it did not ask for the user: the first rule matching the
// request named no subjects, or no rule matched, and then who is asking changes nothing. When
// it did, no rule before anon.Rule matched the request, so the scan starts there.
func (m *Matcher) Resume(r *Request, sub *Subject, anon Decision) Decision {
	if !anon.NeedUser || anon.Rule < 0 {
		return anon
	}
	cand := m.candidates(r.Host)
	from, _ := slices.BinarySearch(cand, int32(anon.Rule))
	return m.matchFrom(cand, from, r, sub)
}

// matchFrom judges the request by the candidate rules cand[from:], in order. Every candidate
// matches the request's host already (candidates), so only the other parts are tested.
func (m *Matcher) matchFrom(cand []int32, from int, r *Request, sub *Subject) Decision {
	for _, i := range cand[from:] {
		ru := &m.rules[i]
		// The cheapest test first, inline: among one host's rules, most are about other paths.
		if !hasPrefix(r.Path, ru.pathPre) ||
			len(ru.methods) > 0 && !ru.matchMethod(r.Method) ||
			len(ru.nets) > 0 && !ru.matchNet(r.IP) ||
			len(ru.paths) > 0 && !ru.matchPath(r.Path) {
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

// hasPrefix is strings.HasPrefix that compares the last byte of the prefix first: the paths of
// one host's rules mostly share their beginning ("/api/v1/", "/api/v2/"), so that byte rejects
// most of them without a call to compare the whole prefix.
func hasPrefix(s, prefix string) bool {
	n := len(prefix)
	return n == 0 || len(s) >= n && s[n-1] == prefix[n-1] && s[:n] == prefix
}

// maxName is longer than any domain a rule can name ("*." and 253 bytes): the index is looked
// up with at most this many bytes of the end of a host name.
const maxName = 256

// candidates returns the rules that can match a request for host (as sent: any case, maybe a
// port), in order: the list of the host name when a rule names it exactly, else the list of
// the longest wildcard suffix ("*.example.com") the name ends with, else the rules without
// domains. Each list was built by testing every rule's domains against that key (index), so
// it holds exactly the rules whose domains match the host.
func (m *Matcher) candidates(h string) []int32 {
	h = hostPart(h)
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return m.candidatesUpper(h)
		}
	}
	return lookup(m, h, len(h))
}

// candidatesUpper is candidates for a name with an upper-case letter, lower-cased as the rules
// were: an ASCII name in a buffer on the stack, so without allocating.
func (m *Matcher) candidatesUpper(h string) []int32 {
	if unicodeLower(h) {
		// strings.ToLower, which the matcher has always applied to such a name, also maps some
		// non-ASCII letters to ASCII ones (the Kelvin sign to 'k'): the rare name with both pays
		// its allocation and keeps that meaning.
		h = strings.ToLower(h)
		return lookup(m, h, len(h))
	}
	var buf [maxName]byte
	tail := h
	if len(tail) > maxName {
		// Only the end of a longer name can meet a rule: a wildcard's suffix.
		tail = tail[len(tail)-maxName:]
	}
	n := copy(buf[:], tail)
	for i := range n {
		if c := buf[i]; c >= 'A' && c <= 'Z' {
			buf[i] = c + 'a' - 'A'
		}
	}
	return lookup(m, buf[:n], len(h))
}

// lookup finds the candidates of a lower-case name, of which name is the last (at most
// maxName) bytes and full the whole length.
func lookup[S string | []byte](m *Matcher, name S, full int) []int32 {
	n := len(name)
	if full == n {
		if c, ok := m.byHost[string(name)]; ok {
			return c
		}
	}
	if len(m.bySuffix) > 0 {
		// Left to right, so the first suffix found is the longest. A suffix must leave at least
		// one byte before it ("*.example.com" matches neither "example.com" nor ".example.com").
		for i := max(0, n-m.maxSuffix); i < n; i++ {
			if name[i] == '.' && (i > 0 || full > n) {
				if c, ok := m.bySuffix[string(name[i:])]; ok {
					return c
				}
			}
		}
	}
	return m.other
}

// unicodeLower reports whether h has both an upper-case ASCII letter and a non-ASCII byte.
func unicodeLower(h string) bool {
	upper, other := false, false
	for i := 0; i < len(h); i++ {
		c := h[i]
		upper = upper || c >= 'A' && c <= 'Z'
		other = other || c >= 0x80
	}
	return upper && other
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
		// Methods are stored upper-case and proxies send them so: == decides almost always.
		if m == x || strings.EqualFold(m, x) {
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

// hostPart strips a port, the brackets of an IPv6 literal and a trailing dot.
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
