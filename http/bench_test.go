package http_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// The request check sits in front of every request of the apps gatehouse protects. These
// benchmarks run GET /api/auth/verify through the whole handler (middleware, client address,
// credential check, Remote-* headers) next to a bare handler that writes the same headers, so
// `go test -bench Verify -benchmem ./http/` shows the check's cost as a difference in one run.

func benchEnv(b *testing.B) (h http.Handler, access, cookie string) {
	b.Helper()
	e := testserver.New(b, testserver.Options{Clock: testserver.NewClockAtNow()})
	_, r := e.Setup("alice", "alice@example.com", adminPW)
	for _, c := range r.Header.Values("Set-Cookie") {
		if v, ok := cookieValue(c, "gatehouse_session"); ok {
			cookie = v
		}
	}
	if cookie == "" {
		b.Fatal("setup set no session cookie")
	}
	return e.Server.Config.Handler, r.Str("access_token"), cookie
}

func cookieValue(setCookie, name string) (string, bool) {
	c, err := http.ParseSetCookie(setCookie)
	if err != nil || c.Name != name {
		return "", false
	}
	return c.Value, true
}

// bare is the baseline: what any handler answering 200 with the same headers costs.
func bare(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h["Remote-User"] = []string{"alice"}
	h["Remote-Email"] = []string{"alice@example.com"}
	h["Remote-Name"] = []string{"alice"}
	h["Remote-Groups"] = []string{"admin"}
	h["Cache-Control"] = []string{"no-store"}
	w.WriteHeader(http.StatusOK)
}

func runVerify(b *testing.B, h http.Handler, set func(*http.Request)) {
	b.Helper()
	req := httptest.NewRequest("GET", "/api/auth/verify", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	set(req)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func BenchmarkVerifyBare(b *testing.B) {
	runVerify(b, http.HandlerFunc(bare), func(*http.Request) {})
}

func BenchmarkVerifyBearer(b *testing.B) {
	h, access, _ := benchEnv(b)
	runVerify(b, h, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+access) })
}

func BenchmarkVerifyCookie(b *testing.B) {
	h, _, cookie := benchEnv(b)
	runVerify(b, h, func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: cookie}) })
}

// BenchmarkVerifyBearerParallel and BenchmarkVerifyCookieParallel show the check under
// contention: the caches are read-mostly and must not serialise requests.
func BenchmarkVerifyBearerParallel(b *testing.B) {
	h, access, _ := benchEnv(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/api/auth/verify", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		req.Header.Set("Authorization", "Bearer "+access)
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
}

func BenchmarkVerifyCookieParallel(b *testing.B) {
	h, _, cookie := benchEnv(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/api/auth/verify", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: cookie})
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
}
