package access

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

func TestAppsFollowTheWholeRuleList(t *testing.T) {
	rules := []gatehouse.AccessRule{
		{Domains: []string{"vpn.example.com"}, Networks: []string{"10.0.0.0/8"}, Policy: "one_factor", Name: "VPN only", URL: "https://vpn.example.com/"},
		{Domains: []string{"ops.example.com"}, Subjects: []string{"group:ops"}, Policy: "two_factor", Name: "Ops", URL: "https://ops.example.com/dash"},
		{Domains: []string{"ops.example.com"}, Policy: "deny"},
		{Domains: []string{"wiki.example.com"}, Paths: []string{"^/private"}, Policy: "deny"},
		{Domains: []string{"wiki.example.com"}, Policy: "bypass", Name: "Wiki", URL: "https://wiki.example.com/private/x"},
		{Domains: []string{"docs.example.com"}, Policy: "one_factor", Name: "Docs", URL: "https://docs.example.com/"},
		{Domains: []string{"docs.example.com"}, Policy: "one_factor", Name: "Docs again", URL: "https://docs.example.com/"},
		{Domains: []string{"label.example.com"}, Policy: "one_factor", Name: "Only a label"},
	}
	m, err := Compile(rules, Deny)
	if err != nil {
		t.Fatal(err)
	}
	names := func(apps []App) string {
		var out []string
		for _, a := range apps {
			out = append(out, a.Name+":"+a.Policy.String())
		}
		return strings.Join(out, ",")
	}
	inside, outside := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.0.2.1")
	for _, tc := range []struct {
		sub  *Subject
		ip   netip.Addr
		want string
	}{
		{&Subject{Username: "ann", Groups: []string{"ops"}}, inside, "VPN only:one_factor,Ops:two_factor,Docs:one_factor"},
		{&Subject{Username: "bob"}, outside, "Docs:one_factor"},
	} {
		if got := names(m.Apps(tc.sub, tc.ip)); got != tc.want {
			t.Errorf("%s from %s: %q, want %q", tc.sub.Username, tc.ip, got, tc.want)
		}
	}
}

func TestAppFieldsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		name, url, field string
	}{
		{"", "https://x.example.com/", "rules[0].name"},
		{strings.Repeat("n", 65), "", "rules[0].name"},
		{"Bad\nname", "", "rules[0].name"},
		{"X", "javascript:alert(1)", "rules[0].url"},
		{"X", "//x.example.com/", "rules[0].url"},
		{"X", "https://user@x.example.com/", "rules[0].url"},
		{"X", "https://x.example.com/%zz", "rules[0].url"},
	} {
		_, err := Normalize([]gatehouse.AccessRule{{Policy: "one_factor", Name: tc.name, URL: tc.url}})
		var e *gatehouse.Error
		if err == nil || !asErr(err, &e) || e.Field != tc.field {
			t.Errorf("%q %q: %v, want an error on %s", tc.name, tc.url, err, tc.field)
		}
	}
	if r, err := Normalize([]gatehouse.AccessRule{{Policy: "one_factor", Name: " Wiki ", URL: " http://wiki.lan/ "}}); err != nil || r[0].Name != "Wiki" || r[0].URL != "http://wiki.lan/" {
		t.Fatalf("a good app: %v %v", r, err)
	}
}

func asErr(err error, e **gatehouse.Error) bool {
	x, ok := err.(*gatehouse.Error)
	*e = x
	return ok
}
