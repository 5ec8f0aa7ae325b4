package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// pendingTests cover what frees an address held by an account nobody activated: a claim by the
// address's owner (TokenUse.Claim) and the purge of expired pending accounts.
var pendingTests = []storeTest{
	{"Mail/PendingClaim", testPendingClaim},
	{"Mail/PendingPurge", testPendingPurge},
}

// mkPending creates a pending user whose activation link (hash of name) lives ttl from created.
func mkPending(t *testing.T, s gatehouse.Store, name string, created time.Time, ttl time.Duration) *gatehouse.User {
	t.Helper()
	u := newUser(name, gatehouse.RoleUser)
	tok := &gatehouse.OneTimeToken{Hash: hash("act-" + name), Kind: gatehouse.TokenActivation, Email: u.Email, CreatedAt: created, ExpiresAt: created.Add(ttl)}
	must(t, s.CreatePendingUser(ctx(), u, tok), "CreatePendingUser "+name)
	return u
}

// issueClaim issues a claim link (hash of name) on the pending user u.
func issueClaim(t *testing.T, s gatehouse.Store, name string, u *gatehouse.User, at time.Time) {
	t.Helper()
	tok := &gatehouse.OneTimeToken{Hash: hash(name), Kind: gatehouse.TokenActivation, UserID: u.ID, Email: u.Email, CreatedAt: at, ExpiresAt: at.Add(time.Hour), Data: `{"claim":1}`}
	must(t, s.IssueToken(ctx(), tok, 0), "IssueToken claim "+name)
}

func claimUse(username string) gatehouse.TokenUse {
	return gatehouse.TokenUse{Activate: true, Claim: &gatehouse.User{Username: username, PasswordHash: "$argon2id$owner", Role: gatehouse.RoleUser, Language: "de"}}
}

func testPendingClaim(t *testing.T, s gatehouse.Store) {
	squat := mkPending(t, s, "squatter", base, time.Hour)
	issueClaim(t, s, "claim", squat, base)
	tok, u, err := s.ConsumeToken(ctx(), hash("claim"), gatehouse.TokenActivation, base.Add(time.Minute), claimUse("owner"))
	must(t, err, "ConsumeToken with a claim")
	if tok.Data != `{"claim":1}` || u.ID == 0 || u.ID == squat.ID || u.Username != "owner" || u.Email != squat.Email || u.Pending || !u.EmailVerified || u.PasswordHash != "$argon2id$owner" || u.Language != "de" {
		t.Fatalf("claimed account: %+v (squatter %d)", u, squat.ID)
	}
	if got, err := s.UserByLogin(ctx(), squat.Email); err != nil || got.ID != u.ID {
		t.Fatalf("the address belongs to %+v, %v; want the claimant %d", got, err, u.ID)
	}
	wantCode(t, errOf(s.UserByID(ctx(), squat.ID)), gatehouse.ENotFound, "the replaced pending account")
	if len(changesOfKind(t, s, gatehouse.ChangeUser, base)) == 0 {
		t.Fatal("a claim wrote no user change to the feed")
	}

	// Activated (here by a reset link) before the claim is used: the claim fails, its link stays.
	p2 := mkPending(t, s, "p2", base, time.Hour)
	issueClaim(t, s, "claim2", p2, base)
	must(t, s.IssueToken(ctx(), &gatehouse.OneTimeToken{Hash: hash("reset2"), Kind: gatehouse.TokenPasswordReset, UserID: p2.ID, Email: p2.Email, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}, 0), "IssueToken reset")
	_, _, err = s.ConsumeToken(ctx(), hash("reset2"), gatehouse.TokenPasswordReset, base.Add(time.Minute), gatehouse.TokenUse{Activate: true, PasswordHash: ptr("$argon2id$p2")})
	must(t, err, "ConsumeToken reset")
	_, _, err = s.ConsumeToken(ctx(), hash("claim2"), gatehouse.TokenActivation, base.Add(time.Minute), claimUse("late"))
	wantField(t, err, gatehouse.EConflict, "email", "a claim on an account activated meanwhile")
	if _, err := s.PeekToken(ctx(), hash("claim2"), gatehouse.TokenActivation, base.Add(time.Minute)); err != nil {
		t.Fatalf("a refused claim spent its link: %v", err)
	}
	if got, _ := s.UserByID(ctx(), p2.ID); got == nil || got.Pending || got.PasswordHash != "$argon2id$p2" {
		t.Fatalf("the activated account after a refused claim: %+v", got)
	}

	// A username taken meanwhile refuses the claim and changes nothing.
	p3 := mkPending(t, s, "p3", base, time.Hour)
	issueClaim(t, s, "claim3", p3, base)
	_, _, err = s.ConsumeToken(ctx(), hash("claim3"), gatehouse.TokenActivation, base.Add(time.Minute), claimUse("owner"))
	wantField(t, err, gatehouse.EConflict, "username", "a claim for a taken username")
	if got, err := s.UserByID(ctx(), p3.ID); err != nil || !got.Pending {
		t.Fatalf("the pending account after a refused claim: %+v, %v", got, err)
	}
	// The pending account's own username is free to the claimant.
	_, u, err = s.ConsumeToken(ctx(), hash("claim3"), gatehouse.TokenActivation, base.Add(time.Minute), claimUse("p3"))
	must(t, err, "a claim keeping the pending account's username")
	if u.Username != "p3" || u.ID == p3.ID || u.Pending {
		t.Fatalf("claimed account: %+v", u)
	}
}

func testPendingPurge(t *testing.T, s gatehouse.Store) {
	early := mkPending(t, s, "early", base, time.Hour)
	late := mkPending(t, s, "late", base, 3*time.Hour)
	active := mkUser(t, s, "active", gatehouse.RoleUser)
	purge := func(now time.Time) []int64 {
		t.Helper()
		gone, err := s.PurgePendingUsers(ctx(), now, 10)
		must(t, err, "PurgePendingUsers")
		return ids(gone)
	}
	if got := purge(base.Add(30 * time.Minute)); len(got) != 0 {
		t.Fatalf("purged %v while their links were valid", got)
	}
	if got := purge(base.Add(2 * time.Hour)); len(got) != 1 || got[0] != early.ID {
		t.Fatalf("purged %v, want only %d", got, early.ID)
	}
	wantCode(t, errOf(s.UserByID(ctx(), early.ID)), gatehouse.ENotFound, "a purged account")
	// A reset link (it would activate the account) keeps it as long as it is valid.
	must(t, s.IssueToken(ctx(), &gatehouse.OneTimeToken{Hash: hash("reset-late"), Kind: gatehouse.TokenPasswordReset, UserID: late.ID, Email: late.Email, CreatedAt: base, ExpiresAt: base.Add(5 * time.Hour)}, 0), "IssueToken reset")
	if got := purge(base.Add(4 * time.Hour)); len(got) != 0 {
		t.Fatalf("purged %v while a reset link was valid", got)
	}
	if got := purge(base.Add(6 * time.Hour)); len(got) != 1 || got[0] != late.ID {
		t.Fatalf("purged %v, want only %d", got, late.ID)
	}
	if got := purge(base.Add(48 * time.Hour)); len(got) != 0 {
		t.Fatalf("purged %v again", got)
	}
	if _, err := s.UserByID(ctx(), active.ID); err != nil {
		t.Fatalf("an active account was purged: %v", err)
	}
}
