package http_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// Someone registers another person's address first. The address's owner registers too: the
// answer is the usual one, the activation link goes to the owner's mailbox, and using it
// replaces the pending account by the owner's own.
func TestRegistrationTakesBackAPendingAddress(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		m := newMailEnv(t, testserver.Options{Backend: backend})
		squat := m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "squatter", "email": "vic@example.com", "password": "squatter pass 1"})
		m.deliver()
		m.only("vic@example.com", 1)
		// A claim is a link of its own kind, with its own cooldown: it is mailed at once, and the
		// answer is the same.
		again := m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "vic", "email": "Vic@example.com", "password": "vic own password"})
		if again.Status != squat.Status || string(again.Body) != string(squat.Body) {
			t.Fatalf("registering a pending address answers differently:\nfirst %d %s\nagain %d %s", squat.Status, squat.Body, again.Status, again.Body)
		}
		m.deliver()
		m.only("vic@example.com", 2)
		m.Clock.Advance(61 * time.Second)
		if r := m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "vic", "email": "vic@example.com", "password": "vic own password"}); r.Status != 202 || r.Str("status") != "activation_required" {
			t.Fatalf("owner's registration: %d %s", r.Status, r.Body)
		}
		// A username held by anyone but the pending account is still refused.
		if r := m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "root", "email": "vic@example.com", "password": "vic own password"}); r.Status != 409 || r.Field() != "username" {
			t.Fatalf("a taken username with a pending address: %d %s", r.Status, r.Body)
		}
		m.deliver()
		msgs := m.only("vic@example.com", 3)
		tok := m.linkToken(msgs[2], "/activate")
		// Only the newest claim works; the pending account's own link is left alone (whoever
		// registered first may be the owner: a later registration must not kill their link).
		if r := m.Client().Do("POST", "/api/auth/activate", map[string]string{"token": m.linkToken(msgs[1], "/activate")}); r.Status != 400 {
			t.Fatalf("the earlier claim after the newer one: %d %s", r.Status, r.Body)
		}
		// A username taken between registration and activation: refused, the link stays usable.
		other := m.CreateUser(m.admin, "vic", "other@example.com", "other password 1", "user")
		if r := m.Client().Do("POST", "/api/auth/activate", map[string]string{"token": tok}); r.Status != 409 || r.Field() != "username" {
			t.Fatalf("activating a claim whose username was taken: %d %s", r.Status, r.Body)
		}
		if r := m.admin.Do("DELETE", "/api/admin/users/"+itoa(other), nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := m.Client().Do("POST", "/api/auth/activate", map[string]string{"token": tok}); r.Status != 200 || r.Str("username") != "vic" {
			t.Fatalf("activate the owner's registration: %d %s", r.Status, r.Body)
		}
		_, login := m.Login("vic@example.com", "vic own password")
		if u := login.User(); u.Username != "vic" || u.Pending || !u.EmailVerified {
			t.Fatalf("the owner's account: %+v", u)
		}
		for _, login := range []string{"squatter", "vic@example.com"} {
			if r := m.Client().Do("POST", "/api/auth/login", map[string]string{"login": login, "password": "squatter pass 1"}); r.Status != 401 {
				t.Fatalf("the registrant signs in as %s: %d %s", login, r.Status, r.Body)
			}
		}
		if _, err := m.Store.UserByLogin(context.Background(), "squatter"); !gatehouse.IsCode(err, gatehouse.ENotFound) {
			t.Fatalf("the pending account is still there: %v", err)
		}
		if ev := hasEvent(t, m.admin, "user.pending_replaced"); ev.Data["username"] != "vic" {
			t.Fatalf("user.pending_replaced: %v", ev)
		}
		// The link was used: the owner's account is not replaced again by it.
		if r := m.Client().Do("POST", "/api/auth/activate", map[string]string{"token": tok}); r.Status != 400 {
			t.Fatalf("the used link: %d %s", r.Status, r.Body)
		}
	})
}

// A pending account whose activation link expired unused is deleted by the cleanup job, and its
// address and username are free again; one with a valid link stays.
func TestExpiredPendingAccountsArePurged(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		m := newMailEnv(t, testserver.Options{Backend: backend})
		ctx := context.Background()
		m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "ghost", "email": "ghost@example.com", "password": "ghost password 1"})
		m.Clock.Advance(23 * time.Hour)
		m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "later", "email": "later@example.com", "password": "later password 1"})
		cleanup := func() {
			t.Helper()
			if err := m.Auth.Background.Cleanup(ctx); err != nil {
				t.Fatalf("cleanup: %v", err)
			}
		}
		cleanup()
		if list, _, _ := m.Store.PendingUsers(ctx, 0, 10); len(list) != 2 {
			t.Fatalf("%d pending accounts before expiry, want 2", len(list))
		}
		m.Clock.Advance(time.Hour + time.Second)
		cleanup()
		list, _, _ := m.Store.PendingUsers(ctx, 0, 10)
		if len(list) != 1 || list[0].Username != "later" {
			t.Fatalf("pending accounts after ghost's link expired: %v", list)
		}
		if _, err := m.Store.UserByLogin(ctx, "ghost@example.com"); !gatehouse.IsCode(err, gatehouse.ENotFound) {
			t.Fatalf("the expired pending account is still there: %v", err)
		}
		evs, _, err := m.Store.ListEvents(ctx, gatehouse.EventFilter{Kind: gatehouse.EventPendingPurged})
		if err != nil || len(evs) != 1 || evs[0].Data["username"] != "ghost" {
			t.Fatalf("user.pending_purged events: %v, %v", evs, err)
		}
		// The address and the name are free: a new registration gets a fresh activation link.
		if r := m.Client().Do("POST", "/api/auth/register", map[string]string{"username": "ghost", "email": "ghost@example.com", "password": "another password 1"}); r.Status != 202 {
			t.Fatalf("registering again: %d %s", r.Status, r.Body)
		}
		m.deliver()
		tok := m.linkToken(m.only("ghost@example.com", 2)[1], "/activate")
		if r := m.Client().Do("POST", "/api/auth/activate", map[string]string{"token": tok}); r.Status != 200 {
			t.Fatalf("activating the new registration: %d %s", r.Status, r.Body)
		}
		m.Login("ghost", "another password 1")
	})
}
