package clientip

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("173.245.48.0/20")}
	cases := []struct {
		name      string
		peer      string
		xff       []string
		trusted   []netip.Prefix
		want      string
		untrusted bool
	}{
		{"untrusted peer: its own address, whatever it sends", "203.0.113.9:1", []string{"6.6.6.6"}, loopback, "203.0.113.9", true},
		{"a LAN peer is not a proxy by default", "192.168.1.5:1", []string{"6.6.6.6"}, loopback, "192.168.1.5", true},
		{"untrusted peer without the header", "192.168.1.5:1", nil, loopback, "192.168.1.5", false},
		{"trusted peer, no header", "127.0.0.1:1", nil, loopback, "127.0.0.1", false},
		{"loopback proxy: the hop it appended", "127.0.0.1:1", []string{"6.6.6.6, 198.51.100.7"}, loopback, "198.51.100.7", false},
		{"the last of several headers", "127.0.0.1:1", []string{"6.6.6.6", "198.51.100.7"}, loopback, "198.51.100.7", false},
		{"an unreadable hop is not believed", "127.0.0.1:1", []string{"bogus"}, loopback, "127.0.0.1", false},
		{"walk through listed proxies to the right-most untrusted hop", "10.0.0.1:1", []string{"6.6.6.6, 198.51.100.7, 10.0.0.2"}, proxies, "198.51.100.7", false},
		{"CDN chain: edge then ingress", "10.0.0.1:1", []string{"6.6.6.6, 198.51.100.7", "173.245.49.1"}, proxies, "198.51.100.7", false},
		{"a LAN client outside the list is a client", "10.0.0.1:1", []string{"6.6.6.6, 10.0.5.5"}, proxies, "10.0.5.5", false},
		{"all hops trusted: the left-most", "10.0.0.1:1", []string{"10.0.0.3, 10.0.0.2"}, proxies, "10.0.0.3", false},
		{"IPv4-mapped IPv6 is unmapped", "127.0.0.1:1", []string{"::ffff:198.51.100.7"}, loopback, "198.51.100.7", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		got, untrusted := Of(r, c.trusted)
		if got.String() != c.want || untrusted != c.untrusted {
			t.Errorf("%s: got %s (untrusted header %v), want %s (%v)", c.name, got, untrusted, c.want, c.untrusted)
		}
	}
}
