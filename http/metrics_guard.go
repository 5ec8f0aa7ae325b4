package http

import (
	"crypto/subtle"
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/http/clientip"
)

// metricsGuard keeps /metrics from the public: counts of sign-ins, failures and sessions help an
// attacker time a guessing run. It answers a direct loopback peer (a scraper on the same host,
// with no forwarding headers: a request relayed by a local reverse proxy carries them), or a
// request with "Authorization: Bearer <server.metrics_token>"; anything else gets 401.
func (s *Server) metricsGuard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.metricsAllowed(r) {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		s.writeError(w, r, gatehouse.Errorf(gatehouse.EUnauthorized, "metrics need a direct connection from loopback or \"Authorization: Bearer <server.metrics_token>\""))
	})
}

func (s *Server) metricsAllowed(r *http.Request) bool {
	if s.metricsToken != "" {
		if tok, ok := bearerToken(r); ok && subtle.ConstantTimeCompare([]byte(tok), []byte(s.metricsToken)) == 1 {
			return true
		}
	}
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	peer := clientip.Peer(r.RemoteAddr)
	return peer.IsValid() && peer.IsLoopback()
}

func bearerToken(r *http.Request) (string, bool) {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && (a[:7] == "Bearer " || a[:7] == "bearer ") {
		return a[7:], true
	}
	return "", false
}
