// Package clientip finds a request's client address behind trusted proxies. It is a package of
// its own so that its fuzz target builds in seconds (a fuzz build of package http instruments
// SQLite and everything else it imports).
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Of finds the client's address: the direct peer, unless the peer is a trusted proxy, in
// which case X-Forwarded-For is read from the right and the first address that is not a trusted
// proxy wins. Taking the right-most untrusted hop means a client cannot choose its own address by
// sending a forged X-Forwarded-For: anything it sent stands to the left of what our proxies
// appended. untrustedXFF is true when the header came from a peer that is not trusted (it is
// ignored then; the caller logs that once so an operator learns a proxy is missing from the list).
func Of(r *http.Request, trusted []netip.Prefix) (ip netip.Addr, untrustedXFF bool) {
	peer := Peer(r.RemoteAddr)
	xffs := r.Header.Values("X-Forwarded-For")
	if !peer.IsValid() || !In(peer, trusted) {
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
			if !In(a, trusted) {
				return a, false
			}
		}
	}
	return addr, false
}

// Peer is the direct peer's address, or the zero Addr when RemoteAddr cannot be read.
func Peer(remote string) netip.Addr {
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

// In reports whether a lies in one of ps.
func In(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
