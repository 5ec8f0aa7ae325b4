package http_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testserver"
)

// A stranger registers an address that was just registered, with a username of their own. That
// must not kill the activation link the address's owner already holds: otherwise anyone can keep
// an owner from activating (one registration per cooldown), leaving only links that activate the
// stranger's password in the owner's mailbox.
func TestClaimKeepsTheOwnersActivationLink(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		m := newMailEnv(t, testserver.Options{Backend: backend})
		if r := m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "alice", "email": "alice@example.com", "password": "alice own password"}); r.Status != 202 {
			t.Fatalf("owner's registration: %d %s", r.Status, r.Body)
		}
		m.deliver()
		own := m.linkToken(m.only("alice@example.com", 1)[0], "/activate")
		m.Clock.Advance(61 * time.Second)
		if r := m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "mallory", "email": "alice@example.com", "password": "mallory password"}); r.Status != 202 {
			t.Fatalf("stranger's registration: %d %s", r.Status, r.Body)
		}
		m.deliver()
		m.only("alice@example.com", 2)
		if r := m.Client().Do("POST", "/api/auth/activate", map[string]string{"token": own}); r.Status != 200 || r.Str("username") != "alice" {
			t.Fatalf("the owner's own activation link after a stranger registered the address: %d %s", r.Status, r.Body)
		}
		m.Login("alice", "alice own password")
	})
}

// The squatter of a pending address asks for a new activation link of their account after the
// owner claimed the address: the owner's claim link must keep working.
func TestSquattersResendKeepsTheClaimLink(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		m := newMailEnv(t, testserver.Options{Backend: backend})
		m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "squatter", "email": "vic@example.com", "password": "squatter pass 1"})
		m.Clock.Advance(61 * time.Second)
		if r := m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "vic", "email": "vic@example.com", "password": "vic own password"}); r.Status != 202 {
			t.Fatalf("owner's registration: %d %s", r.Status, r.Body)
		}
		m.deliver()
		claim := m.linkToken(m.only("vic@example.com", 2)[1], "/activate")
		m.Clock.Advance(61 * time.Second)
		if r := m.Client().Do("POST", "/api/auth/activate/resend", map[string]string{"login": "squatter"}); r.Status/100 != 2 {
			t.Fatalf("resend: %d %s", r.Status, r.Body)
		}
		m.deliver()
		m.only("vic@example.com", 3)
		if r := m.Client().Do("POST", "/api/auth/activate", map[string]string{"token": claim}); r.Status != 200 || r.Str("username") != "vic" {
			t.Fatalf("the owner's claim link after the squatter's resend: %d %s", r.Status, r.Body)
		}
		m.Login("vic", "vic own password")
	})
}
