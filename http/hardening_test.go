package http_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/password"
	"github.com/gatehouse/gatehouse/token"
)

// The address's budget is reserved before hashing: a burst of concurrent wrong passwords from one
// address gets at most the burst's worth of hashed attempts, the rest refused at once.
func TestConcurrentBurstDoesNotOvershootAddressBudget(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Workers: 4, Queue: 64})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	const n = 30
	var wg sync.WaitGroup
	status := make([]int, n)
	for i := range n {
		wg.Go(func() {
			status[i] = e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "wrong guess"}, "X-Forwarded-For", "198.51.100.200").Status
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range status {
		count[s]++
	}
	if count[401] > 10 || count[401]+count[429] != n {
		t.Fatalf("answers %v: want at most 10 hashed failures (the burst), the rest 429", count)
	}
	if ev := adminEvents(t, e, "login.failed"); len(ev) > 10 {
		t.Fatalf("%d failures recorded against a burst of 10", len(ev))
	}
}

// An access token is refused when its session belongs to another user than its subject, even
// though it is correctly signed (as with a leaked signing key).
func TestAccessTokenForAnotherUsersSession(t *testing.T) {
	t.Parallel()
	clock := testserver.NewClock()
	e := testserver.New(t, testserver.Options{Clock: clock})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	bobID := e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	_, r := e.Login("alice", adminPW)
	aliceSID := sessionOf(t, e, r.Str("access_token"))
	iss, err := token.NewIssuer(testserver.Secret, clock)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := iss.Issue(bobID, aliceSID, "", clock.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if r := e.Bearer(forged).Do("GET", "/api/auth/me", nil); r.Status != 401 {
		t.Fatalf("token for bob on alice's session: %d %s", r.Status, r.Body)
	}
	// A fresh instance (nothing cached) refuses it too, and the owner's own token still works.
	e2 := testserver.New(t, testserver.Options{DSN: e.DSN, Clock: clock})
	if r := e2.Bearer(forged).Do("GET", "/api/auth/verify", nil); r.Status != 401 {
		t.Fatalf("verify with the forged token on a fresh instance: %d", r.Status)
	}
	if r := e2.Bearer(r.Str("access_token")).Do("GET", "/api/auth/me", nil); r.Status != 200 {
		t.Fatalf("the owner's token: %d %s", r.Status, r.Body)
	}
}

// /metrics answers a direct loopback peer, or the bearer metrics token; a request relayed by a
// proxy (forwarding headers), another address or a wrong token gets 401.
func TestMetricsNotPublic(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{MetricsToken: "scrape-token-0123456789"})
	get := func(peer string, hdr ...string) int {
		req := httptest.NewRequest("GET", e.URL+"/metrics", nil)
		req.RemoteAddr = peer
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		e.Server.Config.Handler.ServeHTTP(rec, req)
		return rec.Code
	}
	cases := []struct {
		name string
		peer string
		hdr  []string
		want int
	}{
		{"direct loopback", "127.0.0.1:5000", nil, 200},
		{"direct loopback IPv6", "[::1]:5000", nil, 200},
		{"relayed by a local proxy", "127.0.0.1:5000", []string{"X-Forwarded-For", "203.0.113.5"}, 401},
		{"relayed with Forwarded", "127.0.0.1:5000", []string{"Forwarded", "for=203.0.113.5"}, 401},
		{"another address", "192.168.1.9:5000", nil, 401},
		{"another address with the token", "192.168.1.9:5000", []string{"Authorization", "Bearer scrape-token-0123456789"}, 200},
		{"relayed with the token", "127.0.0.1:5000", []string{"X-Forwarded-For", "203.0.113.5", "Authorization", "Bearer scrape-token-0123456789"}, 200},
		{"a wrong token", "192.168.1.9:5000", []string{"Authorization", "Bearer scrape-token-0123456780"}, 401},
	}
	for _, c := range cases {
		if got := get(c.peer, c.hdr...); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// Without a configured token, only the direct loopback peer.
	e2 := testserver.New(t, testserver.Options{})
	if r := e2.Client().Do("GET", "/metrics", nil, "Authorization", "Bearer "); r.Status != 200 {
		t.Fatalf("loopback without a token configured: %d", r.Status)
	}
	if r := e2.Client().Do("GET", "/metrics", nil, "X-Forwarded-For", "203.0.113.5"); r.Status != 401 || r.Code() != "unauthorized" {
		t.Fatalf("relayed without a token configured: %d %s", r.Status, r.Body)
	}
}

// Every 503 a sign-in gets counts as "busy" in the metrics, including those the hashing pool
// refused after the first check passed.
func TestEveryBusySignInCounted(t *testing.T) {
	t.Parallel()
	p := password.DefaultParams()
	e := testserver.New(t, testserver.Options{Params: &p, Workers: 1, Queue: 2})
	e.Setup("alice", "alice@example.com", adminPW)
	const n = 24
	var wg sync.WaitGroup
	busy := 0
	var mu sync.Mutex
	for i := range n {
		wg.Go(func() {
			r := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "alice", "password": "wrong password"}, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
			if r.Status == 503 {
				mu.Lock()
				busy++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	m := e.Client().Do("GET", "/metrics", nil)
	got := regexp.MustCompile(`gatehouse_sign_ins_total\{outcome="busy"\} (\d+)`).FindStringSubmatch(string(m.Body))
	counted := 0
	if got != nil {
		counted, _ = strconv.Atoi(got[1])
	}
	if busy == 0 || counted != busy {
		t.Fatalf("%d sign-ins answered 503, %d counted as busy", busy, counted)
	}
}

// A client that goes away mid sign-in is not an error of the server: nothing at ERROR level.
func TestClientDisconnectNotLoggedAsError(t *testing.T) {
	t.Parallel()
	var logs testserver.SyncBuffer
	p := password.DefaultParams()
	e := testserver.New(t, testserver.Options{Params: &p, Workers: 1, Queue: 8, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	e.Setup("alice", "alice@example.com", adminPW)
	// Keep the single worker busy so the next sign-in waits for it, then let its client go.
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "alice", "password": "wrong password"})
		})
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if strings.Contains(string(e.Client().Do("GET", "/metrics", nil).Body), "gatehouse_hash_pool_running 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pool never got busy")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("POST", e.URL+"/api/auth/login", strings.NewReader(`{"login":"alice","password":"wrong password"}`)).WithContext(ctx)
	req.RemoteAddr = "127.0.0.1:6000"
	req.Header.Set("Content-Type", "application/json")
	go func() { time.Sleep(5 * time.Millisecond); cancel() }()
	rec := httptest.NewRecorder()
	e.Server.Config.Handler.ServeHTTP(rec, req)
	wg.Wait()
	if rec.Code == http.StatusOK {
		t.Fatalf("the abandoned sign-in succeeded")
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("a client going away was logged as an error:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "client went away") {
		t.Fatalf("the abandoned request left no trace (answer %d):\n%s", rec.Code, logs.String())
	}
}
