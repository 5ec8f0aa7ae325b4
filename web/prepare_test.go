package web_test

import (
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/password"
)

// preparingHasher counts the pool's Prepare calls.
type preparingHasher struct {
	auth.Hasher
	prepared atomic.Int32
}

func (h *preparingHasher) Prepare() { h.prepared.Add(1) }

// Showing the sign-in form readies the hashing worker for the password to come; a signed-in
// visitor sent on from /login, and other pages, do not.
func TestLoginPagePreparesHashing(t *testing.T) {
	h := &preparingHasher{Hasher: password.NewHasher(testserver.FastParams(), 1, 0)}
	e := testserver.New(t, testserver.Options{Web: true, Hasher: h})
	e.Setup("alice", "alice@example.com", "alice password 1")
	c := e.Client()
	if r := c.Do("GET", "/login", nil); r.Status != 200 {
		t.Fatalf("GET /login: %d", r.Status)
	}
	if n := h.prepared.Load(); n != 1 {
		t.Fatalf("the sign-in form prepared hashing %d times, want 1", n)
	}
	if r := c.Form("/login", url.Values{"login": {"alice"}, "password": {"alice password 1"}}); r.Status != 303 {
		t.Fatalf("sign-in: %d", r.Status)
	}
	for _, path := range []string{"/login", "/"} {
		c.Do("GET", path, nil)
	}
	if n := h.prepared.Load(); n != 1 {
		t.Errorf("pages other than the sign-in form prepared hashing: %d calls in all, want 1", n)
	}
}
