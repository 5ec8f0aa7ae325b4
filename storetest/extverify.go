package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// runExternalVerify is the conformance suite of gatehouse.ExternalVerifyStore and of the data a
// one-time link carries.
func runExternalVerify(t *testing.T, open func(t *testing.T) gatehouse.Store) {
	t.Run("ExternalVerify/Pending", func(t *testing.T) { t.Parallel(); testExternalPending(t, open(t)) })
	t.Run("ExternalVerify/TokenData", func(t *testing.T) { t.Parallel(); testTokenData(t, open(t)) })
}

func testExternalPending(t *testing.T, s gatehouse.Store) {
	mkProvider(t, s, "op")
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	a := &gatehouse.ExternalPending{BrowserHash: hash("a"), ProviderID: "op", Subject: "sub-a", Email: "a@example.com", RD: "/x",
		CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	must(t, s.CreateExternalPending(ctx(), a), "CreateExternalPending a")
	got, err := s.ExternalPendingByHash(ctx(), hash("a"), now.Add(time.Minute))
	must(t, err, "ExternalPendingByHash a")
	if got.ProviderID != "op" || got.Subject != "sub-a" || got.Email != "a@example.com" || got.RD != "/x" || !got.ExpiresAt.Equal(a.ExpiresAt) {
		t.Fatalf("pending: %+v", got)
	}
	// Looking does not use it up.
	if _, err := s.ExternalPendingByHash(ctx(), hash("a"), now.Add(2*time.Minute)); err != nil {
		t.Fatalf("second look: %v", err)
	}
	_, err = s.ExternalPendingByHash(ctx(), hash("a"), now.Add(10*time.Minute))
	wantCode(t, err, gatehouse.ENotFound, "expired pending identity")
	_, err = s.ExternalPendingByHash(ctx(), hash("nope"), now)
	wantCode(t, err, gatehouse.ENotFound, "unknown pending identity")

	// A later one sweeps the expired: a is gone even for a clock that would still accept it.
	later := now.Add(time.Hour)
	must(t, s.CreateExternalPending(ctx(), &gatehouse.ExternalPending{BrowserHash: hash("b"), ProviderID: "op", Subject: "sub-b", Email: "b@example.com",
		CreatedAt: later, ExpiresAt: later.Add(10 * time.Minute)}), "CreateExternalPending b")
	_, err = s.ExternalPendingByHash(ctx(), hash("a"), now)
	wantCode(t, err, gatehouse.ENotFound, "swept pending identity")

	// Deleting the provider drops its pending identities.
	must(t, s.DeleteProvider(ctx(), "op"), "DeleteProvider")
	_, err = s.ExternalPendingByHash(ctx(), hash("b"), later)
	wantCode(t, err, gatehouse.ENotFound, "pending identity of a deleted provider")
}

func testTokenData(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "carol", gatehouse.RoleUser)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tok := newToken("carol-link", gatehouse.TokenExternalVerify, u.ID, now, time.Hour)
	tok.Data = `{"provider":"op","subject":"s"}`
	must(t, s.IssueToken(ctx(), tok, time.Minute), "IssueToken")
	got, err := s.PeekToken(ctx(), hash("carol-link"), gatehouse.TokenExternalVerify, now)
	must(t, err, "PeekToken")
	if got.Data != tok.Data {
		t.Fatalf("peeked data %q", got.Data)
	}
	used, _, err := s.ConsumeToken(ctx(), hash("carol-link"), gatehouse.TokenExternalVerify, now, gatehouse.TokenUse{})
	must(t, err, "ConsumeToken")
	if used.Data != tok.Data {
		t.Fatalf("consumed data %q", used.Data)
	}
	_, _, err = s.ConsumeToken(ctx(), hash("carol-link"), gatehouse.TokenExternalVerify, now, gatehouse.TokenUse{})
	wantCode(t, err, gatehouse.ENotFound, "second use")
}
