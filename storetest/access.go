package storetest

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// accessTests cover groups, memberships and access rules (GroupStore, AccessRuleStore).
var accessTests = []struct {
	name string
	fn   func(t *testing.T, s gatehouse.Store)
}{
	{"Groups/CRUD", testGroupsCRUD},
	{"Groups/Members", testGroupMembers},
	{"Groups/MembersFollowDeletes", testGroupMembersCascade},
	{"AccessRules/Replace", testAccessRulesReplace},
	{"AccessRules/GroupsInUse", testAccessRulesGroupsInUse},
	{"AccessRules/RaceWithGroupDelete", testAccessRulesRace},
}

func mkGroup(t *testing.T, s gatehouse.Store, name string) *gatehouse.Group {
	t.Helper()
	g := &gatehouse.Group{Name: name, Description: "the " + name}
	must(t, s.CreateGroup(ctx(), g), "CreateGroup "+name)
	return g
}

// changesOf returns the feed rows of kind, in order.
func changesOf(t *testing.T, s gatehouse.Store, kind string) []gatehouse.Change {
	t.Helper()
	cs, err := s.ChangesSince(ctx(), 0, base, 1000)
	must(t, err, "ChangesSince")
	var out []gatehouse.Change
	for _, c := range cs {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	return out
}

func testGroupsCRUD(t *testing.T, s gatehouse.Store) {
	ops := mkGroup(t, s, "ops")
	if ops.ID <= 0 || ops.CreatedAt.IsZero() {
		t.Fatalf("CreateGroup set ID %d, CreatedAt %v", ops.ID, ops.CreatedAt)
	}
	dev := mkGroup(t, s, "dev")
	wantField(t, s.CreateGroup(ctx(), &gatehouse.Group{Name: "ops"}), gatehouse.EConflict, "name", "CreateGroup with a taken name")

	got, err := s.GroupByID(ctx(), ops.ID)
	must(t, err, "GroupByID")
	if got.Name != "ops" || got.Description != "the ops" || !got.CreatedAt.Equal(ops.CreatedAt) || got.Members != 0 {
		t.Fatalf("GroupByID = %+v, want %+v", got, ops)
	}
	_, err = s.GroupByID(ctx(), ops.ID+dev.ID+100)
	wantCode(t, err, gatehouse.ENotFound, "GroupByID of an unknown id")

	list, err := s.ListGroups(ctx())
	must(t, err, "ListGroups")
	if len(list) != 2 || list[0].Name != "dev" || list[1].Name != "ops" {
		t.Fatalf("ListGroups = %+v, want dev, ops by name", list)
	}

	at := base.Add(time.Minute)
	must(t, s.UpdateGroup(ctx(), &gatehouse.Group{ID: ops.ID, Name: "operations", Description: "on call"}, at), "UpdateGroup")
	got, err = s.GroupByID(ctx(), ops.ID)
	must(t, err, "GroupByID after rename")
	if got.Name != "operations" || got.Description != "on call" {
		t.Fatalf("after UpdateGroup: %+v", got)
	}
	wantField(t, s.UpdateGroup(ctx(), &gatehouse.Group{ID: ops.ID, Name: "dev"}, at), gatehouse.EConflict, "name", "rename onto a taken name")
	wantCode(t, s.UpdateGroup(ctx(), &gatehouse.Group{ID: 9999, Name: "x"}, at), gatehouse.ENotFound, "UpdateGroup of an unknown id")
	if cs := changesOf(t, s, gatehouse.ChangeGroups); len(cs) != 1 || cs[0].Subject != itoa(ops.ID) {
		t.Fatalf("group changes after one rename = %+v, want one for group %d", cs, ops.ID)
	}

	must(t, s.DeleteGroup(ctx(), dev.ID, at), "DeleteGroup")
	_, err = s.GroupByID(ctx(), dev.ID)
	wantCode(t, err, gatehouse.ENotFound, "GroupByID after delete")
	wantCode(t, s.DeleteGroup(ctx(), dev.ID, at), gatehouse.ENotFound, "DeleteGroup twice")
	if cs := changesOf(t, s, gatehouse.ChangeGroups); len(cs) != 2 {
		t.Fatalf("group changes after a rename and a delete = %+v, want two", cs)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func testGroupMembers(t *testing.T, s gatehouse.Store) {
	alice := mkUser(t, s, "alice", gatehouse.RoleUser)
	bob := mkUser(t, s, "bob", gatehouse.RoleUser)
	ops, dev := mkGroup(t, s, "ops"), mkGroup(t, s, "dev")
	at := base.Add(time.Minute)

	must(t, s.AddGroupMember(ctx(), ops.ID, alice.ID, at), "AddGroupMember")
	must(t, s.AddGroupMember(ctx(), dev.ID, alice.ID, at), "AddGroupMember")
	must(t, s.AddGroupMember(ctx(), ops.ID, bob.ID, at), "AddGroupMember")
	must(t, s.AddGroupMember(ctx(), ops.ID, bob.ID, at), "AddGroupMember twice")
	wantCode(t, s.AddGroupMember(ctx(), ops.ID, 9999, at), gatehouse.ENotFound, "AddGroupMember of an unknown user")
	wantCode(t, s.AddGroupMember(ctx(), 9999, bob.ID, at), gatehouse.ENotFound, "AddGroupMember to an unknown group")

	groups, err := s.UserGroups(ctx(), alice.ID)
	must(t, err, "UserGroups")
	if !slices.Equal(groups, []string{"dev", "ops"}) {
		t.Fatalf("UserGroups(alice) = %v, want [dev ops]", groups)
	}
	if groups, err := s.UserGroups(ctx(), 9999); err != nil || len(groups) != 0 {
		t.Fatalf("UserGroups of an unknown user = %v, %v; want none", groups, err)
	}
	members, err := s.GroupMembers(ctx(), ops.ID)
	must(t, err, "GroupMembers")
	if !slices.Equal(members, []int64{alice.ID, bob.ID}) {
		t.Fatalf("GroupMembers(ops) = %v, want [%d %d]", members, alice.ID, bob.ID)
	}
	if g, _ := s.GroupByID(ctx(), ops.ID); g.Members != 2 {
		t.Fatalf("ops has Members %d, want 2", g.Members)
	}
	_, err = s.GroupMembers(ctx(), 9999)
	wantCode(t, err, gatehouse.ENotFound, "GroupMembers of an unknown group")

	// Every membership change tells other instances the user changed.
	userChanges := func() []string {
		var out []string
		for _, c := range changesOf(t, s, gatehouse.ChangeUser) {
			out = append(out, c.Subject)
		}
		return out
	}
	before := len(userChanges())
	must(t, s.RemoveGroupMember(ctx(), ops.ID, alice.ID, at), "RemoveGroupMember")
	wantCode(t, s.RemoveGroupMember(ctx(), ops.ID, alice.ID, at), gatehouse.ENotFound, "RemoveGroupMember of a non-member")
	if uc := userChanges(); len(uc) != before+1 || uc[len(uc)-1] != itoa(alice.ID) {
		t.Fatalf("user changes after removing alice = %v (had %d), want one more for %d", uc, before, alice.ID)
	}
	if groups, _ := s.UserGroups(ctx(), alice.ID); !slices.Equal(groups, []string{"dev"}) {
		t.Fatalf("UserGroups(alice) after removal = %v, want [dev]", groups)
	}
}

func testGroupMembersCascade(t *testing.T, s gatehouse.Store) {
	admin := mkUser(t, s, "root", gatehouse.RoleAdmin)
	alice := mkUser(t, s, "alice", gatehouse.RoleUser)
	ops := mkGroup(t, s, "ops")
	must(t, s.AddGroupMember(ctx(), ops.ID, alice.ID, base), "AddGroupMember")
	must(t, s.AddGroupMember(ctx(), ops.ID, admin.ID, base), "AddGroupMember")
	must(t, s.DeleteUser(ctx(), alice.ID), "DeleteUser")
	if m, _ := s.GroupMembers(ctx(), ops.ID); !slices.Equal(m, []int64{admin.ID}) {
		t.Fatalf("members after deleting alice = %v, want [%d]", m, admin.ID)
	}
	must(t, s.DeleteGroup(ctx(), ops.ID, base), "DeleteGroup")
	if g, _ := s.UserGroups(ctx(), admin.ID); len(g) != 0 {
		t.Fatalf("UserGroups after the group was deleted = %v", g)
	}
}

func testAccessRulesReplace(t *testing.T, s gatehouse.Store) {
	rules, err := s.AccessRules(ctx())
	must(t, err, "AccessRules on an empty store")
	if len(rules) != 0 {
		t.Fatalf("AccessRules on an empty store = %+v", rules)
	}
	mkGroup(t, s, "admins")
	want := []gatehouse.AccessRule{
		{Domains: []string{"public.example.com"}, Policy: gatehouse.PolicyBypass},
		{Domains: []string{"*.example.com"}, Paths: []string{"^/admin(/.*)?$"}, Methods: []string{"GET", "POST"},
			Networks: []string{"10.0.0.0/8"}, Subjects: []string{"group:admins", "user:alice"}, Policy: gatehouse.PolicyTwoFactor},
		{Policy: gatehouse.PolicyDeny},
	}
	at := base.Add(time.Minute)
	must(t, s.ReplaceAccessRules(ctx(), want, at), "ReplaceAccessRules")
	got, err := s.AccessRules(ctx())
	must(t, err, "AccessRules")
	if len(got) != len(want) {
		t.Fatalf("AccessRules = %+v, want %+v", got, want)
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.Policy != w.Policy || !slices.Equal(g.Domains, w.Domains) || !slices.Equal(g.Paths, w.Paths) || !slices.Equal(g.Methods, w.Methods) ||
			!slices.Equal(g.Networks, w.Networks) || !slices.Equal(g.Subjects, w.Subjects) {
			t.Fatalf("rule %d = %+v, want %+v", i, g, w)
		}
	}
	if cs := changesOf(t, s, gatehouse.ChangeAccessRules); len(cs) != 1 || !cs[0].At.Equal(at) {
		t.Fatalf("rule changes = %+v, want one at %v", cs, at)
	}

	// A rule naming an unknown group: nothing saved, the field named.
	bad := append(slices.Clone(want[:1]), gatehouse.AccessRule{Subjects: []string{"user:bob", "group:nobody"}, Policy: gatehouse.PolicyOneFactor})
	wantField(t, s.ReplaceAccessRules(ctx(), bad, at), gatehouse.EInvalid, "rules[1].subjects[1]", "rules naming an unknown group")
	if got, _ := s.AccessRules(ctx()); len(got) != 3 {
		t.Fatalf("a refused replacement changed the rules: %+v", got)
	}
	if cs := changesOf(t, s, gatehouse.ChangeAccessRules); len(cs) != 1 {
		t.Fatalf("a refused replacement appended a change: %+v", cs)
	}

	must(t, s.ReplaceAccessRules(ctx(), nil, at), "ReplaceAccessRules with none")
	if got, _ := s.AccessRules(ctx()); len(got) != 0 {
		t.Fatalf("AccessRules after clearing = %+v", got)
	}
}

func testAccessRulesGroupsInUse(t *testing.T, s gatehouse.Store) {
	admins := mkGroup(t, s, "admins")
	must(t, s.ReplaceAccessRules(ctx(), []gatehouse.AccessRule{
		{Policy: gatehouse.PolicyBypass, Paths: []string{"^/health$"}},
		{Subjects: []string{"group:admins"}, Policy: gatehouse.PolicyOneFactor},
	}, base), "ReplaceAccessRules")
	err := s.DeleteGroup(ctx(), admins.ID, base)
	wantCode(t, err, gatehouse.EConflict, "DeleteGroup of a group a rule names")
	if _, err := s.GroupByID(ctx(), admins.ID); err != nil {
		t.Fatalf("the refused delete removed the group: %v", err)
	}
	wantCode(t, s.UpdateGroup(ctx(), &gatehouse.Group{ID: admins.ID, Name: "root"}, base), gatehouse.EConflict, "renaming a group a rule names")
	// The description alone may change.
	must(t, s.UpdateGroup(ctx(), &gatehouse.Group{ID: admins.ID, Name: "admins", Description: "new"}, base), "UpdateGroup of the description")
	must(t, s.ReplaceAccessRules(ctx(), nil, base), "ReplaceAccessRules")
	must(t, s.DeleteGroup(ctx(), admins.ID, base), "DeleteGroup once no rule names it")
}

// testAccessRulesRace runs a rule replacement naming a group against that group's deletion:
// exactly one may win, and the rules never end up naming a group that does not exist.
func testAccessRulesRace(t *testing.T, s gatehouse.Store) {
	for round := range 5 {
		g := mkGroup(t, s, "g"+itoa(int64(round)))
		rules := []gatehouse.AccessRule{{Subjects: []string{"group:" + g.Name}, Policy: gatehouse.PolicyOneFactor}}
		var wg sync.WaitGroup
		var errReplace, errDelete error
		wg.Add(2)
		go func() { defer wg.Done(); errReplace = s.ReplaceAccessRules(ctx(), rules, base) }()
		go func() { defer wg.Done(); errDelete = s.DeleteGroup(ctx(), g.ID, base) }()
		wg.Wait()
		if (errReplace == nil) == (errDelete == nil) {
			t.Fatalf("round %d: replace err %v, delete err %v: want exactly one to succeed", round, errReplace, errDelete)
		}
		got, err := s.AccessRules(ctx())
		must(t, err, "AccessRules")
		_, gerr := s.GroupByID(ctx(), g.ID)
		if len(got) == 1 && gerr != nil {
			t.Fatalf("round %d: the rules name group %q, which was deleted", round, g.Name)
		}
		must(t, s.ReplaceAccessRules(ctx(), nil, base), "clearing the rules")
	}
}
