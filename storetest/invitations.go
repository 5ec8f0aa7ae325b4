package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// invitationTests cover gatehouse.InvitationStore.
var invitationTests = []struct {
	name string
	fn   func(t *testing.T, s gatehouse.Store)
}{
	{"Invitations/CRUD", testInvitationsCRUD},
	{"Invitations/Use", testInvitationUse},
	{"Invitations/UsePending", testInvitationUsePending},
	{"Invitations/LastUseRace", testInvitationLastUseRace},
}

func mkInvitation(t *testing.T, s gatehouse.Store, tok, email string, maxUses int, ttl time.Duration, groups ...string) *gatehouse.Invitation {
	t.Helper()
	inv := &gatehouse.Invitation{TokenHash: hash(tok), Email: email, Groups: groups, MaxUses: maxUses, CreatedAt: base, ExpiresAt: base.Add(ttl)}
	must(t, s.CreateInvitation(ctx(), inv), "CreateInvitation "+tok)
	return inv
}

func testInvitationsCRUD(t *testing.T, s gatehouse.Store) {
	admin := mkUser(t, s, "admin", gatehouse.RoleAdmin)
	mkGroup(t, s, "ops")
	mkGroup(t, s, "dev")
	inv := &gatehouse.Invitation{TokenHash: hash("i1"), Email: "new@example.com", Groups: []string{"ops", "dev"}, MaxUses: 2,
		CreatedBy: &admin.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	must(t, s.CreateInvitation(ctx(), inv), "CreateInvitation")
	if inv.ID <= 0 {
		t.Fatalf("CreateInvitation set ID %d", inv.ID)
	}
	// An unknown group refuses the invitation, naming which one; nothing is saved.
	bad := &gatehouse.Invitation{TokenHash: hash("i2"), Groups: []string{"ops", "nope"}, MaxUses: 1, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	wantField(t, s.CreateInvitation(ctx(), bad), gatehouse.EInvalid, "groups[1]", "CreateInvitation with an unknown group")
	second := mkInvitation(t, s, "i3", "", 1, time.Minute)

	list, err := s.ListInvitations(ctx())
	must(t, err, "ListInvitations")
	if len(list) != 2 || list[0].ID != second.ID || list[1].ID != inv.ID {
		t.Fatalf("ListInvitations: %d items, want the two saved, newest first", len(list))
	}
	got := list[1]
	if got.Email != "new@example.com" || !slices.Equal(got.Groups, []string{"dev", "ops"}) || got.MaxUses != 2 || got.Uses != 0 ||
		got.CreatedBy == nil || *got.CreatedBy != admin.ID || !got.CreatedAt.Equal(base) || !got.ExpiresAt.Equal(base.Add(time.Hour)) ||
		got.RevokedAt != nil || string(got.TokenHash) != string(hash("i1")) {
		t.Fatalf("listed invitation = %+v", got)
	}
	if list[0].Groups == nil || len(list[0].Groups) != 0 {
		t.Fatalf("an invitation without groups lists %v, want an empty list", list[0].Groups)
	}

	// Usable until it expires; then not found, like an unknown token.
	if _, err := s.InvitationByHash(ctx(), hash("i3"), base.Add(59*time.Second)); err != nil {
		t.Fatalf("InvitationByHash before expiry: %v", err)
	}
	_, err = s.InvitationByHash(ctx(), hash("i3"), base.Add(time.Minute))
	wantCode(t, err, gatehouse.ENotFound, "InvitationByHash at expiry")
	_, err = s.InvitationByHash(ctx(), hash("unknown"), base)
	wantCode(t, err, gatehouse.ENotFound, "InvitationByHash of an unknown token")
	found, err := s.InvitationByHash(ctx(), hash("i1"), base)
	must(t, err, "InvitationByHash")
	if found.ID != inv.ID || !slices.Equal(found.Groups, []string{"dev", "ops"}) {
		t.Fatalf("InvitationByHash = %+v", found)
	}

	// Revoked: not usable, listed as revoked; revoking twice keeps the first time.
	must(t, s.RevokeInvitation(ctx(), inv.ID, base.Add(time.Second)), "RevokeInvitation")
	must(t, s.RevokeInvitation(ctx(), inv.ID, base.Add(time.Hour)), "RevokeInvitation again")
	_, err = s.InvitationByHash(ctx(), hash("i1"), base.Add(2*time.Second))
	wantCode(t, err, gatehouse.ENotFound, "InvitationByHash of a revoked invitation")
	wantCode(t, s.RevokeInvitation(ctx(), inv.ID+second.ID+100, base), gatehouse.ENotFound, "RevokeInvitation of an unknown id")
	list, _ = s.ListInvitations(ctx())
	if list[1].RevokedAt == nil || !list[1].RevokedAt.Equal(base.Add(time.Second)) || list[1].State(base) != gatehouse.InvitationRevoked {
		t.Fatalf("revoked invitation lists revoked_at %v", list[1].RevokedAt)
	}
	// Deleting a group takes it off the invitations that named it.
	g, _ := s.ListGroups(ctx())
	for _, x := range g {
		if x.Name == "dev" {
			must(t, s.DeleteGroup(ctx(), x.ID, base), "DeleteGroup dev")
		}
	}
	list, _ = s.ListInvitations(ctx())
	if !slices.Equal(list[1].Groups, []string{"ops"}) {
		t.Fatalf("after deleting dev, the invitation lists %v", list[1].Groups)
	}
}

func invitee(name string) gatehouse.InvitationUse {
	return gatehouse.InvitationUse{User: &gatehouse.User{Username: name, Email: name + "@example.com", Role: gatehouse.RoleUser, PasswordHash: "h", EmailVerified: true}}
}

func testInvitationUse(t *testing.T, s gatehouse.Store) {
	mkUser(t, s, "taken", gatehouse.RoleUser)
	ops := mkGroup(t, s, "ops")
	mkInvitation(t, s, "two", "", 2, time.Hour, "ops")
	now := base.Add(time.Minute)

	use := invitee("ann")
	inv, err := s.UseInvitation(ctx(), hash("two"), now, use)
	must(t, err, "UseInvitation")
	if inv.Uses != 1 || use.User.ID == 0 {
		t.Fatalf("UseInvitation: uses %d, user id %d", inv.Uses, use.User.ID)
	}
	u, err := s.UserByLogin(ctx(), "ann")
	must(t, err, "UserByLogin ann")
	if u.Pending || !u.EmailVerified || u.Role != gatehouse.RoleUser {
		t.Fatalf("invitee: %+v, want active, verified, a user", u)
	}
	if gs, _ := s.UserGroups(ctx(), u.ID); !slices.Equal(gs, []string{"ops"}) {
		t.Fatalf("invitee's groups: %v", gs)
	}
	if m, _ := s.GroupMembers(ctx(), ops.ID); !slices.Equal(m, []int64{u.ID}) {
		t.Fatalf("ops members: %v", m)
	}
	// A taken username spends nothing.
	_, err = s.UseInvitation(ctx(), hash("two"), now, invitee("taken"))
	wantField(t, err, gatehouse.EConflict, "username", "UseInvitation with a taken username")
	// A taken address makes no account but spends the use (the caller answers as if it had).
	dup := invitee("bea")
	dup.User.Email = "taken@example.com"
	inv, err = s.UseInvitation(ctx(), hash("two"), now, dup)
	wantField(t, err, gatehouse.EConflict, "email", "UseInvitation with a taken email")
	if inv == nil || inv.Uses != 2 {
		t.Fatalf("a taken address returned %+v, want the invitation with the use spent", inv)
	}
	if _, err := s.UserByLogin(ctx(), "bea"); !gatehouse.IsCode(err, gatehouse.ENotFound) {
		t.Fatalf("a taken address made an account: %v", err)
	}
	// Used up: not found, nothing made.
	_, err = s.UseInvitation(ctx(), hash("two"), now, invitee("cid"))
	wantCode(t, err, gatehouse.ENotFound, "UseInvitation of a used-up invitation")
	if _, err := s.UserByLogin(ctx(), "cid"); !gatehouse.IsCode(err, gatehouse.ENotFound) {
		t.Fatalf("a used-up invitation made an account: %v", err)
	}
	list, _ := s.ListInvitations(ctx())
	if list[0].Uses != 2 || list[0].State(now) != gatehouse.InvitationUsed {
		t.Fatalf("listed uses %d state %s", list[0].Uses, list[0].State(now))
	}
	// Expired and unknown: not found.
	mkInvitation(t, s, "short", "", 5, time.Minute)
	_, err = s.UseInvitation(ctx(), hash("short"), base.Add(time.Minute), invitee("dan"))
	wantCode(t, err, gatehouse.ENotFound, "UseInvitation at expiry")
	_, err = s.UseInvitation(ctx(), hash("nope"), now, invitee("dan"))
	wantCode(t, err, gatehouse.ENotFound, "UseInvitation of an unknown token")
}

func testInvitationUsePending(t *testing.T, s gatehouse.Store) {
	mkInvitation(t, s, "p", "", 1, time.Hour)
	use := invitee("eve")
	use.User.EmailVerified = false
	use.Activation = newToken("act", gatehouse.TokenActivation, 0, base, time.Hour)
	use.Mails = []*gatehouse.OutboxMail{newMail("eve@example.com")}
	_, err := s.UseInvitation(ctx(), hash("p"), base, use)
	must(t, err, "UseInvitation pending")
	u, err := s.UserByLogin(ctx(), "eve")
	must(t, err, "UserByLogin eve")
	if !u.Pending || u.EmailVerified || use.Activation.UserID != u.ID {
		t.Fatalf("pending invitee: %+v (token user %d)", u, use.Activation.UserID)
	}
	if ms, _, _ := s.ListMail(ctx(), "", 0, 10); len(ms) != 1 || ms[0].To != "eve@example.com" {
		t.Fatalf("activation mail not queued: %d mails", len(ms))
	}
	_, au, err := s.ConsumeToken(ctx(), hash("act"), gatehouse.TokenActivation, base.Add(time.Minute), gatehouse.TokenUse{Activate: true})
	must(t, err, "activate the invitee")
	if au.Pending || !au.EmailVerified {
		t.Fatalf("activated invitee: %+v", au)
	}
}

// testInvitationLastUseRace: ten invitees race for a three-use invitation; exactly three get an
// account.
func testInvitationLastUseRace(t *testing.T, s gatehouse.Store) {
	mkInvitation(t, s, "race", "", 3, time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.UseInvitation(ctx(), hash("race"), base, invitee(fmt.Sprintf("racer%d", i)))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !gatehouse.IsCode(err, gatehouse.ENotFound) && !gatehouse.IsCode(err, gatehouse.EBusy):
			t.Fatalf("racing use: %v", err)
		}
	}
	n, err := s.CountUsers(ctx())
	must(t, err, "CountUsers")
	if ok != 3 || n != 3 {
		t.Fatalf("%d uses succeeded and %d accounts exist, want 3 and 3", ok, n)
	}
}
