package http

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP finds the client's address: the direct peer, unless the peer is a trusted proxy, in
// which case X-Forwarded-For is read from the right and the first untrusted address wins. Taking
// the right-most untrusted hop means a client cannot choose its own address by sending a forged
// X-Forwarded-For: anything it sent stands to the left of what our proxies appended.
//
// With chain false (trusted_proxies left at its default ranges) only the right-most address is
// taken: a private address may be a client on the LAN rather than a proxy, and walking past it
// would let that client pick its address by sending X-Forwarded-For itself.
func clientIP(r *http.Request, trusted []netip.Prefix, chain bool) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !inPrefixes(peer, trusted) {
		return peer
	}
	addr := peer
	xffs := r.Header.Values("X-Forwarded-For")
	if !chain {
		if len(xffs) == 0 {
			return peer
		}
		parts := strings.Split(xffs[len(xffs)-1], ",")
		a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1]))
		if err != nil {
			return peer
		}
		return a.Unmap()
	}
	for i := len(xffs) - 1; i >= 0; i-- {
		parts := strings.Split(xffs[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				// A hop we cannot read: stop trusting the chain here.
				return addr
			}
			a = a.Unmap()
			addr = a
			if !inPrefixes(a, trusted) {
				return a
			}
		}
	}
	return addr
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
