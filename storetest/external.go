package storetest

import (
	"bytes"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// runExternal is the conformance suite of gatehouse.ExternalStore.
func runExternal(t *testing.T, open func(t *testing.T) gatehouse.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s gatehouse.Store)
	}{
		{"External/Providers", testProviders},
		{"External/Identities", testIdentities},
		{"External/IdentityCascade", testIdentityCascade},
		{"External/UsersByEmail", testUsersByEmail},
		{"External/Flows", testFlows},
		{"External/FlowTakeRace", testFlowTakeRace},
	} {
		t.Run(tc.name, func(t *testing.T) { t.Parallel(); tc.fn(t, open(t)) })
	}
}

func mkProvider(t *testing.T, s gatehouse.Store, id string) *gatehouse.OIDCProvider {
	t.Helper()
	p := &gatehouse.OIDCProvider{ID: id, Name: "Provider " + id, Issuer: "https://" + id + ".example", ClientID: "client-" + id,
		ClientSecretSealed: []byte{1, 2, 3, 0, 255}, Scopes: []string{"openid", "email"}, AutoBindVerifiedEmail: true, Enabled: true,
		TokenAuthMethod: "client_secret_basic"}
	must(t, s.CreateProvider(ctx(), p), "CreateProvider "+id)
	return p
}

func sameProvider(t *testing.T, got, want *gatehouse.OIDCProvider, what string) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Issuer != want.Issuer || got.ClientID != want.ClientID ||
		!bytes.Equal(got.ClientSecretSealed, want.ClientSecretSealed) || !reflect.DeepEqual(got.Scopes, want.Scopes) ||
		got.AutoBindVerifiedEmail != want.AutoBindVerifiedEmail || got.AutoCreateUsers != want.AutoCreateUsers || got.Enabled != want.Enabled ||
		got.TokenAuthMethod != want.TokenAuthMethod || !slices.Equal(got.AllowedEmailDomains, want.AllowedEmailDomains) ||
		!slices.Equal(got.DefaultGroupIDs, want.DefaultGroupIDs) {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
}

func testProviders(t *testing.T, s gatehouse.Store) {
	if ps, err := s.ListProviders(ctx()); err != nil || len(ps) != 0 {
		t.Fatalf("empty list: %v %v", ps, err)
	}
	b := mkProvider(t, s, "bravo")
	a := mkProvider(t, s, "alpha")
	got, err := s.ProviderByID(ctx(), "bravo")
	must(t, err, "ProviderByID")
	sameProvider(t, got, b, "ProviderByID")
	if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
		t.Fatal("times not set")
	}
	dup := &gatehouse.OIDCProvider{ID: "alpha", Name: "x", Issuer: "https://x", ClientID: "x", ClientSecretSealed: []byte{1}}
	wantField(t, s.CreateProvider(ctx(), dup), gatehouse.EConflict, "id", "duplicate id")
	_, err = s.ProviderByID(ctx(), "nope")
	wantCode(t, err, gatehouse.ENotFound, "ProviderByID unknown")

	ps, err := s.ListProviders(ctx())
	must(t, err, "ListProviders")
	if len(ps) != 2 || ps[0].ID != "alpha" || ps[1].ID != "bravo" {
		t.Fatalf("list order: %v", ps)
	}
	sameProvider(t, ps[0], a, "listed")

	b.Name, b.Issuer, b.ClientID, b.ClientSecretSealed = "Renamed", "https://new.example", "new-client", []byte("sealed2")
	b.Scopes, b.AutoBindVerifiedEmail, b.AutoCreateUsers, b.Enabled = []string{"openid"}, false, true, false
	b.TokenAuthMethod, b.AllowedEmailDomains = "client_secret_post", []string{"example.com", "example.org"}
	b.DefaultGroupIDs = []int64{7, 3, 12345678901}
	must(t, s.UpdateProvider(ctx(), b), "UpdateProvider")
	got, err = s.ProviderByID(ctx(), "bravo")
	must(t, err, "ProviderByID after update")
	sameProvider(t, got, b, "after update")
	wantCode(t, s.UpdateProvider(ctx(), &gatehouse.OIDCProvider{ID: "nope"}), gatehouse.ENotFound, "UpdateProvider unknown")

	must(t, s.DeleteProvider(ctx(), "alpha"), "DeleteProvider")
	wantCode(t, s.DeleteProvider(ctx(), "alpha"), gatehouse.ENotFound, "DeleteProvider twice")
	if ps, _ := s.ListProviders(ctx()); len(ps) != 1 {
		t.Fatalf("after delete: %v", ps)
	}
}

func testIdentities(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "ursula", gatehouse.RoleUser)
	v := mkUser(t, s, "victor", gatehouse.RoleUser)
	mkProvider(t, s, "op")
	mkProvider(t, s, "op2")
	i := &gatehouse.ExternalIdentity{UserID: u.ID, ProviderID: "op", Subject: "s1", Email: "u@op.example", BoundAt: base}
	must(t, s.CreateIdentity(ctx(), i), "CreateIdentity")
	if i.ID == 0 {
		t.Fatal("ID not set")
	}
	// The same subject at another provider is another identity.
	must(t, s.CreateIdentity(ctx(), &gatehouse.ExternalIdentity{UserID: u.ID, ProviderID: "op2", Subject: "s1", BoundAt: base.Add(time.Second)}), "same subject, other provider")
	wantField(t, s.CreateIdentity(ctx(), &gatehouse.ExternalIdentity{UserID: v.ID, ProviderID: "op", Subject: "s1", BoundAt: base}), gatehouse.EConflict, "subject", "subject bound twice")
	wantCode(t, s.CreateIdentity(ctx(), &gatehouse.ExternalIdentity{UserID: 9999, ProviderID: "op", Subject: "s9", BoundAt: base}), gatehouse.ENotFound, "unknown user")
	wantCode(t, s.CreateIdentity(ctx(), &gatehouse.ExternalIdentity{UserID: u.ID, ProviderID: "nope", Subject: "s9", BoundAt: base}), gatehouse.ENotFound, "unknown provider")

	got, err := s.IdentityBySubject(ctx(), "op", "s1")
	must(t, err, "IdentityBySubject")
	if got.ID != i.ID || got.UserID != u.ID || got.Email != "u@op.example" || !got.BoundAt.Equal(base) || got.LastUsedAt != nil {
		t.Fatalf("identity: %+v", got)
	}
	_, err = s.IdentityBySubject(ctx(), "op", "S1")
	wantCode(t, err, gatehouse.ENotFound, "subjects are case-sensitive")

	at := base.Add(time.Hour)
	must(t, s.TouchIdentity(ctx(), i.ID, "new@op.example", at), "TouchIdentity")
	got, _ = s.IdentityBySubject(ctx(), "op", "s1")
	if got.Email != "new@op.example" || got.LastUsedAt == nil || !got.LastUsedAt.Equal(at) {
		t.Fatalf("after touch: %+v", got)
	}
	wantCode(t, s.TouchIdentity(ctx(), 9999, "", at), gatehouse.ENotFound, "TouchIdentity unknown")

	list, err := s.ListIdentities(ctx(), u.ID)
	must(t, err, "ListIdentities")
	if len(list) != 2 || list[0].ID != i.ID || list[1].ProviderID != "op2" {
		t.Fatalf("list: %+v", list)
	}
	if list, _ := s.ListIdentities(ctx(), v.ID); len(list) != 0 {
		t.Fatalf("victor's: %+v", list)
	}
	// Only the owner's identity can be deleted.
	wantCode(t, s.DeleteIdentity(ctx(), v.ID, i.ID), gatehouse.ENotFound, "DeleteIdentity of another user")
	must(t, s.DeleteIdentity(ctx(), u.ID, i.ID), "DeleteIdentity")
	wantCode(t, s.DeleteIdentity(ctx(), u.ID, i.ID), gatehouse.ENotFound, "DeleteIdentity twice")
	// Unbound, the subject may be bound again (to anyone).
	must(t, s.CreateIdentity(ctx(), &gatehouse.ExternalIdentity{UserID: v.ID, ProviderID: "op", Subject: "s1", BoundAt: base}), "rebind")
	// A provider's identities can go all at once; another provider's stay.
	n, err := s.DeleteProviderIdentities(ctx(), "op")
	must(t, err, "DeleteProviderIdentities")
	if _, err := s.IdentityBySubject(ctx(), "op", "s1"); n != 1 || !gatehouse.IsCode(err, gatehouse.ENotFound) {
		t.Fatalf("after DeleteProviderIdentities: %d deleted, lookup %v", n, err)
	}
	if list, _ := s.ListIdentities(ctx(), u.ID); len(list) != 1 || list[0].ProviderID != "op2" {
		t.Fatalf("another provider's identity went too: %+v", list)
	}
}

func testIdentityCascade(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "ursula", gatehouse.RoleUser)
	mkUser(t, s, "admin", gatehouse.RoleAdmin)
	mkProvider(t, s, "op")
	mkProvider(t, s, "op2")
	must(t, s.CreateIdentity(ctx(), &gatehouse.ExternalIdentity{UserID: u.ID, ProviderID: "op", Subject: "a", BoundAt: base}), "bind op")
	must(t, s.CreateIdentity(ctx(), &gatehouse.ExternalIdentity{UserID: u.ID, ProviderID: "op2", Subject: "b", BoundAt: base}), "bind op2")
	must(t, s.CreateOIDCFlow(ctx(), &gatehouse.OIDCFlow{StateHash: hash("st"), BrowserHash: hash("br"), ProviderID: "op", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}), "flow")
	must(t, s.DeleteProvider(ctx(), "op"), "DeleteProvider")
	if list, _ := s.ListIdentities(ctx(), u.ID); len(list) != 1 || list[0].ProviderID != "op2" {
		t.Fatalf("identities after provider delete: %+v", list)
	}
	_, err := s.TakeOIDCFlow(ctx(), hash("st"), base)
	wantCode(t, err, gatehouse.ENotFound, "flow of a deleted provider")
	must(t, s.DeleteUser(ctx(), u.ID), "DeleteUser")
	_, err = s.IdentityBySubject(ctx(), "op2", "b")
	wantCode(t, err, gatehouse.ENotFound, "identity of a deleted user")
}

func testUsersByEmail(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "ursula", gatehouse.RoleUser)
	mkUser(t, s, "victor", gatehouse.RoleUser)
	us, err := s.UsersByEmail(ctx(), "URSULA@example.com", 2)
	must(t, err, "UsersByEmail")
	if len(us) != 1 || us[0].ID != u.ID {
		t.Fatalf("by email: %+v", us)
	}
	// A username is not an email.
	if us, _ := s.UsersByEmail(ctx(), "ursula", 2); len(us) != 0 {
		t.Fatalf("matched a username: %+v", us)
	}
	if us, _ := s.UsersByEmail(ctx(), "nobody@example.com", 2); len(us) != 0 {
		t.Fatalf("unknown: %+v", us)
	}
}

func testFlows(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "ursula", gatehouse.RoleUser)
	mkProvider(t, s, "op")
	f := &gatehouse.OIDCFlow{StateHash: hash("state1"), BrowserHash: hash("browser1"), ProviderID: "op", Nonce: "n1", Verifier: "v1",
		RD: "https://app.example/x", LinkUserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute)}
	must(t, s.CreateOIDCFlow(ctx(), f), "CreateOIDCFlow")
	g := &gatehouse.OIDCFlow{StateHash: hash("state2"), BrowserHash: hash("browser2"), ProviderID: "op", Nonce: "n2", Verifier: "v2",
		CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute)}
	must(t, s.CreateOIDCFlow(ctx(), g), "CreateOIDCFlow 2")

	_, err := s.TakeOIDCFlow(ctx(), hash("other"), base)
	wantCode(t, err, gatehouse.ENotFound, "unknown state")
	got, err := s.TakeOIDCFlow(ctx(), hash("state1"), base.Add(time.Minute))
	must(t, err, "TakeOIDCFlow")
	if !bytes.Equal(got.BrowserHash, f.BrowserHash) || got.ProviderID != "op" || got.Nonce != "n1" || got.Verifier != "v1" ||
		got.RD != f.RD || got.LinkUserID != u.ID || !got.CreatedAt.Equal(base) || !got.ExpiresAt.Equal(f.ExpiresAt) {
		t.Fatalf("flow: %+v", got)
	}
	_, err = s.TakeOIDCFlow(ctx(), hash("state1"), base.Add(time.Minute))
	wantCode(t, err, gatehouse.ENotFound, "taken twice")
	// Expired: refused, and gone.
	_, err = s.TakeOIDCFlow(ctx(), hash("state2"), base.Add(10*time.Minute))
	wantCode(t, err, gatehouse.ENotFound, "expired")
	// Creating sweeps expired flows; a live one stays.
	must(t, s.CreateOIDCFlow(ctx(), &gatehouse.OIDCFlow{StateHash: hash("old"), BrowserHash: hash("b"), ProviderID: "op", CreatedAt: base, ExpiresAt: base.Add(time.Minute)}), "old")
	must(t, s.CreateOIDCFlow(ctx(), &gatehouse.OIDCFlow{StateHash: hash("live"), BrowserHash: hash("b"), ProviderID: "op", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}), "live")
	must(t, s.CreateOIDCFlow(ctx(), &gatehouse.OIDCFlow{StateHash: hash("new"), BrowserHash: hash("b"), ProviderID: "op", CreatedAt: base.Add(2 * time.Minute), ExpiresAt: base.Add(time.Hour)}), "new")
	// Taken with an earlier clock, a swept flow would still be valid: it must be gone.
	_, err = s.TakeOIDCFlow(ctx(), hash("old"), base)
	wantCode(t, err, gatehouse.ENotFound, "swept flow")
	_, err = s.TakeOIDCFlow(ctx(), hash("live"), base)
	must(t, err, "live flow")
}

func testFlowTakeRace(t *testing.T, s gatehouse.Store) {
	mkProvider(t, s, "op")
	warmUp(t, s)
	must(t, s.CreateOIDCFlow(ctx(), &gatehouse.OIDCFlow{StateHash: hash("race"), BrowserHash: hash("b"), ProviderID: "op", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}), "flow")
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.TakeOIDCFlow(ctx(), hash("race"), base); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if !gatehouse.IsCode(err, gatehouse.ENotFound) {
				t.Errorf("take: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d callers took one flow, want exactly 1", won)
	}
}
