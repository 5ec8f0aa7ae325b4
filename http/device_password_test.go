package http_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// Someone who knew bob's password for a while signs in again and again, collecting device
// tokens (each sign-in hands out a new one with a budget of its own). Bob changes his password.
// The collected tokens must stop exempting their holder from bob's account lockout: otherwise
// every one of them is ten more guesses at the new password while everyone else is locked out.
func TestDeviceTokensDieWithThePassword(t *testing.T) {
	t.Parallel()
	e := testserver.New(t, testserver.Options{})
	admin, _ := e.Setup("alice", "alice@example.com", adminPW)
	e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
	var harvested []string
	for range 5 {
		r := e.Client().Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "bob password 1"}, "X-Forwarded-For", "203.0.113.9")
		if r.Status != 200 || r.Str("device_token") == "" {
			t.Fatalf("sign-in: %d %s", r.Status, r.Body)
		}
		harvested = append(harvested, r.Str("device_token"))
	}
	bob, _ := e.Login("bob", "bob password 1")
	if r := bob.Do("POST", "/api/account/password", map[string]string{"current_password": "bob password 1", "new_password": "bob password 2"}); r.Status/100 != 2 {
		t.Fatalf("password change: %d %s", r.Status, r.Body)
	}
	lockOut(t, e, "bob")
	noJar := e.Bearer("x")
	noJar.Header.Del("Authorization")
	guesses := 0
	for i, tok := range harvested {
		for j := range 10 {
			r := noJar.Do("POST", "/api/auth/login", map[string]string{"login": "bob", "password": "guess", "device_token": tok}, "X-Forwarded-For", fmt.Sprintf("203.0.114.%d", i*10+j+1))
			if r.Status == http.StatusUnauthorized {
				guesses++
			}
		}
	}
	if guesses > 0 {
		t.Fatalf("device tokens from before the password change got %d password guesses checked during bob's lockout, want 0", guesses)
	}
}
