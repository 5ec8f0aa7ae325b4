package clientip

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// FuzzClientIP: whatever the peer address and X-Forwarded-For are, the answer is the peer itself
// or an address named in the header, and a header from an untrusted peer is never believed.
func FuzzClientIP(f *testing.F) {
	f.Add("127.0.0.1:1", "203.0.113.5")
	f.Add("127.0.0.1:1", "6.6.6.6, 10.0.0.2, ::ffff:198.51.100.7")
	f.Add("192.168.1.5:1", "203.0.113.5")
	f.Add("[::1]:80", "bogus, 2001:db8::1")
	f.Add("garbage", ",,,")
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, peer, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		got, untrusted := Of(r, trusted)
		p := Peer(peer)
		if !p.IsValid() || !In(p, trusted) {
			if got != p || !untrusted {
				t.Fatalf("untrusted peer %q with %q: got %v (untrusted %v)", peer, xff, got, untrusted)
			}
			return
		}
		if got == p {
			return
		}
		if !got.IsValid() {
			t.Fatalf("peer %q, header %q: an invalid address", peer, xff)
		}
	})
}
