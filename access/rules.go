// Package access decides who may reach which app behind the reverse proxy: it validates the
// ordered list of access rules (gatehouse.AccessRule), compiles it into an immutable Matcher and
// evaluates requests against it. Evaluation allocates nothing, so it adds no garbage to the
// forward-auth check that answers every request of every protected app.
package access

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// Limits that keep a rule list something a person can review and the matcher cheap.
const (
	MaxRules      = 500
	MaxListLen    = 64   // entries in one rule's domains, paths, methods, networks or subjects
	MaxPatternLen = 1024 // bytes of one path expression
)

// Policy is what a matching rule asks of the request.
type Policy uint8

// Policies, from the most to the least open. The zero value is not a policy.
const (
	Bypass Policy = iota + 1
	OneFactor
	TwoFactor
	Deny
)

// ParsePolicy reads a policy name (CONTRACT.md).
func ParsePolicy(s string) (Policy, bool) {
	switch s {
	case gatehouse.PolicyBypass:
		return Bypass, true
	case gatehouse.PolicyOneFactor:
		return OneFactor, true
	case gatehouse.PolicyTwoFactor:
		return TwoFactor, true
	case gatehouse.PolicyDeny:
		return Deny, true
	}
	return 0, false
}

func (p Policy) String() string {
	switch p {
	case Bypass:
		return gatehouse.PolicyBypass
	case OneFactor:
		return gatehouse.PolicyOneFactor
	case TwoFactor:
		return gatehouse.PolicyTwoFactor
	case Deny:
		return gatehouse.PolicyDeny
	}
	return "unknown"
}

// rule is one compiled rule. Empty lists match everything.
type rule struct {
	exact  []string // lower-case host names
	suffix []string // ".example.com" for "*.example.com"
	paths  []pathRE
	// pathPre is what every path the rule matches begins with: the longest common prefix of its
	// path expressions' literal prefixes ("" when one has none, or without paths).
	pathPre string
	methods []string
	nets    []netip.Prefix
	users   []string
	groups  []string
	policy  Policy
}

func (r *rule) hasSubjects() bool { return len(r.users) > 0 || len(r.groups) > 0 }

// Matcher is a compiled rule list. It is immutable: a change compiles a new one, which is
// swapped in whole, so a request is always judged by one consistent list.
type Matcher struct {
	rules []rule
	// The host index (Matcher.candidates): a request visits only the rules that can match its
	// host, in order; with many apps, most rules are about other hosts. byHost lists, for every
	// host name a rule names exactly, the indices of the rules matching that host (naming it, a
	// wildcard above it, or no domain at all); bySuffix, for every wildcard's suffix
	// (".example.com"), those matching a name under it that no rule names exactly (a wildcard
	// whose suffix ends the key, or no domain); other, for every other host, the rules without
	// domains. maxSuffix is the longest key of bySuffix.
	byHost    map[string][]int32
	bySuffix  map[string][]int32
	other     []int32
	maxSuffix int
	nets      bool // some rule has networks
	// Default answers requests no rule matches (runtime setting access_default_policy).
	def Policy
	// apps are the rules with a display name and launch URL, in rule order (Apps).
	apps []app
}

// app is a rule's launch address, ready to be matched as a request.
type app struct {
	name, url string
	req       Request
}

// Len is the number of rules.
func (m *Matcher) Len() int { return len(m.rules) }

// UsesNetworks reports whether any rule looks at the client address, so the request check
// works the address out only when it matters.
func (m *Matcher) UsesNetworks() bool { return m.nets }

// Default is the policy for requests no rule matches.
func (m *Matcher) Default() Policy { return m.def }

// WithDefault returns a matcher with the same rules and another default policy.
func (m *Matcher) WithDefault(p Policy) *Matcher {
	c := *m
	c.def = p
	return &c
}

// Normalize validates rules and returns them in canonical form (lower-case domains and names,
// upper-case methods, masked networks), so what is stored and exported is what is matched. The
// first problem is returned as an EInvalid error whose Field names it, e.g. "rules[2].paths[0]".
// Whether named groups exist is the store's check, made in the same transaction as the save.
func Normalize(rules []gatehouse.AccessRule) ([]gatehouse.AccessRule, error) {
	if len(rules) > MaxRules {
		return nil, &gatehouse.Error{Code: gatehouse.EInvalid, Field: "rules", Message: fmt.Sprintf("at most %d rules are allowed, got %d", MaxRules, len(rules))}
	}
	out := make([]gatehouse.AccessRule, len(rules))
	for i := range rules {
		r, err := normalizeRule(i, &rules[i])
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// Compile normalizes rules and builds a Matcher with the default policy def.
func Compile(rules []gatehouse.AccessRule, def Policy) (*Matcher, error) {
	norm, err := Normalize(rules)
	if err != nil {
		return nil, err
	}
	m := &Matcher{rules: make([]rule, len(norm)), def: def}
	seen := map[string]bool{}
	for i := range norm {
		m.rules[i] = compileRule(&norm[i])
		if u := norm[i].URL; u != "" && !seen[u] {
			seen[u] = true
			pu, _ := url.Parse(u)
			p, _ := CleanPath(pu.EscapedPath()) // checked by normalizeApp
			m.apps = append(m.apps, app{name: norm[i].Name, url: u, req: Request{Host: pu.Host, Path: p, Method: "GET"}})
		}
	}
	m.index()
	return m, nil
}

// index builds the host index (the Matcher's fields byHost to maxSuffix) by testing every
// rule's domains against each key, so a key's list is exactly what a scan of all rules would
// find matching its hosts.
func (m *Matcher) index() {
	m.byHost, m.bySuffix = map[string][]int32{}, map[string][]int32{}
	for i := range m.rules {
		ru := &m.rules[i]
		m.nets = m.nets || len(ru.nets) > 0
		for _, h := range ru.exact {
			m.byHost[h] = nil
		}
		for _, sfx := range ru.suffix {
			m.bySuffix[sfx] = nil
			m.maxSuffix = max(m.maxSuffix, len(sfx))
		}
		if len(ru.exact) == 0 && len(ru.suffix) == 0 {
			m.other = append(m.other, int32(i))
		}
	}
	for h := range m.byHost {
		m.byHost[h] = m.ruleList(func(ru *rule) bool { return ru.matchHost(h) })
	}
	for key := range m.bySuffix {
		m.bySuffix[key] = m.ruleList(func(ru *rule) bool { return ru.matchUnder(key) })
	}
}

// ruleList is the indices of the rules for which ok holds, in order.
func (m *Matcher) ruleList(ok func(*rule) bool) []int32 {
	var l []int32
	for i := range m.rules {
		if ok(&m.rules[i]) {
			l = append(l, int32(i))
		}
	}
	return l
}

// matchUnder reports whether the rule matches every name under the wildcard suffix key (such
// as ".example.com") that it does not name exactly: it has no domains, or a wildcard whose
// suffix ends key (".example.com" ends ".app.example.com"; both begin with a dot, so the
// match falls on a label boundary).
func (ru *rule) matchUnder(key string) bool {
	if len(ru.exact) == 0 && len(ru.suffix) == 0 {
		return true
	}
	for _, sfx := range ru.suffix {
		if strings.HasSuffix(key, sfx) {
			return true
		}
	}
	return false
}

// ruleError is the error of field (e.g. "paths", 2) of rule i.
func ruleError(i int, field string, j int, format string, args ...any) error {
	f := fmt.Sprintf("rules[%d].%s", i, field)
	if j >= 0 {
		f += fmt.Sprintf("[%d]", j)
	}
	return &gatehouse.Error{Code: gatehouse.EInvalid, Field: f, Message: fmt.Sprintf("rule %d: ", i+1) + fmt.Sprintf(format, args...)}
}

func normalizeRule(i int, in *gatehouse.AccessRule) (gatehouse.AccessRule, error) {
	var r gatehouse.AccessRule
	if _, ok := ParsePolicy(in.Policy); !ok {
		return r, ruleError(i, "policy", -1, "policy %q is not one of deny, bypass, one_factor, two_factor", in.Policy)
	}
	r.Policy = in.Policy
	for _, f := range []struct {
		name string
		l    []string
	}{{"domains", in.Domains}, {"paths", in.Paths}, {"methods", in.Methods}, {"networks", in.Networks}, {"subjects", in.Subjects}} {
		if len(f.l) > MaxListLen {
			return r, ruleError(i, f.name, -1, "at most %d %s are allowed", MaxListLen, f.name)
		}
	}
	var err error
	if r.Domains, err = each(i, "domains", in.Domains, normalizeDomain); err != nil {
		return r, err
	}
	if r.Paths, err = each(i, "paths", in.Paths, checkPath); err != nil {
		return r, err
	}
	if r.Methods, err = each(i, "methods", in.Methods, normalizeMethod); err != nil {
		return r, err
	}
	if r.Networks, err = each(i, "networks", in.Networks, normalizeNetwork); err != nil {
		return r, err
	}
	if r.Subjects, err = each(i, "subjects", in.Subjects, normalizeSubject); err != nil {
		return r, err
	}
	if r.Name, r.URL, err = normalizeApp(i, in.Name, in.URL); err != nil {
		return r, err
	}
	if r.Policy == gatehouse.PolicyBypass && len(r.Subjects) > 0 {
		// bypass lets a request through without asking who it is from, so a subject could never
		// be known when it applies: refuse the contradiction instead of guessing.
		return r, ruleError(i, "subjects", -1, "a bypass rule cannot have subjects: bypass does not sign anyone in")
	}
	return r, nil
}

// MaxAppName bounds a rule's display name.
const MaxAppName = 64

// normalizeApp checks a rule's display name (one line, at most MaxAppName characters) and
// launch URL (an absolute http or https address, which needs a name to be listed by).
func normalizeApp(i int, name, launch string) (string, string, error) {
	name, launch = strings.TrimSpace(name), strings.TrimSpace(launch)
	if utf8.RuneCountInString(name) > MaxAppName || strings.ContainsFunc(name, unicode.IsControl) {
		return "", "", ruleError(i, "name", -1, "the display name must be one line of at most %d characters", MaxAppName)
	}
	if launch == "" {
		return name, "", nil
	}
	if name == "" {
		return "", "", ruleError(i, "name", -1, "a rule with a launch URL needs a display name to list it by")
	}
	u, err := url.Parse(launch)
	if err == nil {
		if _, ok := CleanPath(u.EscapedPath()); !ok {
			err = fmt.Errorf("bad path")
		}
	}
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(launch) > 2048 || strings.ContainsAny(launch, " \t\r\n") {
		return "", "", ruleError(i, "url", -1, "the launch URL must be an http:// or https:// address such as https://wiki.example.com/")
	}
	return name, launch, nil
}

func each(i int, field string, in []string, f func(string) (string, error)) ([]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(in))
	for j, v := range in {
		n, err := f(v)
		if err != nil {
			return nil, ruleError(i, field, j, "%s", err.Error())
		}
		out = append(out, n)
	}
	return out, nil
}

func normalizeDomain(d string) (string, error) {
	d = strings.ToLower(strings.TrimSpace(d))
	name, wild := strings.CutPrefix(d, "*.")
	if name == "" {
		return "", fmt.Errorf("domain %q is empty", d)
	}
	if len(name) > 253 {
		return "", fmt.Errorf("domain %q is too long", d)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("domain %q is not a host name (write example.com or *.example.com, without scheme, port or path)", d)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("domain %q is not a host name (write example.com or *.example.com, without scheme, port or path)", d)
			}
		}
	}
	if wild {
		return "*." + name, nil
	}
	return name, nil
}

func checkPath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("path expression is empty")
	}
	if len(p) > MaxPatternLen {
		return "", fmt.Errorf("path expression is longer than %d bytes", MaxPatternLen)
	}
	if _, err := regexp.Compile(p); err != nil {
		return "", fmt.Errorf("path %q is not a valid regular expression: %v", p, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return p, nil
}

func normalizeMethod(m string) (string, error) {
	m = strings.ToUpper(strings.TrimSpace(m))
	if m == "" || len(m) > 32 {
		return "", fmt.Errorf("method %q is not an HTTP method", m)
	}
	for _, c := range m {
		if !(c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return "", fmt.Errorf("method %q is not an HTTP method", m)
		}
	}
	return m, nil
}

func normalizeNetwork(n string) (string, error) {
	n = strings.TrimSpace(n)
	if p, err := netip.ParsePrefix(n); err == nil {
		return p.Masked().String(), nil
	}
	if a, err := netip.ParseAddr(n); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String(), nil
	}
	return "", fmt.Errorf("network %q is not an address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)", n)
}

func normalizeSubject(s string) (string, error) {
	s = strings.TrimSpace(s)
	kind, name, ok := strings.Cut(s, ":")
	if !ok || (kind != "user" && kind != "group") {
		return "", fmt.Errorf("subject %q must be user:NAME or group:NAME", s)
	}
	switch kind {
	case "user":
		name = gatehouse.NormalizeLogin(name)
		if err := gatehouse.ValidateUsername(name); err != nil {
			return "", fmt.Errorf("subject %q: %s", s, err.(*gatehouse.Error).Message)
		}
	default:
		name = gatehouse.NormalizeGroupName(name)
		if err := gatehouse.ValidateGroupName(name); err != nil {
			return "", fmt.Errorf("subject %q: %s", s, err.(*gatehouse.Error).Message)
		}
	}
	return kind + ":" + name, nil
}

// pathRE is a path expression with, when it is anchored at the start, the literal text every
// match must begin with: most rules are "^/something...", and a prefix test rejects a path in a
// few nanoseconds where running the expression costs tens. An expression that is nothing but
// that anchored text ("^/api/") or the whole path ("^/healthz$") is decided by the test alone.
type pathRE struct {
	re     *regexp.Regexp
	prefix string // "" when no quick test applies
	kind   literalKind
}

// literalKind says how much of a path expression its prefix decides.
type literalKind uint8

const (
	notLiteral    literalKind = iota // the prefix only rejects; the expression decides
	literalPrefix                    // "^text": a path beginning with the text matches
	literalWhole                     // "^text$": the path that is the text matches
)

func (p *pathRE) match(path string) bool {
	switch p.kind {
	case literalPrefix:
		return strings.HasPrefix(path, p.prefix)
	case literalWhole:
		return path == p.prefix
	}
	if p.prefix != "" && !strings.HasPrefix(path, p.prefix) {
		return false
	}
	return p.re.MatchString(path)
}

func compilePath(src string) pathRE {
	p := pathRE{re: regexp.MustCompile(src)}
	// Only an expression that begins with ^ outside multi-line mode (OpBeginText) must match
	// at the start of the path; anything else ("(?m)^", alternations, unanchored) gets no quick
	// test.
	tree, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return p
	}
	tree = tree.Simplify()
	if tree.Op != syntax.OpConcat || len(tree.Sub) == 0 || tree.Sub[0].Op != syntax.OpBeginText {
		return p
	}
	p.prefix, _ = p.re.LiteralPrefix()
	p.kind = literalOf(tree.Sub[1:], p.prefix)
	return p
}

// literalOf tells whether the parts of an expression after its leading ^ are just the text
// prefix (then "$" outside multi-line mode, OpEndText, or nothing). The text must be matched
// byte for byte: no case folding, and no U+FFFD, which the expression also matches for a byte
// that is not UTF-8.
func literalOf(rest []*syntax.Regexp, prefix string) literalKind {
	if len(rest) == 0 || rest[0].Op != syntax.OpLiteral || rest[0].Flags&syntax.FoldCase != 0 ||
		string(rest[0].Rune) != prefix || strings.ContainsRune(prefix, utf8.RuneError) {
		return notLiteral
	}
	switch {
	case len(rest) == 1:
		return literalPrefix
	case len(rest) == 2 && rest[1].Op == syntax.OpEndText:
		return literalWhole
	}
	return notLiteral
}

// commonPrefix is the longest common prefix of a and b, cut at a whole UTF-8 character.
func commonPrefix(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	for n > 0 && n < len(a) && !utf8.RuneStart(a[n]) {
		n--
	}
	return a[:n]
}

// compileRule builds the matcher's form of a normalized rule; every part was validated.
func compileRule(in *gatehouse.AccessRule) rule {
	var r rule
	r.policy, _ = ParsePolicy(in.Policy)
	for _, d := range in.Domains {
		if rest, ok := strings.CutPrefix(d, "*."); ok {
			r.suffix = append(r.suffix, "."+rest)
		} else {
			r.exact = append(r.exact, d)
		}
	}
	for i, p := range in.Paths {
		r.paths = append(r.paths, compilePath(p))
		if i == 0 {
			r.pathPre = r.paths[0].prefix
		}
		r.pathPre = commonPrefix(r.pathPre, r.paths[i].prefix)
	}
	r.methods = in.Methods
	for _, n := range in.Networks {
		r.nets = append(r.nets, netip.MustParsePrefix(n))
	}
	for _, s := range in.Subjects {
		if u, ok := strings.CutPrefix(s, "user:"); ok {
			r.users = append(r.users, u)
		} else {
			r.groups = append(r.groups, strings.TrimPrefix(s, "group:"))
		}
	}
	return r
}
