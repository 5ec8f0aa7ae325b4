package http

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	defaults := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}
	cases := []struct {
		name    string
		peer    string
		xff     []string
		trusted []netip.Prefix
		chain   bool
		want    string
	}{
		{"untrusted peer: its own address, whatever it sends", "203.0.113.9:1", []string{"6.6.6.6"}, defaults, false, "203.0.113.9"},
		{"trusted peer, no header", "10.0.0.1:1", nil, defaults, false, "10.0.0.1"},
		{"default ranges: only the hop the proxy appended", "10.0.0.1:1", []string{"6.6.6.6, 10.0.5.5"}, defaults, false, "10.0.5.5"},
		{"default ranges: a public client behind the proxy", "10.0.0.1:1", []string{"6.6.6.6, 198.51.100.7"}, defaults, false, "198.51.100.7"},
		{"default ranges: the last of several headers", "10.0.0.1:1", []string{"6.6.6.6", "198.51.100.7"}, defaults, false, "198.51.100.7"},
		{"default ranges: an unreadable hop is not believed", "10.0.0.1:1", []string{"bogus"}, defaults, false, "10.0.0.1"},
		{"listed proxies: walk through them to the first untrusted hop", "10.0.0.1:1", []string{"6.6.6.6, 198.51.100.7, 10.0.0.1"}, proxy, true, "198.51.100.7"},
		{"listed proxies: a LAN client is a client, not a proxy", "10.0.0.1:1", []string{"6.6.6.6, 10.0.5.5"}, proxy, true, "10.0.5.5"},
		{"IPv4-mapped IPv6 is unmapped", "10.0.0.1:1", []string{"::ffff:198.51.100.7"}, defaults, false, "198.51.100.7"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientIP(r, c.trusted, c.chain).String(); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}
