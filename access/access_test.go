package access

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/accesstest"
)

func mustCompile(t testing.TB, rules []gatehouse.AccessRule, def Policy) *Matcher {
	t.Helper()
	m, err := Compile(rules, def)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return m
}

// sample is a rule list like a small company's: a public site, a health check, an admin area
// for a group from the office network, a wiki for two people, and everything else denied.
var sample = []gatehouse.AccessRule{
	{Domains: []string{"www.example.com"}, Policy: "bypass"},
	{Domains: []string{"*.example.com"}, Paths: []string{"^/healthz$"}, Methods: []string{"get", "HEAD"}, Policy: "bypass"},
	{Domains: []string{"admin.example.com"}, Networks: []string{"10.0.0.0/8", "2001:db8::/32"}, Subjects: []string{"group:Admins"}, Policy: "two_factor"},
	{Domains: []string{"admin.example.com"}, Policy: "deny"},
	{Domains: []string{"wiki.example.com"}, Paths: []string{"^/edit(/.*)?$"}, Subjects: []string{"user:alice", "user:Bob"}, Policy: "one_factor"},
	{Domains: []string{"wiki.example.com"}, Paths: []string{"^/edit(/.*)?$"}, Policy: "deny"},
	{Domains: []string{"*.internal.example.com"}, Policy: "two_factor"},
}

func TestMatch(t *testing.T) {
	m := mustCompile(t, sample, OneFactor)
	office := netip.MustParseAddr("10.1.2.3")
	home := netip.MustParseAddr("198.51.100.7")
	admin := &Subject{Username: "carol", Groups: []string{"admins", "dev"}}
	alice := &Subject{Username: "alice"}
	nobody := &Subject{Username: "dave", Groups: []string{"dev"}}
	cases := []struct {
		name     string
		req      Request
		sub      *Subject
		rule     int
		policy   Policy
		needUser bool
	}{
		{"public site, anonymous", Request{Host: "www.example.com", Path: "/", Method: "GET"}, nil, 0, Bypass, false},
		{"host case and port do not matter", Request{Host: "WWW.Example.COM:8443", Path: "/x", Method: "GET"}, nil, 0, Bypass, false},
		{"trailing dot", Request{Host: "www.example.com.", Path: "/x", Method: "GET"}, nil, 0, Bypass, false},
		{"health check on any subdomain", Request{Host: "app.example.com", Path: "/healthz", Method: "GET"}, nil, 1, Bypass, false},
		{"health check, other method", Request{Host: "app.example.com", Path: "/healthz", Method: "POST"}, nil, -1, OneFactor, false},
		{"health check, anchored path", Request{Host: "app.example.com", Path: "/healthz/x", Method: "GET"}, nil, -1, OneFactor, false},
		{"wildcard does not match the bare domain", Request{Host: "example.com", Path: "/healthz", Method: "GET"}, nil, -1, OneFactor, false},
		{"admin from the office", Request{Host: "admin.example.com", Path: "/", Method: "GET", IP: office}, admin, 2, TwoFactor, false},
		{"admin from an IPv4-mapped office address", Request{Host: "admin.example.com", Path: "/", Method: "GET", IP: netip.MustParseAddr("::ffff:10.9.9.9")}, admin, 2, TwoFactor, false},
		{"admin from home", Request{Host: "admin.example.com", Path: "/", Method: "GET", IP: home}, admin, 3, Deny, false},
		{"admin group member missing", Request{Host: "admin.example.com", Path: "/", Method: "GET", IP: office}, nobody, 3, Deny, false},
		{"anonymous at a subject rule must sign in", Request{Host: "admin.example.com", Path: "/", Method: "GET", IP: office}, nil, 2, TwoFactor, true},
		{"anonymous with no address", Request{Host: "admin.example.com", Path: "/", Method: "GET"}, nil, 3, Deny, false},
		{"wiki edit by a named user, any case", Request{Host: "wiki.example.com", Path: "/edit/page", Method: "POST"}, &Subject{Username: "BOB"}, 4, OneFactor, false},
		{"wiki edit by alice", Request{Host: "wiki.example.com", Path: "/edit", Method: "POST"}, alice, 4, OneFactor, false},
		{"wiki edit by someone else", Request{Host: "wiki.example.com", Path: "/edit", Method: "POST"}, nobody, 5, Deny, false},
		{"wiki read", Request{Host: "wiki.example.com", Path: "/read", Method: "GET"}, nobody, -1, OneFactor, false},
		{"deeper wildcard", Request{Host: "db.internal.example.com", Path: "/", Method: "GET"}, nobody, 6, TwoFactor, false},
		{"IPv6 literal host", Request{Host: "[2001:db8::1]:443", Path: "/", Method: "GET"}, nobody, -1, OneFactor, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := m.Match(&c.req, c.sub)
			if d.Rule != c.rule || d.Policy != c.policy || d.NeedUser != c.needUser {
				t.Fatalf("Match = rule %d %v need user %v, want rule %d %v need user %v", d.Rule, d.Policy, d.NeedUser, c.rule, c.policy, c.needUser)
			}
		})
	}
	if d := m.WithDefault(Deny).Match(&Request{Host: "other.org", Path: "/"}, nil); d.Rule != -1 || d.Policy != Deny {
		t.Fatalf("WithDefault(Deny): %+v", d)
	}
	if d := mustCompile(t, nil, OneFactor).Match(&Request{Host: "x", Path: "/"}, nil); d.Rule != -1 || d.Policy != OneFactor {
		t.Fatalf("empty list: %+v", d)
	}
}

func TestNormalize(t *testing.T) {
	got, err := Normalize([]gatehouse.AccessRule{{
		Domains: []string{" App.Example.COM ", "*.Example.com"}, Methods: []string{"get"}, Networks: []string{"10.1.2.3/8", "192.0.2.1", "2001:DB8::1"},
		Subjects: []string{"group:Admins", "user:Alice"}, Policy: "one_factor",
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := got[0]
	want := gatehouse.AccessRule{Domains: []string{"app.example.com", "*.example.com"}, Methods: []string{"GET"},
		Networks: []string{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::1/128"}, Subjects: []string{"group:admins", "user:alice"}, Policy: "one_factor"}
	if fmt.Sprint(r) != fmt.Sprint(want) {
		t.Fatalf("Normalize = %+v, want %+v", r, want)
	}
}

func TestValidationErrors(t *testing.T) {
	ok := gatehouse.AccessRule{Policy: "one_factor"}
	cases := []struct {
		rule         gatehouse.AccessRule
		field, words string
	}{
		{gatehouse.AccessRule{Policy: "allow"}, "rules[1].policy", `policy "allow" is not one of`},
		{gatehouse.AccessRule{Policy: ""}, "rules[1].policy", `policy "" is not one of`},
		{gatehouse.AccessRule{Paths: []string{"^/ok$", "^/admin(["}, Policy: "deny"}, "rules[1].paths[1]", "not a valid regular expression"},
		{gatehouse.AccessRule{Networks: []string{"10.0.0.0/33"}, Policy: "deny"}, "rules[1].networks[0]", "not an address or CIDR block"},
		{gatehouse.AccessRule{Networks: []string{"office"}, Policy: "deny"}, "rules[1].networks[0]", "not an address or CIDR block"},
		{gatehouse.AccessRule{Domains: []string{"https://app.example.com"}, Policy: "deny"}, "rules[1].domains[0]", "not a host name"},
		{gatehouse.AccessRule{Domains: []string{"app.*.com"}, Policy: "deny"}, "rules[1].domains[0]", "not a host name"},
		{gatehouse.AccessRule{Domains: []string{"*."}, Policy: "deny"}, "rules[1].domains[0]", "empty"},
		{gatehouse.AccessRule{Methods: []string{"GET /"}, Policy: "deny"}, "rules[1].methods[0]", "not an HTTP method"},
		{gatehouse.AccessRule{Subjects: []string{"admins"}, Policy: "deny"}, "rules[1].subjects[0]", "user:NAME or group:NAME"},
		{gatehouse.AccessRule{Subjects: []string{"group:a,b"}, Policy: "deny"}, "rules[1].subjects[0]", "group name may contain only"},
		{gatehouse.AccessRule{Subjects: []string{"user:alice"}, Policy: "bypass"}, "rules[1].subjects", "bypass rule cannot have subjects"},
		{gatehouse.AccessRule{Paths: []string{strings.Repeat("a", MaxPatternLen+1)}, Policy: "deny"}, "rules[1].paths[0]", "longer than"},
	}
	for _, c := range cases {
		t.Run(c.field+" "+c.words, func(t *testing.T) {
			_, err := Compile([]gatehouse.AccessRule{ok, c.rule}, OneFactor)
			e, isErr := err.(*gatehouse.Error)
			if !isErr || e.Code != gatehouse.EInvalid || e.Field != c.field || !strings.Contains(e.Message, c.words) || !strings.HasPrefix(e.Message, "rule 2: ") {
				t.Fatalf("err = %#v, want invalid_input on %s saying %q", err, c.field, c.words)
			}
		})
	}
	many := make([]gatehouse.AccessRule, MaxRules+1)
	for i := range many {
		many[i] = ok
	}
	if _, err := Compile(many, OneFactor); gatehouse.ErrorCode(err) != gatehouse.EInvalid {
		t.Fatalf("%d rules: err = %v", len(many), err)
	}
}

func TestSplitURL(t *testing.T) {
	cases := []struct{ in, host, uri string }{
		{"https://app.example.com/a/b?x=1&y=2", "app.example.com", "/a/b?x=1&y=2"},
		{"http://app.example.com:8080", "app.example.com:8080", "/"},
		{"https://app.example.com?q", "app.example.com", "?q"},
		{"ftp://app.example.com/", "", ""},
		{"https://evil.com@app.example.com/", "", ""},
		{"https:///path", "", ""},
		{"/relative", "", ""},
	}
	for _, c := range cases {
		host, uri, ok := SplitURL(c.in)
		if host != c.host || uri != c.uri || ok != (c.host != "") {
			t.Errorf("SplitURL(%q) = %q %q %v, want %q %q", c.in, host, uri, ok, c.host, c.uri)
		}
	}
}

func TestCleanPath(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/a/b?x=1", "/a/b"},
		{"", "/"},
		{"?x", "/"},
		{"/admin/", "/admin/"},
		{"/public/../admin", "/admin"},
		{"/public/%2e%2e/admin", "/admin"},
		{"/public/%2E%2E%2Fadmin", "/admin"},
		{"/public/..%5cadmin", "/admin"},
		{"//admin", "/admin"},
		{"/./admin/./x/", "/admin/x/"},
		{"/../../admin", "/admin"},
		{"/a%20b", "/a b"},
		{"/.well-known/x", "/.well-known/x"},
		{"/..hidden", "/..hidden"},
	}
	for _, c := range cases {
		if got, ok := CleanPath(c.in); !ok || got != c.want {
			t.Errorf("CleanPath(%q) = %q %v, want %q", c.in, got, ok, c.want)
		}
	}
	for _, bad := range []string{"relative", "/bad%zz", "/nul%00"} {
		if got, ok := CleanPath(bad); ok {
			t.Errorf("CleanPath(%q) = %q, want refused", bad, got)
		}
	}
}

// TestMatchAllocatesNothing guards the promise the request check relies on.
func TestMatchAllocatesNothing(t *testing.T) {
	m := mustCompile(t, accesstest.HundredRules(), OneFactor)
	req := &Request{Host: "app99.example.com:443", Path: "/api/v1/items/42", Method: "GET", IP: netip.MustParseAddr("10.0.0.1")}
	upper := &Request{Host: "App99.EXAMPLE.com", Path: "/api/v1/items/42", Method: "get"}
	sub := &Subject{Username: "alice", Groups: []string{"g1", "g99"}}
	allocs := testing.AllocsPerRun(200, func() {
		if d := m.Match(req, sub); d.Rule != 99 {
			t.Fatalf("rule %d matched, want 99", d.Rule)
		}
		if d := m.Resume(req, sub, m.Match(req, nil)); d.Rule != 99 {
			t.Fatalf("Resume: rule %d matched, want 99", d.Rule)
		}
		// A name in capitals, as a user may type it, is lower-cased without allocating too.
		if d := m.Match(upper, sub); d.Rule != 99 {
			t.Fatalf("upper-case host: rule %d matched, want 99", d.Rule)
		}
		if _, ok := CleanPath("/api/v1/items/42?x=1"); !ok {
			t.Fatal("CleanPath")
		}
		if _, _, ok := SplitURL("https://app99.example.com/api/v1/items/42?x=1"); !ok {
			t.Fatal("SplitURL")
		}
	})
	if allocs != 0 {
		t.Fatalf("Match, Resume, CleanPath and SplitURL allocate %v times per request, want 0", allocs)
	}
}

func BenchmarkMatch100RulesLastMatches(b *testing.B) {
	m := mustCompile(b, accesstest.HundredRules(), OneFactor)
	req := &Request{Host: "app99.example.com", Path: "/api/v1/items/42", Method: "GET", IP: netip.MustParseAddr("10.0.0.1")}
	sub := &Subject{Username: "alice", Groups: []string{"g1", "g99"}}
	b.ReportAllocs()
	for b.Loop() {
		if d := m.Match(req, sub); d.Rule != 99 {
			b.Fatal(d)
		}
	}
}

func BenchmarkMatchSampleFirstRule(b *testing.B) {
	m := mustCompile(b, sample, OneFactor)
	req := &Request{Host: "www.example.com", Path: "/", Method: "GET"}
	b.ReportAllocs()
	for b.Loop() {
		m.Match(req, nil)
	}
}

func BenchmarkCleanPathClean(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		CleanPath("/api/v1/items/42?x=1")
	}
}

// hostOnly is the host name as the rules were always matched against: hostPart, lower-cased
// (strings.ToLower) when it has an upper-case letter.
func hostOnly(h string) string {
	h = hostPart(h)
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// naive is the definition the matcher must agree with, written from CONTRACT.md's rule list
// (normalized) with none of the matcher's shortcuts: every rule in order, every domain, the
// regular expression of every path, first match wins. res caches compiled expressions.
type naive struct {
	rules []gatehouse.AccessRule
	def   Policy
	res   map[string]*regexp.Regexp
}

func newNaive(t testing.TB, rules []gatehouse.AccessRule, def Policy) *naive {
	t.Helper()
	norm, err := Normalize(rules)
	if err != nil {
		t.Fatal(err)
	}
	return &naive{rules: norm, def: def, res: map[string]*regexp.Regexp{}}
}

func (n *naive) decide(r *Request, sub *Subject) Decision {
	host := hostOnly(r.Host)
	for i := range n.rules {
		ru := &n.rules[i]
		if !n.request(ru, host, r) {
			continue
		}
		pol, _ := ParsePolicy(ru.Policy)
		switch {
		case len(ru.Subjects) == 0:
			return Decision{Rule: i, Policy: pol}
		case sub == nil:
			return Decision{Rule: i, Policy: pol, NeedUser: true}
		case naiveSubject(ru, sub):
			return Decision{Rule: i, Policy: pol}
		}
	}
	return Decision{Rule: -1, Policy: n.def}
}

func (n *naive) request(ru *gatehouse.AccessRule, host string, r *Request) bool {
	return anyOf(ru.Domains, func(d string) bool {
		if rest, wild := strings.CutPrefix(d, "*."); wild {
			return strings.HasSuffix(host, "."+rest) && len(host) > len(rest)+1
		}
		return host == d
	}) && anyOf(ru.Methods, func(m string) bool { return strings.EqualFold(r.Method, m) }) &&
		anyOf(ru.Networks, func(n string) bool { return r.IP.IsValid() && netip.MustParsePrefix(n).Contains(r.IP.Unmap()) }) &&
		anyOf(ru.Paths, func(p string) bool {
			if n.res[p] == nil {
				n.res[p] = regexp.MustCompile(p)
			}
			return n.res[p].MatchString(r.Path)
		})
}

func naiveSubject(ru *gatehouse.AccessRule, sub *Subject) bool {
	return slices.ContainsFunc(ru.Subjects, func(s string) bool {
		if u, ok := strings.CutPrefix(s, "user:"); ok {
			return strings.EqualFold(sub.Username, u)
		}
		return slices.Contains(sub.Groups, strings.TrimPrefix(s, "group:"))
	})
}

// anyOf is true for an empty list (no condition) or when f holds for an element.
func anyOf(l []string, f func(string) bool) bool { return len(l) == 0 || slices.ContainsFunc(l, f) }

// agree checks Match, and Resume after the anonymous decision, against naive for one request.
func agree(t testing.TB, m *Matcher, ref *naive, r *Request, sub *Subject) {
	t.Helper()
	anon := m.Match(r, nil)
	if want := ref.decide(r, nil); anon != want {
		t.Fatalf("%s %q %q from %v, anonymous: matcher %+v, naive %+v\nrules: %+v", r.Method, r.Host, r.Path, r.IP, anon, want, ref.rules)
	}
	if sub == nil {
		return
	}
	want := ref.decide(r, sub)
	if got := m.Match(r, sub); got != want {
		t.Fatalf("%s %q %q from %v as %+v: matcher %+v, naive %+v\nrules: %+v", r.Method, r.Host, r.Path, r.IP, sub, got, want, ref.rules)
	}
	if got := m.Resume(r, sub, anon); got != want {
		t.Fatalf("%s %q %q from %v as %+v: Resume after %+v gives %+v, naive %+v\nrules: %+v", r.Method, r.Host, r.Path, r.IP, sub, anon, got, want, ref.rules)
	}
}

func TestHostIndexAgreesWithLinearScan(t *testing.T) {
	hosts := []string{"www.example.com", "app.example.com", "admin.example.com", "wiki.example.com", "db.internal.example.com",
		"example.com", "other.org", "app3.example.com", "app98.example.com", "x.svc7.example.org", "svc7.example.org", "APP5.example.com:80"}
	paths := []string{"/", "/healthz", "/edit/x", "/api/v4/x", "/team3/", "/api/v1"}
	subs := []*Subject{nil, {Username: "alice"}, {Username: "carol", Groups: []string{"admins", "g1", "g5", "g99"}}}
	for _, rules := range [][]gatehouse.AccessRule{sample, accesstest.HundredRules()} {
		m, ref := mustCompile(t, rules, OneFactor), newNaive(t, rules, OneFactor)
		for _, h := range hosts {
			for _, p := range paths {
				for _, meth := range []string{"GET", "POST"} {
					for _, s := range subs {
						agree(t, m, ref, &Request{Host: h, Path: p, Method: meth, IP: netip.MustParseAddr("10.0.0.1")}, s)
					}
				}
			}
		}
	}
}
