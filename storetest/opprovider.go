package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// opTests cover the OpenID Provider's store (gatehouse.OPStore).
var opTests = []struct {
	name string
	fn   func(t *testing.T, s gatehouse.Store)
}{
	{"OP/Clients", testOPClients},
	{"OP/Keys", testOPKeys},
	{"OP/Subjects", testOPSubjects},
	{"OP/CodeExchangedOnce", testOPCodeOnce},
	{"OP/Tokens", testOPTokens},
	{"OP/EventsWithTheirWrite", testOPEventsWithWrite},
	{"OP/GrantEndsWithSession", testOPGrantEndsWithSession},
	{"OP/SessionRevokeEndsGrants", testOPSessionRevoke},
	{"OP/Consents", testOPConsents},
	{"OP/DeleteClientCascades", testOPDeleteClient},
}

func mkOPClient(t *testing.T, s gatehouse.Store, id string) *gatehouse.OPClient {
	t.Helper()
	c := &gatehouse.OPClient{ID: id, Name: "App " + id, SecretHash: hash("secret-" + id), RedirectURIs: []string{"https://app.example.com/cb"},
		PostLogoutRedirectURIs: []string{"https://app.example.com/"}, AllowedGroups: []string{"staff"}, AccessTokenTTL: 5 * time.Minute,
		LaunchURL: "https://app.example.com/"}
	must(t, s.CreateOPClient(ctx(), c), "CreateOPClient")
	return c
}

func testOPClients(t *testing.T, s gatehouse.Store) {
	c := mkOPClient(t, s, "grafana")
	wantCode(t, s.CreateOPClient(ctx(), &gatehouse.OPClient{ID: "grafana", Name: "again"}), gatehouse.EConflict, "duplicate client")
	got, err := s.OPClientByID(ctx(), "grafana")
	must(t, err, "OPClientByID")
	if got.Name != c.Name || !slices.Equal(got.RedirectURIs, c.RedirectURIs) || !slices.Equal(got.AllowedGroups, []string{"staff"}) ||
		string(got.SecretHash) != string(c.SecretHash) || got.AccessTokenTTL != 5*time.Minute || got.Public || got.LaunchURL != "https://app.example.com/" {
		t.Fatalf("client read back as %+v, want %+v", got, c)
	}
	got.Public, got.SecretHash, got.AllowedGroups, got.SkipConsent, got.LaunchURL = true, nil, nil, true, ""
	must(t, s.UpdateOPClient(ctx(), got), "UpdateOPClient")
	again, _ := s.OPClientByID(ctx(), "grafana")
	if !again.Public || again.SecretHash != nil || len(again.AllowedGroups) != 0 || !again.SkipConsent || again.LaunchURL != "" {
		t.Fatalf("update not stored: %+v", again)
	}
	wantCode(t, s.UpdateOPClient(ctx(), &gatehouse.OPClient{ID: "nope"}), gatehouse.ENotFound, "update unknown")
	mkOPClient(t, s, "alpha")
	list, err := s.ListOPClients(ctx())
	must(t, err, "ListOPClients")
	if len(list) != 2 {
		t.Fatalf("%d clients listed, want 2", len(list))
	}
	wantCode(t, s.DeleteOPClient(ctx(), "nope"), gatehouse.ENotFound, "delete unknown")
	must(t, s.DeleteOPClient(ctx(), "grafana"), "DeleteOPClient")
	wantCode(t, errOf(s.OPClientByID(ctx(), "grafana")), gatehouse.ENotFound, "deleted client")
}

func errOf[T any](_ T, err error) error { return err }

func errOf2[T, U any](_ T, _ U, err error) error { return err }

func testOPKeys(t *testing.T, s gatehouse.Store) {
	k1 := &gatehouse.OPKey{ID: "k1", Alg: "RS256", Sealed: []byte("sealed1"), CreatedAt: base, ActiveAt: base}
	e1 := &gatehouse.OPKey{ID: "e1", Alg: "ES256", Sealed: []byte("sealedE"), CreatedAt: base, ActiveAt: base}
	must(t, s.AddOPKey(ctx(), k1, false, time.Time{}), "AddOPKey k1")
	must(t, s.AddOPKey(ctx(), e1, false, time.Time{}), "AddOPKey e1")
	// Rotation: the new RS256 key retires only the old RS256 key.
	k2 := &gatehouse.OPKey{ID: "k2", Alg: "RS256", Sealed: []byte("sealed2"), CreatedAt: base.Add(time.Hour), ActiveAt: base.Add(2 * time.Hour)}
	must(t, s.AddOPKey(ctx(), k2, true, base.Add(5*time.Hour)), "AddOPKey k2")
	keys, err := s.OPKeys(ctx(), base.Add(3*time.Hour))
	must(t, err, "OPKeys")
	if len(keys) != 3 {
		t.Fatalf("%d keys, want 3", len(keys))
	}
	for _, k := range keys {
		switch k.ID {
		case "k1":
			if k.RetireAt == nil || !k.RetireAt.Equal(k2.ActiveAt) || k.ExpiresAt == nil || !k.ExpiresAt.Equal(base.Add(5*time.Hour)) {
				t.Fatalf("old key not retired: %+v", k)
			}
		case "e1", "k2":
			if k.RetireAt != nil || k.ExpiresAt != nil {
				t.Fatalf("key %s retired: %+v", k.ID, k)
			}
		}
	}
	// After it expires the old key is no longer listed, and the janitor removes it.
	keys, _ = s.OPKeys(ctx(), base.Add(6*time.Hour))
	if len(keys) != 2 {
		t.Fatalf("%d keys after expiry, want 2", len(keys))
	}
	n, err := s.DeleteExpiredOP(ctx(), base.Add(6*time.Hour), 100)
	must(t, err, "DeleteExpiredOP")
	if n != 1 {
		t.Fatalf("DeleteExpiredOP removed %d rows, want 1", n)
	}
}

func testOPSubjects(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "alice", gatehouse.RoleUser)
	sub, err := s.OPSubject(ctx(), u.ID, "uuid-1")
	must(t, err, "OPSubject")
	again, err := s.OPSubject(ctx(), u.ID, "uuid-2")
	must(t, err, "OPSubject again")
	if sub != "uuid-1" || again != "uuid-1" {
		t.Fatalf("subjects %q then %q, want uuid-1 both times", sub, again)
	}
	id, err := s.OPUserBySubject(ctx(), "uuid-1")
	must(t, err, "OPUserBySubject")
	if id != u.ID {
		t.Fatalf("user %d, want %d", id, u.ID)
	}
	wantCode(t, errOf(s.OPUserBySubject(ctx(), "uuid-2")), gatehouse.ENotFound, "unknown subject")
	wantCode(t, errOf(s.OPSubject(ctx(), 99999, "uuid-3")), gatehouse.ENotFound, "subject of a missing user")
}

// mkOPGrant makes a user, a session, a client and an exchanged request with one access and
// one refresh token.
func mkOPGrant(t *testing.T, s gatehouse.Store, sid string) (*gatehouse.OPGrant, *gatehouse.User) {
	t.Helper()
	u := mkUser(t, s, "user-"+sid, gatehouse.RoleUser)
	mkSession(t, s, sid, u.ID, base, base.Add(24*time.Hour), nil)
	if _, err := s.OPClientByID(ctx(), "app"); err != nil {
		mkOPClient(t, s, "app")
	}
	g := &gatehouse.OPGrant{ID: "grant-" + sid, ClientID: "app", UserID: u.ID, SessionID: sid, Data: []byte(`{"scopes":["openid"]}`),
		CreatedAt: base, ExpiresAt: base.Add(24 * time.Hour)}
	must(t, s.CreateOPGrant(ctx(), g, "", []*gatehouse.OPToken{
		{Key: []byte("at-" + sid), Kind: gatehouse.OPAccessToken, ExpiresAt: base.Add(time.Hour)},
		{Key: hash("rt-" + sid), Kind: gatehouse.OPRefreshToken, ExpiresAt: base.Add(24 * time.Hour)},
	}, nil), "CreateOPGrant")
	return g, u
}

func testOPCodeOnce(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "alice", gatehouse.RoleUser)
	mkSession(t, s, "sess-1", u.ID, base, base.Add(24*time.Hour), nil)
	mkOPClient(t, s, "app")
	wantCode(t, s.CreateOPAuthRequest(ctx(), &gatehouse.OPAuthRequest{ID: "r0", ClientID: "nope", Data: []byte("{}"), CreatedAt: base, ExpiresAt: base.Add(time.Minute)}),
		gatehouse.ENotFound, "request for an unknown client")
	r := &gatehouse.OPAuthRequest{ID: "r1", ClientID: "app", Data: []byte(`{"a":1}`), CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute)}
	must(t, s.CreateOPAuthRequest(ctx(), r), "CreateOPAuthRequest")
	must(t, s.UpdateOPAuthRequest(ctx(), "r1", []byte(`{"a":2}`)), "UpdateOPAuthRequest")
	must(t, s.SetOPAuthCode(ctx(), "r1", hash("code"), base.Add(5*time.Minute)), "SetOPAuthCode")
	wantCode(t, s.SetOPAuthCode(ctx(), "r1", hash("code2"), base.Add(5*time.Minute)), gatehouse.ENotFound, "a second code")
	got, err := s.OPAuthRequestByCode(ctx(), hash("code"), base.Add(time.Minute))
	must(t, err, "OPAuthRequestByCode")
	if got.ID != "r1" || string(got.Data) != `{"a":2}` || got.ExchangedAt != nil {
		t.Fatalf("request read back as %+v", got)
	}
	wantCode(t, errOf(s.OPAuthRequestByCode(ctx(), hash("code"), base.Add(6*time.Minute))), gatehouse.ENotFound, "expired code")

	g := &gatehouse.OPGrant{ID: "g1", ClientID: "app", UserID: u.ID, SessionID: "sess-1", Data: []byte(`{}`), CreatedAt: base.Add(time.Minute), ExpiresAt: base.Add(time.Hour)}
	must(t, s.CreateOPGrant(ctx(), g, "r1", nil, nil), "CreateOPGrant")
	g2 := *g
	g2.ID = "g2"
	wantCode(t, s.CreateOPGrant(ctx(), &g2, "r1", nil, nil), gatehouse.EConflict, "second exchange of one code")
	got, _ = s.OPAuthRequestByID(ctx(), "r1", base.Add(2*time.Minute))
	if got.ExchangedAt == nil || got.GrantID != "g1" {
		t.Fatalf("exchanged request: %+v, want exchanged for g1", got)
	}
	wantCode(t, s.UpdateOPAuthRequest(ctx(), "r1", []byte(`{}`)), gatehouse.ENotFound, "update after exchange")
	wantCode(t, s.CompleteOPAuthRequest(ctx(), "r1", []byte(`{}`), hash("code3"), base.Add(5*time.Minute), nil), gatehouse.ENotFound, "completing after exchange")

	// Completing sets the data and the code in one write, once.
	must(t, s.CreateOPAuthRequest(ctx(), &gatehouse.OPAuthRequest{ID: "r2", ClientID: "app", Data: []byte(`{"a":1}`), CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute)}), "CreateOPAuthRequest r2")
	must(t, s.CompleteOPAuthRequest(ctx(), "r2", []byte(`{"a":3}`), hash("code4"), base.Add(5*time.Minute), nil), "CompleteOPAuthRequest")
	wantCode(t, s.CompleteOPAuthRequest(ctx(), "r2", []byte(`{"a":4}`), hash("code5"), base.Add(5*time.Minute), nil), gatehouse.ENotFound, "completing twice")
	got, err = s.OPAuthRequestByCode(ctx(), hash("code4"), base.Add(time.Minute))
	must(t, err, "OPAuthRequestByCode r2")
	if got.ID != "r2" || string(got.Data) != `{"a":3}` {
		t.Fatalf("completed request read back as %+v", got)
	}
	wantCode(t, s.CompleteOPAuthRequest(ctx(), "nope", []byte(`{}`), hash("code6"), base.Add(5*time.Minute), nil), gatehouse.ENotFound, "completing an unknown request")
}

func testOPTokens(t *testing.T, s gatehouse.Store) {
	g, _ := mkOPGrant(t, s, "sess-1")
	tok, gr, err := s.OPToken(ctx(), []byte("at-sess-1"))
	must(t, err, "OPToken")
	if tok.Kind != gatehouse.OPAccessToken || gr.ID != g.ID || gr.SessionID != "sess-1" || string(gr.Data) != string(g.Data) {
		t.Fatalf("token %+v grant %+v", tok, gr)
	}
	first, _, err := s.ConsumeOPToken(ctx(), hash("rt-sess-1"), base.Add(time.Minute))
	must(t, err, "ConsumeOPToken")
	if first.UsedAt != nil {
		t.Fatal("first use reported as used")
	}
	second, _, err := s.ConsumeOPToken(ctx(), hash("rt-sess-1"), base.Add(2*time.Minute))
	must(t, err, "ConsumeOPToken again")
	if second.UsedAt == nil || !second.UsedAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("second use: UsedAt %v, want the first use's time", second.UsedAt)
	}
	must(t, s.AddOPTokens(ctx(), g.ID, []*gatehouse.OPToken{{Key: hash("rt2"), Kind: gatehouse.OPRefreshToken, ExpiresAt: base.Add(time.Hour)}}, nil), "AddOPTokens")
	must(t, s.DeleteOPToken(ctx(), []byte("at-sess-1")), "DeleteOPToken")
	wantCode(t, errOf2(s.OPToken(ctx(), []byte("at-sess-1"))), gatehouse.ENotFound, "deleted token")
	must(t, s.RevokeOPGrant(ctx(), g.ID, base.Add(time.Hour)), "RevokeOPGrant")
	wantCode(t, errOf2(s.OPToken(ctx(), hash("rt2"))), gatehouse.ENotFound, "token of a revoked grant")
	wantCode(t, s.AddOPTokens(ctx(), g.ID, []*gatehouse.OPToken{{Key: hash("rt3"), Kind: gatehouse.OPRefreshToken, ExpiresAt: base.Add(time.Hour)}}, nil),
		gatehouse.ENotFound, "tokens for a revoked grant")
}

func testOPSessionRevoke(t *testing.T, s gatehouse.Store) {
	g, u := mkOPGrant(t, s, "sess-1")
	other, _ := mkOPGrant(t, s, "sess-2")
	if _, err := s.RevokeSession(ctx(), "sess-1", gatehouse.ReasonUser, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, errOf2(s.OPToken(ctx(), []byte("at-sess-1"))), gatehouse.ENotFound, "access token after sign-out")
	wantCode(t, errOf2(s.OPToken(ctx(), hash("rt-sess-1"))), gatehouse.ENotFound, "refresh token after sign-out")
	wantCode(t, s.AddOPTokens(ctx(), g.ID, nil, nil), gatehouse.ENotFound, "tokens for a grant of a revoked session")
	if _, _, err := s.OPToken(ctx(), []byte("at-"+other.SessionID)); err != nil {
		t.Fatalf("another session's token went too: %v", err)
	}
	// No new grant for a revoked session.
	g3 := &gatehouse.OPGrant{ID: "g3", ClientID: "app", UserID: u.ID, SessionID: "sess-1", Data: []byte(`{}`), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	wantCode(t, s.CreateOPGrant(ctx(), g3, "", nil, nil), gatehouse.ENotFound, "grant for a revoked session")
}

func testOPConsents(t *testing.T, s gatehouse.Store) {
	_, u := mkOPGrant(t, s, "sess-1")
	wantCode(t, errOf(s.OPConsent(ctx(), u.ID, "app")), gatehouse.ENotFound, "no consent yet")
	must(t, s.SaveOPConsent(ctx(), &gatehouse.OPConsent{UserID: u.ID, ClientID: "app", Scopes: []string{"openid"}, GrantedAt: base}), "SaveOPConsent")
	must(t, s.SaveOPConsent(ctx(), &gatehouse.OPConsent{UserID: u.ID, ClientID: "app", Scopes: []string{"openid", "email"}, GrantedAt: base.Add(time.Hour)}), "SaveOPConsent again")
	c, err := s.OPConsent(ctx(), u.ID, "app")
	must(t, err, "OPConsent")
	if !slices.Equal(c.Scopes, []string{"openid", "email"}) || !c.GrantedAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("consent %+v", c)
	}
	list, err := s.ListOPConsents(ctx(), u.ID)
	must(t, err, "ListOPConsents")
	if len(list) != 1 {
		t.Fatalf("%d consents, want 1", len(list))
	}
	must(t, s.DeleteOPConsent(ctx(), u.ID, "app", base.Add(2*time.Hour)), "DeleteOPConsent")
	wantCode(t, errOf2(s.OPToken(ctx(), hash("rt-sess-1"))), gatehouse.ENotFound, "refresh token after the consent was revoked")
	wantCode(t, s.DeleteOPConsent(ctx(), u.ID, "app", base.Add(3*time.Hour)), gatehouse.ENotFound, "revoking twice")
}

func testOPDeleteClient(t *testing.T, s gatehouse.Store) {
	mkOPGrant(t, s, "sess-1")
	must(t, s.DeleteOPClient(ctx(), "app"), "DeleteOPClient")
	wantCode(t, errOf2(s.OPToken(ctx(), []byte("at-sess-1"))), gatehouse.ENotFound, "token of a deleted client")
}

// testOPEventsWithWrite: the event handed to a write is stored with it, and only if the write
// happened.
func testOPEventsWithWrite(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "alice", gatehouse.RoleUser)
	mkSession(t, s, "sess-1", u.ID, base, base.Add(24*time.Hour), nil)
	mkOPClient(t, s, "app")
	count := func(kind string) int {
		t.Helper()
		es, _, err := s.ListEvents(ctx(), gatehouse.EventFilter{Kind: kind, Limit: 100})
		must(t, err, "ListEvents")
		return len(es)
	}
	ev := func(kind string) *gatehouse.Event {
		return &gatehouse.Event{Time: base, Kind: kind, UserID: &u.ID, SessionID: "sess-1", Data: map[string]any{"client_id": "app"}}
	}
	must(t, s.CreateOPAuthRequest(ctx(), &gatehouse.OPAuthRequest{ID: "r1", ClientID: "app", Data: []byte(`{}`), CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute)}), "CreateOPAuthRequest")
	must(t, s.CompleteOPAuthRequest(ctx(), "r1", []byte(`{"a":1}`), hash("code"), base.Add(5*time.Minute), ev("test.authorized")), "CompleteOPAuthRequest")
	wantCode(t, s.CompleteOPAuthRequest(ctx(), "r1", []byte(`{"a":2}`), hash("code2"), base.Add(5*time.Minute), ev("test.authorized")), gatehouse.ENotFound, "completing twice")
	if n := count("test.authorized"); n != 1 {
		t.Fatalf("%d authorized events, want 1 (none for the refused second completion)", n)
	}
	g := &gatehouse.OPGrant{ID: "g1", ClientID: "app", UserID: u.ID, SessionID: "sess-1", Data: []byte(`{}`), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	must(t, s.CreateOPGrant(ctx(), g, "r1", []*gatehouse.OPToken{{Key: []byte("at1"), Kind: gatehouse.OPAccessToken, ExpiresAt: base.Add(time.Hour)}}, ev("test.issued")), "CreateOPGrant")
	g2 := *g
	g2.ID = "g2"
	wantCode(t, s.CreateOPGrant(ctx(), &g2, "r1", nil, ev("test.issued")), gatehouse.EConflict, "second exchange of one code")
	must(t, s.AddOPTokens(ctx(), g.ID, []*gatehouse.OPToken{{Key: []byte("at2"), Kind: gatehouse.OPAccessToken, ExpiresAt: base.Add(time.Hour)}}, ev("test.issued")), "AddOPTokens")
	must(t, s.RevokeOPGrant(ctx(), g.ID, base.Add(time.Minute)), "RevokeOPGrant")
	wantCode(t, s.AddOPTokens(ctx(), g.ID, nil, ev("test.issued")), gatehouse.ENotFound, "tokens for a revoked grant")
	if n := count("test.issued"); n != 2 {
		t.Fatalf("%d issued events, want 2 (the grant and the added tokens, none for the refused writes)", n)
	}
}

// testOPGrantEndsWithSession: a grant asked to outlive its session ends with it.
func testOPGrantEndsWithSession(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "alice", gatehouse.RoleUser)
	mkSession(t, s, "sess-1", u.ID, base, base.Add(24*time.Hour), nil)
	mkOPClient(t, s, "app")
	long := &gatehouse.OPGrant{ID: "g1", ClientID: "app", UserID: u.ID, SessionID: "sess-1", Data: []byte(`{}`), CreatedAt: base, ExpiresAt: base.Add(48 * time.Hour)}
	must(t, s.CreateOPGrant(ctx(), long, "", []*gatehouse.OPToken{{Key: []byte("at1"), Kind: gatehouse.OPAccessToken, ExpiresAt: base.Add(time.Hour)}}, nil), "CreateOPGrant")
	short := &gatehouse.OPGrant{ID: "g2", ClientID: "app", UserID: u.ID, SessionID: "sess-1", Data: []byte(`{}`), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	must(t, s.CreateOPGrant(ctx(), short, "", []*gatehouse.OPToken{{Key: []byte("at2"), Kind: gatehouse.OPAccessToken, ExpiresAt: base.Add(time.Hour)}}, nil), "CreateOPGrant")
	for key, want := range map[string]time.Time{"at1": base.Add(24 * time.Hour), "at2": base.Add(time.Hour)} {
		_, g, err := s.OPToken(ctx(), []byte(key))
		must(t, err, "OPToken")
		if !g.ExpiresAt.Equal(want) {
			t.Errorf("grant of %s expires %v, want %v", key, g.ExpiresAt, want)
		}
	}
	if !long.ExpiresAt.Equal(base.Add(24 * time.Hour)) {
		t.Errorf("CreateOPGrant left ExpiresAt %v, want the session's end", long.ExpiresAt)
	}
}
