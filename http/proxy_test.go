package http_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// serveFrom sends one request to the server's handler as if it came from peer (a LAN or
// container address the loopback test client cannot have).
func serveFrom(e *testserver.Env, peer, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, e.URL+path, strings.NewReader(body))
	req.RemoteAddr = peer
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.Server.Config.Handler.ServeHTTP(rec, req)
	return rec
}

// With the default trusted_proxies a client on the LAN (or a container neighbour) is not a
// proxy: rotating X-Forwarded-For does not give it a fresh per-address budget, the audit trail
// records its real address, and the ignored header is logged once, not per request.
func TestDefaultProxiesLoopbackOnly(t *testing.T) {
	t.Parallel()
	var logs testserver.SyncBuffer
	e := testserver.New(t, testserver.Options{TrustedProxies: config.Default().TrustedProxies,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	for _, peer := range []string{"192.168.1.5:40000", "172.17.0.3:40000", "[fd00::5]:40000", "[fe80::5]:40000"} {
		for i := range 11 {
			rec := serveFrom(e, peer, "POST", "/api/auth/login", fmt.Sprintf(`{"login":"n%d","password":"guess"}`, i),
				"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
			if i < 10 && rec.Code != http.StatusUnauthorized || i == 10 && rec.Code != http.StatusTooManyRequests {
				t.Fatalf("%s attempt %d: %d %s", peer, i, rec.Code, rec.Body)
			}
		}
	}
	ev := admin.Do("GET", "/api/admin/events?kind=login.failed", nil)
	if !strings.Contains(string(ev.Body), `"ip":"192.168.1.5"`) || strings.Contains(string(ev.Body), "203.0.113.") {
		t.Fatalf("events should record the peer, not the forged header: %s", ev.Body)
	}
	if n := strings.Count(logs.String(), "X-Forwarded-For from a peer that is not a trusted proxy"); n != 1 {
		t.Fatalf("the ignored header was logged %d times, want once:\n%s", n, logs.String())
	}
	// Loopback stays trusted: a proxy on the same host still passes the client's address.
	rec := serveFrom(e, "127.0.0.1:40000", "POST", "/api/auth/login", `{"login":"n","password":"guess"}`, "X-Forwarded-For", "198.51.100.77")
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("through the loopback proxy: %d %s", rec.Code, rec.Body)
	}
	ev = admin.Do("GET", "/api/admin/events?kind=login.failed", nil)
	if !strings.Contains(string(ev.Body), `"ip":"198.51.100.77"`) {
		t.Fatalf("the loopback proxy's client address is missing: %s", ev.Body)
	}
}
