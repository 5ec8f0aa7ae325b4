package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/password"
)

// lockOut drains bob's account budget the way an attacker would: wrong passwords from ever new
// addresses, until a fresh address is refused.
func lockOut(t *testing.T, e *testserver.Env, login string) {
	t.Helper()
	for i := range 200 {
		r := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": login, "password": "wrong guess"}, "X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", 100+i/200, i%200+1))
		if r.Status == http.StatusTooManyRequests {
			return
		}
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("attack attempt %d: %d %s", i, r.Status, r.Body)
		}
	}
	t.Fatal("the account never locked")
}

func deviceCookie(t *testing.T, r *testserver.Response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "gatehouse_device" {
			return c
		}
	}
	t.Fatalf("no gatehouse_device cookie in %v", r.Header["Set-Cookie"])
	return nil
}

// On SQLite and PostgreSQL: a device that signed in to an account before keeps signing in after an attacker has drained
// the account's budget (locking everyone else out), by cookie or, for clients without cookies,
// by the device_token of its last sign-in; a device token of another account, or a forged one,
// earns nothing.
func TestKnownDeviceSignsInThroughAccountLockout(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, adminLogin := e.Setup("alice", "alice@example.com", adminPW)
		e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")

		phone := e.Client()
		first := phone.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1"}, "X-Forwarded-For", "192.0.2.10")
		if first.Status != 200 {
			t.Fatalf("first sign-in: %d %s", first.Status, first.Body)
		}
		c := deviceCookie(t, first)
		if !c.HttpOnly || c.MaxAge < 300*24*3600 || c.Value == "" || c.Value != first.Str("device_token") {
			t.Fatalf("device cookie %+v, device_token %q: want an HttpOnly cookie for about a year carrying the device_token", c, first.Str("device_token"))
		}
		apiToken := first.Str("device_token")

		lockOut(t, e, "bob")
		stranger := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1"}, "X-Forwarded-For", "192.0.2.77")
		if stranger.Status != http.StatusTooManyRequests || stranger.Code() != "rate_limited" {
			t.Fatalf("a new client with the right password during the lockout: %d %s, want 429 rate_limited", stranger.Status, stranger.Body)
		}
		if r := phone.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1"}, "X-Forwarded-For", "192.0.2.10"); r.Status != 200 {
			t.Fatalf("the known device (cookie) during the lockout: %d %s, want 200", r.Status, r.Body)
		}
		noJar := e.Bearer("x")
		noJar.Header.Del("Authorization")
		if r := noJar.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1", "device_token": apiToken}, "X-Forwarded-For", "192.0.2.11"); r.Status != 200 {
			t.Fatalf("the known device (device_token) during the lockout: %d %s, want 200", r.Status, r.Body)
		}
		for name, tok := range map[string]string{
			"alice's device token": adminLogin.Str("device_token"),
			"a forged token":       strings.Repeat("A", len(apiToken)),
			"an altered token":     apiToken[:len(apiToken)-2] + "AA",
		} {
			r := noJar.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1", "device_token": tok}, "X-Forwarded-For", "192.0.2.12")
			if r.Status != http.StatusTooManyRequests {
				t.Fatalf("%s for bob during the lockout: %d %s, want 429", name, r.Status, r.Body)
			}
		}
	})
}

// A device token has its own budget: wrong passwords sent with it spend it, not the address's,
// and once it is used up the device is treated like any other client (here: refused by the
// account lockout), while the address it used still has its budget.
func TestDeviceBudgetIsItsOwn(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		e := testserver.New(t, testserver.Options{Backend: backend})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
		e.CreateUser(admin, "carol", "carol@example.com", "carol password 1", "user")
		phone := e.Client()
		if r := phone.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1"}, "X-Forwarded-For", "192.0.2.20"); r.Status != 200 {
			t.Fatalf("sign-in: %d %s", r.Status, r.Body)
		}
		lockOut(t, e, "bob")
		for i := range 10 {
			if r := phone.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "wrong"}, "X-Forwarded-For", "192.0.2.20"); r.Status != 401 {
				t.Fatalf("wrong password %d from the known device: %d %s, want 401 (its own budget of 10)", i+1, r.Status, r.Body)
			}
		}
		if r := phone.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1"}, "X-Forwarded-For", "192.0.2.20"); r.Status != http.StatusTooManyRequests {
			t.Fatalf("right password from a device whose budget is spent, account locked: %d %s, want 429", r.Status, r.Body)
		}
		// The device's failures were not charged to its address.
		if r := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "carol", "password": "carol password 1"}, "X-Forwarded-For", "192.0.2.20"); r.Status != 200 {
			t.Fatalf("another account from the same address: %d %s, want 200", r.Status, r.Body)
		}
		ev := adminEvents(t, e, "login.failed")
		known := 0
		for _, it := range ev {
			if d, _ := it["data"].(map[string]any); d != nil && d["known_device"] == true {
				known++
			}
		}
		if known != 10 {
			t.Fatalf("%d failed sign-ins recorded as from a known device, want 10", known)
		}
	})
}

// The measurement of issue 15: during a sign-in flood from rotating addresses that keeps the
// hashing pool full (real Argon2id parameters, one worker), a known device's correct sign-in
// succeeds at least 19 times in 20, while a new client's mostly get 503.
func TestKnownDeviceSignsInDuringFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a flood with real hashing parameters")
	}
	p := password.DefaultParams()
	e := testserver.New(t, testserver.Options{Params: &p, Workers: 1, Queue: 4})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	phone := e.Client()
	if r := phone.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1"}, "X-Forwarded-For", "192.0.2.30"); r.Status != 200 {
		t.Fatalf("sign-in: %d %s", r.Status, r.Body)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var n, busy atomic.Int64
	for w := range 12 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Each attempt from a new address and for an account that does not exist: no
				// address or account budget slows the flood, only the pool.
				addr := fmt.Sprintf("10.%d.%d.%d", w, (i/250)%250, i%250+1)
				r := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": fmt.Sprintf("guess%d-%d", w, i), "password": "wrong guess"}, "X-Forwarded-For", addr)
				n.Add(1)
				if r.Status == http.StatusServiceUnavailable {
					busy.Add(1)
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	// The flood is on once its attempts are being refused for a full pool.
	deadline := time.Now().Add(30 * time.Second)
	for busy.Load() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("the flood never filled the pool (%d attempts, %d busy)", n.Load(), busy.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	known, strangers := 0, 0
	for i := range 20 {
		if r := phone.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1"}, "X-Forwarded-For", "192.0.2.30"); r.Status == 200 {
			known++
		}
		if r := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1"}, "X-Forwarded-For", fmt.Sprintf("192.0.2.%d", 100+i)); r.Status == http.StatusServiceUnavailable {
			strangers++
		}
	}
	t.Logf("during the flood (%d attempts, %d answered 503): the known device signed in %d/20 times; a new client was refused busy %d/20 times", n.Load(), busy.Load(), known, strangers)
	if known < 19 {
		t.Fatalf("the known device signed in %d/20 times during the flood, want at least 19", known)
	}
	if strangers < 10 {
		t.Fatalf("a new client was refused busy only %d/20 times: the flood did not hold the pool, so this test proves nothing", strangers)
	}
}

// Known-device sign-ins of one account take the reserved hashing places one at a time: a burst of
// them (one person holding many device tokens of their own account) is not all let ahead.
func TestKnownDeviceAttemptsOfOneAccountOneAtATime(t *testing.T) {
	t.Parallel()
	p := password.DefaultParams()
	e := testserver.New(t, testserver.Options{Params: &p, Workers: 1, Queue: 1})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	var toks []string
	for range 6 {
		_, r := e.Login("bob", "bob password 1")
		toks = append(toks, r.Str("device_token"))
	}
	var wg sync.WaitGroup
	var ok, busy atomic.Int64
	for i, tok := range toks {
		wg.Go(func() {
			r := e.Bearer("x").Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1", "device_token": tok}, "Authorization", "", "X-Forwarded-For", fmt.Sprintf("192.0.2.%d", 50+i))
			switch r.Status {
			case 200:
				ok.Add(1)
			case 503:
				busy.Add(1)
			}
		})
	}
	wg.Wait()
	// Pool: one worker and one waiting place for ordinary attempts, two reserved: six concurrent
	// known-device attempts of one account would all fit if each could take a reserved place.
	if busy.Load() == 0 {
		t.Fatalf("all of %d concurrent known-device sign-ins of one account got in (%d ok): they should take the reserved places one at a time", len(toks), ok.Load())
	}
}
