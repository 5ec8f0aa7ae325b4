package web_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// The sign-in page honours the device cookie of an earlier sign-in: a browser that signed in to
// the account before still signs in after an attacker has locked the account, while another
// browser is refused.
func TestLoginPageKnownDeviceThroughLockout(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{Web: true})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	laptop := e.Client()
	if r := laptop.Form("/login", url.Values{"login": {"bob"}, "password": {"bob password 1"}}); r.Status != 303 {
		t.Fatalf("first sign-in: %d %s", r.Status, r.Body)
	}
	locked := false
	for i := range 200 {
		r := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "wrong guess"}, "X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", 100+i/200, i%200+1))
		if r.Status == 429 {
			locked = true
			break
		}
	}
	if !locked {
		t.Fatal("the account never locked")
	}
	if r := e.Client().Form("/login", url.Values{"login": {"bob"}, "password": {"bob password 1"}}); r.Status != 429 {
		t.Fatalf("another browser during the lockout: %d, want 429", r.Status)
	}
	if r := laptop.Form("/login", url.Values{"login": {"bob"}, "password": {"bob password 1"}}); r.Status != 303 {
		t.Fatalf("the known browser during the lockout: %d %s, want 303 (signed in)", r.Status, r.Body)
	}
}
