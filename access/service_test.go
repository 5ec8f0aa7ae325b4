package access_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/access"
	"github.com/gatehouse/gatehouse/ratelimit"
	"github.com/gatehouse/gatehouse/sqlite"
)

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// instance is one gatehouse instance's access service over a shared database, following the
// change feed as the core does.
type instance struct {
	svc  *access.Service
	db   *sqlite.DB
	last int64
}

func (in *instance) follow(t *testing.T) {
	t.Helper()
	cs, err := in.db.ChangesSince(context.Background(), in.last, time.Now(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		in.svc.Apply(context.Background(), c)
		in.last = c.ID
	}
}

func open(t *testing.T) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "g.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

func newInstance(t *testing.T, db *sqlite.DB, settings *gatehouse.Settings) *instance {
	t.Helper()
	svc, err := access.New(context.Background(), access.Deps{Store: db, Limiter: ratelimit.NewMemory(time.Now), Clock: &fixedClock{time.Now()},
		Settings: func() *gatehouse.Settings { return settings }})
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{svc: svc, db: db}
	in.follow(t) // start at the feed's end, as the core does
	return in
}

var admin = access.Actor{UserID: 1, Admin: true, IP: "192.0.2.9"}

func TestGroupsFollowTheFeedOnEveryInstance(t *testing.T) {
	ctx := context.Background()
	db, path := open(t)
	alice := &gatehouse.User{Username: "alice", Email: "alice@example.com", Role: gatehouse.RoleUser}
	if err := db.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	st, _ := gatehouse.NewSettings(nil, true)
	a := newInstance(t, db, st)
	db2, err := sqlite.Open(ctx, path) // a second instance: its own connections and caches
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	b := newInstance(t, db2, st)

	g, err := a.svc.CreateGroup(ctx, admin, " Ops ", "on call")
	if err != nil || g.Name != "ops" {
		t.Fatalf("CreateGroup = %+v, %v", g, err)
	}
	if got, _ := b.svc.UserGroups(ctx, alice.ID); len(got) != 0 {
		t.Fatalf("groups before joining = %v", got) // now cached on b as "none"
	}
	if got, err := a.svc.AddMember(ctx, admin, g.ID, alice.ID); err != nil || !slices.Equal(got, []string{"ops"}) {
		t.Fatalf("AddMember = %v, %v", got, err)
	}
	b.follow(t)
	if gs, _ := b.svc.Groups(ctx, alice.ID); !slices.Equal(gs.Names, []string{"ops"}) || gs.Header != "ops" {
		t.Fatalf("other instance after the feed: %+v, want ops", gs)
	}
	if _, err := a.svc.UpdateGroup(ctx, admin, g.ID, ptr("operations"), nil); err != nil {
		t.Fatal(err)
	}
	b.follow(t)
	if got, _ := b.svc.UserGroups(ctx, alice.ID); !slices.Equal(got, []string{"operations"}) {
		t.Fatalf("other instance after a rename: %v", got)
	}
	if _, err := a.svc.RemoveMember(ctx, admin, g.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	b.follow(t)
	if got, _ := b.svc.UserGroups(ctx, alice.ID); len(got) != 0 {
		t.Fatalf("other instance after removal: %v", got)
	}

	evs, _, err := db.ListEvents(ctx, gatehouse.EventFilter{Kind: gatehouse.EventGroupChanged})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs {
		if e.UserID == nil || *e.UserID != admin.UserID {
			t.Fatalf("event %+v does not name the admin who acted", e)
		}
		actions = append(actions, e.Data["action"].(string))
	}
	if want := []string{"member_removed", "renamed", "member_added", "created"}; !slices.Equal(actions, want) {
		t.Fatalf("group.changed actions = %v, want %v", actions, want)
	}
}

func ptr[T any](v T) *T { return &v }

func TestRulesReplacedAtomicallyAndFollowed(t *testing.T) {
	ctx := context.Background()
	db, path := open(t)
	st, _ := gatehouse.NewSettings(map[string]string{"access_default_policy": "deny"}, true)
	a := newInstance(t, db, st)
	db2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	b := newInstance(t, db2, st)
	if _, err := a.svc.CreateGroup(ctx, admin, "dev", ""); err != nil {
		t.Fatal(err)
	}
	req := &access.Request{Host: "app.example.com", Path: "/", Method: "GET"}
	if d := b.svc.Decide(req, nil); d.Rule != -1 || d.Policy != access.Deny {
		t.Fatalf("no rules, default deny: %+v", d)
	}
	rules := []gatehouse.AccessRule{{Domains: []string{"App.Example.com"}, Subjects: []string{"group:DEV"}, Policy: "one_factor"}}
	saved, err := a.svc.ReplaceRules(ctx, admin, rules)
	if err != nil {
		t.Fatal(err)
	}
	if saved[0].Domains[0] != "app.example.com" || saved[0].Subjects[0] != "group:dev" {
		t.Fatalf("saved rules are not normalized: %+v", saved)
	}
	if d := a.svc.Decide(req, &access.Subject{Username: "x", Groups: []string{"dev"}}); d.Rule != 0 {
		t.Fatalf("this instance did not apply the rules at once: %+v", d)
	}
	b.follow(t)
	if d := b.svc.Decide(req, &access.Subject{Username: "x", Groups: []string{"dev"}}); d.Rule != 0 || d.Policy != access.OneFactor {
		t.Fatalf("other instance after the feed: %+v", d)
	}

	// Bad lists change nothing, and say what is wrong.
	for _, bad := range [][]gatehouse.AccessRule{
		{{Paths: []string{"("}, Policy: "deny"}},
		{{Networks: []string{"10.0.0.0/40"}, Policy: "deny"}},
		{{Policy: "deny"}, {Subjects: []string{"group:ghosts"}, Policy: "deny"}},
	} {
		if _, err := a.svc.ReplaceRules(ctx, admin, bad); gatehouse.ErrorCode(err) != gatehouse.EInvalid {
			t.Fatalf("ReplaceRules(%+v) = %v, want invalid_input", bad, err)
		}
	}
	if got, _ := a.svc.Rules(ctx, admin); len(got) != 1 || a.svc.Matcher().Len() != 1 {
		t.Fatalf("a refused list changed the rules: %+v", got)
	}
	if _, err := a.svc.ReplaceRules(ctx, access.Actor{UserID: 2}, nil); gatehouse.ErrorCode(err) != gatehouse.EForbidden {
		t.Fatalf("a non-admin replaced the rules: %v", err)
	}
	if err := a.svc.DeleteGroup(ctx, admin, 1); gatehouse.ErrorCode(err) != gatehouse.EConflict {
		t.Fatalf("deleting a group a rule names: %v", err)
	}
}

func TestDeniedEventsAreRateLimited(t *testing.T) {
	ctx := context.Background()
	db, _ := open(t)
	st, _ := gatehouse.NewSettings(nil, true)
	in := newInstance(t, db, st)
	d := access.Decision{Rule: 2, Policy: access.Deny}
	for range 50 {
		in.svc.Denied(ctx, d, "https://app.example.com/secret", nil, "", "198.51.100.1", "crawler")
	}
	in.svc.Denied(ctx, d, "https://app.example.com/secret", nil, "", "198.51.100.2", "crawler")
	evs, _, err := db.ListEvents(ctx, gatehouse.EventFilter{Kind: gatehouse.EventAccessDenied})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("%d access.denied events for 51 denials from two addresses, want 2", len(evs))
	}
	if evs[0].Data["rule"] != float64(3) || evs[0].Data["url"] != "https://app.example.com/secret" || evs[0].IP != "198.51.100.2" {
		t.Fatalf("event data = %+v", evs[0])
	}
}

// TestDecideUserResumesOnTheSameList checks what the request check relies on when it asks
// twice, without a user and then with the signed-in one: DecideUser answers as Decide would,
// and a rule list saved between the two questions does not mix with the list of the first.
func TestDecideUserResumesOnTheSameList(t *testing.T) {
	ctx := context.Background()
	db, _ := open(t)
	st, _ := gatehouse.NewSettings(map[string]string{"access_default_policy": "deny"}, true)
	in := newInstance(t, db, st)
	for _, g := range []string{"dev", "ops"} {
		if _, err := in.svc.CreateGroup(ctx, admin, g, ""); err != nil {
			t.Fatal(err)
		}
	}
	first := []gatehouse.AccessRule{
		{Domains: []string{"www.example.com"}, Policy: "bypass"},
		{Domains: []string{"*.example.com"}, Paths: []string{"^/admin/"}, Subjects: []string{"group:ops"}, Policy: "two_factor"},
		{Domains: []string{"app.example.com"}, Subjects: []string{"group:dev"}, Policy: "one_factor"},
		{Domains: []string{"app.example.com"}, Paths: []string{"^/admin/"}, Policy: "deny"},
		{Subjects: []string{"user:carol"}, Policy: "one_factor"},
	}
	if _, err := in.svc.ReplaceRules(ctx, admin, first); err != nil {
		t.Fatal(err)
	}
	subs := []*access.Subject{{Username: "alice", Groups: []string{"dev"}}, {Username: "bob", Groups: []string{"ops"}},
		{Username: "carol"}, {Username: "dave", Groups: []string{"dev", "ops"}}}
	for _, host := range []string{"www.example.com", "app.example.com", "x.example.com", "other.org"} {
		for _, path := range []string{"/", "/admin/x"} {
			req := &access.Request{Host: host, Path: path, Method: "GET"}
			for _, sub := range subs {
				anon := in.svc.Decide(req, nil)
				got, want := in.svc.DecideUser(req, sub, anon), in.svc.Decide(req, sub)
				if got.Rule != want.Rule || got.Policy != want.Policy || got.NeedUser != want.NeedUser {
					t.Fatalf("%s%s as %s: DecideUser after %+v = %+v, Decide = %+v", host, path, sub.Username, anon, got, want)
				}
			}
		}
	}

	// Saved between the two questions: the second is still answered by the first list (rule 2,
	// dev's), not by the new list's rule at that index (which would let everyone in).
	req := &access.Request{Host: "app.example.com", Path: "/", Method: "GET"}
	anon := in.svc.Decide(req, nil)
	if anon.Rule != 2 || !anon.NeedUser {
		t.Fatalf("anonymous: %+v, want rule 2 asking for the user", anon)
	}
	second := []gatehouse.AccessRule{{Domains: []string{"www.example.com"}, Policy: "bypass"}, {Policy: "deny"}, {Policy: "one_factor"}}
	if _, err := in.svc.ReplaceRules(ctx, admin, second); err != nil {
		t.Fatal(err)
	}
	if d := in.svc.DecideUser(req, &access.Subject{Username: "eve"}, anon); d.Rule != -1 || d.Policy != access.Deny {
		t.Fatalf("eve after the swap: %+v, want the first list's answer (default deny)", d)
	}
	if d := in.svc.Decide(req, &access.Subject{Username: "eve"}); d.Rule != 1 || d.Policy != access.Deny {
		t.Fatalf("eve on the new list: %+v", d)
	}
}
