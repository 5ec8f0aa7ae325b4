package http_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/password"
)

// Someone holding a few accounts of their own (open registration) signs in to them again and
// again with their device tokens: correct passwords, so no budget is ever spent, and one attempt
// per account at a time is enough. They take every place of the pool, reserved ones included,
// and bob's known device is refused busy (measured 2026-12-03, one worker, queue 1, six accounts:
// bob in 1/20, busy 19/20). Fixed: known devices wait for a worker instead of being refused
// (their waiting places are many: each account has at most one attempt waiting, and a waiting
// attempt holds no hashing memory), so bob's device waits behind at most one attempt per account.
func TestOwnAccountsStarveKnownDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("real hashing parameters")
	}
	p := password.DefaultParams()
	e := testserver.New(t, testserver.Options{Params: &p, Workers: 1, Queue: 1})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	phone := e.Client()
	if r := phone.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1"}, "X-Forwarded-For", "192.0.2.30"); r.Status != 200 {
		t.Fatalf("sign-in: %d %s", r.Status, r.Body)
	}
	const k = 6
	var clients []*testserver.Client
	for i := range k {
		name := fmt.Sprintf("mal%d", i)
		e.CreateUser(admin, name, name+"@example.com", "mal password 1", "user")
		c := e.Client()
		if r := c.Do("POST", "/api/auth/login", map[string]string{"login": name, "password": "mal password 1"}); r.Status != 200 {
			t.Fatalf("mal sign-in: %d %s", r.Status, r.Body)
		}
		clients = append(clients, c)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var n atomic.Int64
	for i, c := range clients {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.Do("POST", "/api/auth/login", map[string]string{"login": fmt.Sprintf("mal%d", i), "password": "mal password 1"}, "X-Forwarded-For", fmt.Sprintf("10.9.%d.1", i))
				n.Add(1)
			}
		})
	}
	known, busy := 0, 0
	for range 20 {
		r := phone.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1"}, "X-Forwarded-For", "192.0.2.30")
		if r.Status == 200 {
			known++
		} else if r.Status == http.StatusServiceUnavailable {
			busy++
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d own-account sign-ins by %d accounts; bob's known device: %d/20 in, %d/20 busy", n.Load(), k, known, busy)
	if known < 19 {
		t.Fatalf("bob's known device signed in %d/20 times while others signed in to their own accounts, want at least 19", known)
	}
}
