package http

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP finds the client's address: the direct peer, unless the peer is a trusted proxy, in
// which case X-Forwarded-For is read from the right and the first address that is not a trusted
// proxy wins. Taking the right-most untrusted hop means a client cannot choose its own address by
// sending a forged X-Forwarded-For: anything it sent stands to the left of what our proxies
// appended. untrustedXFF is true when the header came from a peer that is not trusted (it is
// ignored then; the caller logs that once so an operator learns a proxy is missing from the list).
func clientIP(r *http.Request, trusted []netip.Prefix) (ip netip.Addr, untrustedXFF bool) {
	peer := peerAddr(r.RemoteAddr)
	xffs := r.Header.Values("X-Forwarded-For")
	if !peer.IsValid() || !inPrefixes(peer, trusted) {
		return peer, len(xffs) > 0
	}
	addr := peer
	for i := len(xffs) - 1; i >= 0; i-- {
		parts := strings.Split(xffs[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				// A hop we cannot read: stop trusting the chain here.
				return addr, false
			}
			a = a.Unmap()
			addr = a
			if !inPrefixes(a, trusted) {
				return a, false
			}
		}
	}
	return addr, false
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
