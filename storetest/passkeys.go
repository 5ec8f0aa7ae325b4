package storetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func testPasskeys(t *testing.T, s gatehouse.Store) {
	alice := mkUser(t, s, "alice", gatehouse.RoleUser)
	bob := mkUser(t, s, "bob", gatehouse.RoleUser)

	// Handles: the first one stored wins, later calls return it; unknown users are refused.
	h, err := s.EnsurePasskeyHandle(ctx(), alice.ID, []byte("handle-alice-1"))
	must(t, err, "ensure handle")
	if string(h) != "handle-alice-1" {
		t.Fatalf("handle = %q", h)
	}
	h, err = s.EnsurePasskeyHandle(ctx(), alice.ID, []byte("handle-alice-2"))
	must(t, err, "ensure handle again")
	if string(h) != "handle-alice-1" {
		t.Fatalf("second ensure replaced the handle: %q", h)
	}
	_, err = s.EnsurePasskeyHandle(ctx(), 999999, []byte("x"))
	wantCode(t, err, gatehouse.ENotFound, "handle of a missing user")
	if h, err := s.PasskeyHandle(ctx(), alice.ID); err != nil || string(h) != "handle-alice-1" {
		t.Fatalf("PasskeyHandle = %q, %v", h, err)
	}
	_, err = s.PasskeyHandle(ctx(), bob.ID)
	wantCode(t, err, gatehouse.ENotFound, "handle of a user without one")
	if id, err := s.UserIDByPasskeyHandle(ctx(), []byte("handle-alice-1")); err != nil || id != alice.ID {
		t.Fatalf("UserIDByPasskeyHandle = %d, %v", id, err)
	}
	_, err = s.UserIDByPasskeyHandle(ctx(), []byte("handle-alice")) // a prefix is not a match
	wantCode(t, err, gatehouse.ENotFound, "unknown handle")

	// Create and list.
	p1 := &gatehouse.Passkey{UserID: alice.ID, CredentialID: []byte{1, 2, 3}, Name: "MacBook", Credential: []byte(`{"a":1}`),
		SignCount: 0, BackupEligible: true, BackupState: true, CreatedAt: base}
	must(t, s.CreatePasskey(ctx(), p1), "create p1")
	if p1.ID == 0 {
		t.Fatal("no ID set")
	}
	p2 := &gatehouse.Passkey{UserID: alice.ID, CredentialID: []byte{4, 5, 6}, Name: "YubiKey", Credential: []byte(`{"b":2}`),
		SignCount: 7, CreatedAt: base.Add(time.Minute)}
	must(t, s.CreatePasskey(ctx(), p2), "create p2")
	// The same credential cannot be registered twice, not even by another user.
	dup := &gatehouse.Passkey{UserID: bob.ID, CredentialID: []byte{1, 2, 3}, Name: "stolen", Credential: []byte(`{}`), CreatedAt: base}
	wantField(t, s.CreatePasskey(ctx(), dup), gatehouse.EConflict, "credential", "duplicate credential")
	missing := &gatehouse.Passkey{UserID: 999999, CredentialID: []byte{9}, Name: "x", Credential: []byte(`{}`), CreatedAt: base}
	wantCode(t, s.CreatePasskey(ctx(), missing), gatehouse.ENotFound, "passkey of a missing user")

	list, err := s.ListPasskeys(ctx(), alice.ID)
	must(t, err, "list")
	if len(list) != 2 || list[0].ID != p1.ID || list[1].ID != p2.ID {
		t.Fatalf("list = %+v", list)
	}
	got := list[0]
	if !bytes.Equal(got.CredentialID, p1.CredentialID) || got.Name != "MacBook" || string(got.Credential) != `{"a":1}` ||
		!got.BackupEligible || !got.BackupState || !got.CreatedAt.Equal(base) || got.LastUsedAt != nil || got.UserID != alice.ID {
		t.Fatalf("stored passkey = %+v", got)
	}
	if list[1].SignCount != 7 || list[1].BackupEligible {
		t.Fatalf("second passkey = %+v", list[1])
	}
	if l, _ := s.ListPasskeys(ctx(), bob.ID); len(l) != 0 {
		t.Fatalf("bob's list = %+v", l)
	}

	// Rename: only the owner's.
	r, err := s.RenamePasskey(ctx(), alice.ID, p1.ID, "iPhone")
	must(t, err, "rename")
	if r.Name != "iPhone" {
		t.Fatalf("renamed = %+v", r)
	}
	_, err = s.RenamePasskey(ctx(), bob.ID, p1.ID, "mine now")
	wantCode(t, err, gatehouse.ENotFound, "rename another user's passkey")

	// Use: stored only while the counter is what the caller read.
	used := base.Add(time.Hour)
	upd := *p2
	upd.SignCount, upd.BackupState, upd.Credential, upd.LastUsedAt = 8, true, []byte(`{"b":3}`), &used
	must(t, s.UpdatePasskeyUse(ctx(), &upd, 7), "update use")
	wantCode(t, s.UpdatePasskeyUse(ctx(), &upd, 7), gatehouse.EConflict, "update with a stale counter")
	list, _ = s.ListPasskeys(ctx(), alice.ID)
	if l := list[1]; l.SignCount != 8 || !l.BackupState || string(l.Credential) != `{"b":3}` || l.LastUsedAt == nil || !l.LastUsedAt.Equal(used) {
		t.Fatalf("after use: %+v", l)
	}

	// Delete: only the owner's, once.
	_, err = s.DeletePasskey(ctx(), bob.ID, p1.ID)
	wantCode(t, err, gatehouse.ENotFound, "delete another user's passkey")
	d, err := s.DeletePasskey(ctx(), alice.ID, p1.ID)
	must(t, err, "delete")
	if d.ID != p1.ID || d.Name != "iPhone" {
		t.Fatalf("deleted = %+v", d)
	}
	_, err = s.DeletePasskey(ctx(), alice.ID, p1.ID)
	wantCode(t, err, gatehouse.ENotFound, "delete twice")
	upd1 := *p1
	wantCode(t, s.UpdatePasskeyUse(ctx(), &upd1, 0), gatehouse.ENotFound, "use a deleted passkey")

	// Deleting the user removes the passkeys and the handle.
	must(t, s.DeleteUser(ctx(), alice.ID), "delete user")
	if l, _ := s.ListPasskeys(ctx(), alice.ID); len(l) != 0 {
		t.Fatalf("passkeys outlived their user: %+v", l)
	}
	_, err = s.UserIDByPasskeyHandle(ctx(), []byte("handle-alice-1"))
	wantCode(t, err, gatehouse.ENotFound, "handle of a deleted user")
}

func testCeremonies(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "carol", gatehouse.RoleUser)
	reg := &gatehouse.Ceremony{IDHash: hash("reg"), Kind: gatehouse.CeremonyRegister, UserID: u.ID, Data: []byte(`{"challenge":"x"}`),
		CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	must(t, s.CreateCeremony(ctx(), reg), "create register ceremony")
	login := &gatehouse.Ceremony{IDHash: hash("login"), Kind: gatehouse.CeremonyLogin, Data: []byte(`{"challenge":"y"}`),
		CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	must(t, s.CreateCeremony(ctx(), login), "create login ceremony")

	// The wrong kind finds nothing and does not spend it.
	_, err := s.ConsumeCeremony(ctx(), hash("reg"), gatehouse.CeremonyLogin, base)
	wantCode(t, err, gatehouse.ENotFound, "consume with the wrong kind")
	c, err := s.ConsumeCeremony(ctx(), hash("reg"), gatehouse.CeremonyRegister, base.Add(time.Minute))
	must(t, err, "consume")
	if c.UserID != u.ID || string(c.Data) != `{"challenge":"x"}` || !c.ExpiresAt.Equal(base.Add(5*time.Minute)) {
		t.Fatalf("ceremony = %+v", c)
	}
	// Single use.
	_, err = s.ConsumeCeremony(ctx(), hash("reg"), gatehouse.CeremonyRegister, base.Add(time.Minute))
	wantCode(t, err, gatehouse.ENotFound, "consume twice")

	// Expired: refused (and gone).
	_, err = s.ConsumeCeremony(ctx(), hash("login"), gatehouse.CeremonyLogin, base.Add(5*time.Minute))
	wantCode(t, err, gatehouse.ENotFound, "consume an expired ceremony")

	// Racing consumers: exactly one wins.
	must(t, s.CreateCeremony(ctx(), &gatehouse.Ceremony{IDHash: hash("race"), Kind: gatehouse.CeremonyLogin, Data: []byte(`{}`),
		CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute)}), "create race ceremony")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			if _, err := s.ConsumeCeremony(ctx(), hash("race"), gatehouse.CeremonyLogin, base); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !gatehouse.IsCode(err, gatehouse.ENotFound) {
				t.Errorf("racing consume: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d racing consumers got the ceremony, want 1", wins)
	}

	// Creating a ceremony clears the expired ones.
	must(t, s.CreateCeremony(ctx(), &gatehouse.Ceremony{IDHash: hash("old"), Kind: gatehouse.CeremonyLogin, Data: []byte(`{}`),
		CreatedAt: base, ExpiresAt: base.Add(time.Minute)}), "create old")
	must(t, s.CreateCeremony(ctx(), &gatehouse.Ceremony{IDHash: hash("new"), Kind: gatehouse.CeremonyLogin, Data: []byte(`{}`),
		CreatedAt: base.Add(time.Hour), ExpiresAt: base.Add(time.Hour + time.Minute)}), "create new")
	// Consuming at a time before its expiry would succeed if the row still existed.
	_, err = s.ConsumeCeremony(ctx(), hash("old"), gatehouse.CeremonyLogin, base)
	wantCode(t, err, gatehouse.ENotFound, "an expired ceremony after cleanup")
}
