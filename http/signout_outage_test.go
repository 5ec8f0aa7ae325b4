package http_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/testserver"
)

// unwritable is the real store whose session writes fail while broken is set, as with a full
// disk or a database that refuses writes (failure injection: everything else is real).
type unwritable struct {
	gatehouse.Store
	broken *atomic.Bool
}

var errDiskFull = errors.New("database or disk is full")

func (u unwritable) RevokeSession(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	if u.broken.Load() {
		return false, errDiskFull
	}
	return u.Store.RevokeSession(ctx, id, reason, at)
}

func (u unwritable) AddEvent(ctx context.Context, e *gatehouse.Event) error {
	if u.broken.Load() {
		return errDiskFull
	}
	return u.Store.AddEvent(ctx, e)
}

// A sign-out the database did not take is never answered 204: the session is refused on this
// instance at once, the answer is 503 store_unavailable saying so, and the revocation is written
// once the database takes writes again, reaching the other instances and surviving a restart.
func TestSignOutWhileDatabaseUnwritable(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		broken := &atomic.Bool{}
		clock := testserver.NewClock()
		e := testserver.New(t, testserver.Options{Backend: backend, Clock: clock,
			WrapStore: func(s gatehouse.Store) gatehouse.Store { return unwritable{s, broken} }})
		other := testserver.New(t, testserver.Options{Backend: backend, DSN: e.DSN, Clock: clock})
		admin, _ := e.Setup("alice", "alice@example.com", adminPW)
		e.CreateUser(admin, "bob", "bob@example.com", "bob password 1", "user")
		bob, r := e.Login("bob", "bob password 1")
		logoutAccess := r.Str("access_token")
		_, r = e.Login("bob", "bob password 1")
		adminAccess := r.Str("access_token")
		adminSID := sessionOf(t, e, adminAccess)
		_, r = e.Login("bob", "bob password 1")
		othersAccess := r.Str("access_token")
		keep, r := e.Login("bob", "bob password 1")
		keepAccess := r.Str("access_token")
		for _, a := range []string{logoutAccess, adminAccess, othersAccess, keepAccess} {
			if r := other.Bearer(a).Do("GET", "/api/auth/me", nil); r.Status != 200 {
				t.Fatalf("other instance before: %d", r.Status)
			}
		}

		broken.Store(true)
		r = bob.Do("POST", "/api/auth/logout", nil)
		if r.Status != 503 || r.Code() != "store_unavailable" || !strings.Contains(r.Message(), "signed out") {
			t.Fatalf("logout with the database unwritable: %d %s", r.Status, r.Body)
		}
		if !strings.Contains(r.Header.Get("Set-Cookie"), "gatehouse_session=;") {
			t.Fatalf("the cookie was not cleared: %q", r.Header.Get("Set-Cookie"))
		}
		if r := admin.Do("DELETE", "/api/admin/sessions/"+adminSID, nil); r.Status != 503 || r.Code() != "store_unavailable" {
			t.Fatalf("admin revoke with the database unwritable: %d %s", r.Status, r.Body)
		}
		if r := keep.Do("POST", "/api/account/sessions/sign-out-others", nil); r.Status != 503 || r.Code() != "store_unavailable" {
			t.Fatalf("sign-out-others with the database unwritable: %d %s", r.Status, r.Body)
		}
		// Refused here at once, whatever the store says.
		for _, a := range []string{logoutAccess, adminAccess, othersAccess} {
			if r := e.Bearer(a).Do("GET", "/api/auth/me", nil); r.Status != 401 {
				t.Fatalf("ended session still works on this instance: %d", r.Status)
			}
		}
		if r := e.Bearer(keepAccess).Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("the session that stays: %d", r.Status)
		}
		if n := e.Auth.Background.PendingRevocations(); n != 3 {
			t.Fatalf("%d revocations queued, want 3", n)
		}
		// Still failing: the retry keeps them.
		e.Auth.Background.RetryRevocations(context.Background())
		if n := e.Auth.Background.PendingRevocations(); n != 3 {
			t.Fatalf("after a failed retry %d queued, want 3", n)
		}

		// The database takes writes again: the queue is written and reaches the other instance.
		broken.Store(false)
		e.Auth.Background.RetryRevocations(context.Background())
		if n := e.Auth.Background.PendingRevocations(); n != 0 {
			t.Fatalf("%d revocations still queued after recovery", n)
		}
		if err := other.Auth.Background.PollChanges(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{logoutAccess, adminAccess, othersAccess} {
			if r := other.Bearer(a).Do("GET", "/api/auth/me", nil); r.Status != 401 {
				t.Fatalf("ended session works on the other instance after recovery: %d", r.Status)
			}
		}
		// And after a restart.
		e.Server.Close()
		restarted := testserver.New(t, testserver.Options{Backend: backend, DSN: e.DSN, Clock: clock})
		for _, a := range []string{logoutAccess, adminAccess, othersAccess} {
			if r := restarted.Bearer(a).Do("GET", "/api/auth/me", nil); r.Status != 401 {
				t.Fatalf("ended session works after a restart: %d", r.Status)
			}
		}
		if r := restarted.Bearer(keepAccess).Do("GET", "/api/auth/me", nil); r.Status != 200 {
			t.Fatalf("the session that stays, after a restart: %d", r.Status)
		}
		ev := adminEvents(t, restarted, "logout")
		if len(ev) < 3 {
			t.Fatalf("logout events after recovery: %v", ev)
		}
	})
}

// sessionOf finds the session id of an access token through the account API.
func sessionOf(t *testing.T, e *testserver.Env, access string) string {
	t.Helper()
	r := e.Bearer(access).Do("GET", "/api/account/sessions", nil)
	for _, s := range r.Sessions().Items {
		if s.Current {
			return s.ID
		}
	}
	t.Fatalf("no current session: %s", r.Body)
	return ""
}

func (u unwritable) WriteCheck(ctx context.Context) error {
	if u.broken.Load() {
		return errDiskFull
	}
	return u.Store.WriteCheck(ctx)
}

// /readyz is 503 while the database answers but refuses writes (disk full), so a balancer stops
// sending sign-ins to an instance that cannot record them, and 200 again once writes succeed.
func TestReadyzWhileDatabaseUnwritable(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		broken := &atomic.Bool{}
		e := testserver.New(t, testserver.Options{Backend: backend,
			WrapStore: func(s gatehouse.Store) gatehouse.Store { return unwritable{s, broken} }})
		c := e.Client()
		if r := c.Do("GET", "/readyz", nil); r.Status != 200 {
			t.Fatalf("readyz with a healthy store: %d %s", r.Status, r.Body)
		}
		broken.Store(true)
		if r := c.Do("GET", "/readyz", nil); r.Status != 503 || r.Str("reason") != "store not writable" {
			t.Fatalf("readyz with writes failing: %d %s", r.Status, r.Body)
		}
		broken.Store(false)
		if r := c.Do("GET", "/readyz", nil); r.Status != 200 {
			t.Fatalf("readyz after writes recover: %d %s", r.Status, r.Body)
		}
	})
}
