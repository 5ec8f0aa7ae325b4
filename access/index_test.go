package access

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// Pools the random rule lists and requests draw from, chosen to meet: nested wildcards
// (*.com, *.example.com, *.a.example.com) next to exact names under them, rules without
// domains, path expressions the matcher decides by their text alone ("^/api/", "^/healthz$")
// next to ones it must run (case-folded, unanchored, multi-line, alternations, optional
// tails), methods, networks of both families and subjects.
var (
	randDomains = []string{"example.com", "*.example.com", "a.example.com", "*.a.example.com", "b.a.example.com",
		"*.com", "other.org", "*.other.org", "x.y.other.org", "*.y.other.org", "app99.example.com", "*.svc1.example.org", "ka.example.com"}
	randPaths = []string{"^/api/", "^/api", "^/healthz$", "^/", "^/team1(/.*)?$", "(?i)^/API/", "/admin", "(?m)^/x",
		"^/a|^/b", "^/edit(/.*)?$", "^/caf\u00e9/", "^$", "^/api/v1/items/[0-9]+$", "^/\ufffd", "^/\\.well-known/"}
	randMethods  = []string{"GET", "POST", "put", "HEAD"}
	randNetworks = []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "::ffff:10.0.0.0/104", "0.0.0.0/0"}
	randSubjects = []string{"user:alice", "user:Bob", "group:admins", "group:dev", "group:g99"}
	randPolicies = []string{"deny", "bypass", "one_factor", "two_factor"}

	randHosts = []string{"example.com", "a.example.com", "b.a.example.com", "c.b.a.example.com", "z.example.com",
		"EXAMPLE.com", "A.Example.COM:8443", "a.example.com.", ".example.com", "example.com.evil.org", "com",
		"other.org", "x.y.other.org", "y.other.org", "q.y.other.org", "k.svc1.example.org", "svc1.example.org",
		"[2001:db8::1]:443", "10.0.0.1", "", "app99.example.com", "\u212aA.example.com", "\u212a.example.com",
		strings.Repeat("long.", 60) + "a.example.com", strings.Repeat("L", 300) + ".example.com", "a..example.com"}
	randReqPaths = []string{"/", "/api/", "/api", "/API/x", "/apix", "/healthz", "/healthz/", "/team1", "/team1/x",
		"/team1x", "/admin", "/x/admin", "/a", "/b", "/edit", "/edit/p", "/caf\u00e9/x", "/\xff", "/api/v1/items/42",
		"/.well-known/x", ""}
	randIPs = []netip.Addr{{}, netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.0.2.1"),
		netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::5"), netip.MustParseAddr("::ffff:10.9.9.9")}
	randSubs = []*Subject{nil, {Username: "alice"}, {Username: "BOB", Groups: []string{"dev"}},
		{Username: "carol", Groups: []string{"admins", "g99"}}}
)

func pick[T any](r *rand.Rand, l []T) T { return l[r.IntN(len(l))] }

// some is zero to max elements of pool, most often none (the condition left out).
func some(r *rand.Rand, pool []string, max int) []string {
	if r.IntN(2) == 0 {
		return nil
	}
	out := make([]string, 1+r.IntN(max))
	for i := range out {
		out[i] = pick(r, pool)
	}
	return out
}

func randRules(r *rand.Rand) []gatehouse.AccessRule {
	rules := make([]gatehouse.AccessRule, r.IntN(40))
	for i := range rules {
		ru := gatehouse.AccessRule{Domains: some(r, randDomains, 3), Paths: some(r, randPaths, 2), Methods: some(r, randMethods, 2),
			Subjects: some(r, randSubjects, 2), Policy: pick(r, randPolicies)}
		if r.IntN(4) == 0 {
			ru.Networks = some(r, randNetworks, 2)
		}
		if ru.Policy == "bypass" && len(ru.Subjects) > 0 {
			ru.Policy = "deny"
		}
		rules[i] = ru
	}
	return rules
}

// TestIndexAgreesWithNaiveRandom is a differential test of the host index, the literal path
// tests and Resume: random rule lists, judged by the matcher and by the naive definition for
// random requests, must give the same decision, rule and NeedUser every time.
func TestIndexAgreesWithNaiveRandom(t *testing.T) {
	for seed := range uint64(400) {
		r := rand.New(rand.NewPCG(seed, 17))
		rules := randRules(r)
		def := pick(r, []Policy{OneFactor, Deny, Bypass})
		m, ref := mustCompile(t, rules, def), newNaive(t, rules, def)
		for range 300 {
			req := &Request{Host: pick(r, randHosts), Path: pick(r, randReqPaths), Method: pick(r, randMethods), IP: pick(r, randIPs)}
			agree(seeded{t, seed}, m, ref, req, pick(r, randSubs))
		}
	}
}

// TestLiteralPaths checks which path expressions are decided by their text alone: exactly the
// anchored, case-sensitive literals, whole or as a prefix.
func TestLiteralPaths(t *testing.T) {
	for src, want := range map[string]literalKind{
		"^/api/": literalPrefix, "^/healthz$": literalWhole, "^/caf\u00e9/": literalPrefix,
		"^/team1(/.*)?$": notLiteral, "(?i)^/API/": notLiteral, "/admin": notLiteral, "(?m)^/x": notLiteral,
		"^/a|^/b": notLiteral, "^$": notLiteral, "^/\ufffd": notLiteral, "^/api/v1/[0-9]+$": notLiteral, "^/x$\n": notLiteral,
	} {
		if got := compilePath(src).kind; got != want {
			t.Errorf("compilePath(%q).kind = %d, want %d", src, got, want)
		}
	}
}

// seeded names the seed of a random case in its failure.
type seeded struct {
	testing.TB
	seed uint64
}

func (s seeded) Fatalf(format string, args ...any) {
	s.TB.Helper()
	s.TB.Fatalf("seed %d: %s", s.seed, fmt.Sprintf(format, args...))
}
