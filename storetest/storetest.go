// Package storetest is the conformance suite every gatehouse.Store backend must pass. It tests the
// contracts written in the interface comments of the gatehouse package, nothing of a particular
// implementation. A backend's test calls
//
//	storetest.Run(t, func(t *testing.T) gatehouse.Store { ... a fresh, empty, migrated store ... })
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// base is the fixed time every test counts from. Times are whole seconds in UTC so that any
// backend storing at least microsecond precision returns them exactly.
var base = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// storeTest is one named conformance test. It is an alias, so a table written as []storeTest
// and one spelled out as []struct{name; fn} hold the same type and append together.
type storeTest = struct {
	name string
	fn   func(t *testing.T, s gatehouse.Store)
}

// Run runs the whole suite. open must return a fresh, empty, migrated store for each call; it is
// called once per subtest with that subtest's t, so it may register cleanups. Subtests run in
// parallel, each on its own store.
func Run(t *testing.T, open func(t *testing.T) gatehouse.Store) {
	tests := []storeTest{
		{"Ping", testPing},
		{"Passkeys", testPasskeys}, {"Passkeys/Ceremonies", testCeremonies},
		{"Users/CreateAndGet", testCreateAndGetUser},
		{"Users/CreateConflicts", testCreateConflicts},
		{"Users/List", testListUsers},
		{"Users/Search", testSearchUsers},
		{"Users/Update", testUpdateUser},
		{"Users/Language", testUserLanguage},
		{"Users/Delete", testDeleteUser},
		{"Users/CountAndHasAdmin", testCountAndHasAdmin},
		{"Users/LastAdmin", testLastAdmin},
		{"Users/FirstAdmin", testFirstAdmin},
		{"Sessions/CreateAndGet", testCreateAndGetSession},
		{"Sessions/CreateRefusesDisabledOrMissingUser", testCreateSessionDisabled},
		{"Sessions/List", testListSessions},
		{"Sessions/Touch", testTouchSessions},
		{"Sessions/RefreshTokens", testRefreshTokens},
		{"Sessions/RefreshConsumeRace", testRefreshConsumeRace},
		{"Sessions/Revoke", testRevokeSession},
		{"Sessions/DeleteExpired", testDeleteExpired},
		{"Sessions/DeleteUserRemovesSessions", testDeleteUserRemovesSessions},
		{"Changes/Feed", testChangeFeed},
		{"Events", testEvents},
		{"Events/Paging", testEventPaging},
		{"Stats", testStats},
		{"Settings", testSettings},
		{"Branding/Logo", testLogo},
		{"MFA/TOTP", testMFATOTP},
		{"MFA/RecoveryCodes", testMFARecoveryCodes},
		{"MFA/Challenges", testMFAChallenges},
		{"MFA/Delete", testMFADelete},
	}
	tests = append(tests, mailTests...)
	tests = append(tests, pendingTests...)
	tests = append(tests, reauthTests...)
	tests = append(tests, accessTests...)
	tests = append(tests, invitationTests...)
	tests = append(tests, opTests...)
	runExternal(t, open)
	runExternalVerify(t, open)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			tc.fn(t, s)
		})
	}
	// The first-admin race needs an empty store per round; several rounds make an unsafe
	// implementation far more likely to lose.
	t.Run("Users/FirstAdminRace", func(t *testing.T) {
		t.Parallel()
		for round := range raceRounds {
			t.Run(fmt.Sprint("round", round), func(t *testing.T) {
				s := open(t)
				if s == nil {
					t.Fatal("open returned a nil store")
				}
				testFirstAdminRace(t, s)
			})
			if t.Failed() {
				return
			}
		}
	})
}

// ---- helpers ----

func ctx() context.Context { return context.Background() }

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// wantCode fails unless err is a *gatehouse.Error with the given code.
func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := gatehouse.ErrorCode(err); got != code {
		t.Fatalf("%s: err = %v (code %q), want code %q", what, err, got, code)
	}
}

// wantField fails unless err is a *gatehouse.Error with the given code and Field.
func wantField(t *testing.T, err error, code, field, what string) {
	t.Helper()
	wantCode(t, err, code, what)
	var e *gatehouse.Error
	if !errors.As(err, &e) || e.Field != field {
		t.Fatalf("%s: err = %v, want Field %q", what, err, field)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func newUser(name string, role gatehouse.Role) *gatehouse.User {
	return &gatehouse.User{Username: name, Email: name + "@example.com", Role: role}
}

func mkUser(t *testing.T, s gatehouse.Store, name string, role gatehouse.Role) *gatehouse.User {
	t.Helper()
	u := newUser(name, role)
	must(t, s.CreateUser(ctx(), u), "CreateUser "+name)
	return u
}

func ptr[T any](v T) *T { return &v }

func ids(us []*gatehouse.User) []int64 {
	out := make([]int64, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

func sameUser(t *testing.T, got, want *gatehouse.User, what string) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil user", what)
	}
	if got.ID != want.ID || got.Username != want.Username || got.Email != want.Email || got.Name != want.Name ||
		got.Role != want.Role || got.Disabled != want.Disabled || got.EmailVerified != want.EmailVerified ||
		got.MFAEnabled != want.MFAEnabled || got.PasswordHash != want.PasswordHash || got.Language != want.Language {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, *got, *want)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("%s: times created %v updated %v, want created %v updated %v", what, got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
}

// newSession returns a session of uid created at created, ending at expires, with an access
// token expiry 15 minutes after creation (capped at expires).
func newSession(id string, uid int64, created, expires time.Time) *gatehouse.Session {
	acc := created.Add(15 * time.Minute)
	if acc.After(expires) {
		acc = expires
	}
	return &gatehouse.Session{
		ID: id, UserID: uid, TokenHash: hash("cookie-" + id), AuthMethod: gatehouse.AuthPassword,
		IP: "192.0.2.1", UserAgent: "storetest", CreatedAt: created, LastSeenAt: created, ExpiresAt: expires,
		AccessExpMax: acc,
	}
}

func mkSession(t *testing.T, s gatehouse.Store, id string, uid int64, created, expires time.Time, rt *gatehouse.RefreshToken) *gatehouse.Session {
	t.Helper()
	x := newSession(id, uid, created, expires)
	must(t, s.CreateSession(ctx(), x, rt), "CreateSession "+id)
	return x
}

func newRefresh(name, sessionID string, created, expires time.Time) *gatehouse.RefreshToken {
	return &gatehouse.RefreshToken{Hash: hash("refresh-" + name), SessionID: sessionID, CreatedAt: created, ExpiresAt: expires}
}

func sessionIDs(xs []*gatehouse.Session) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.ID
	}
	return out
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func jsonEq(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == 0 && len(b) == 0
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func sameSession(t *testing.T, got, want *gatehouse.Session, what string) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil session", what)
	}
	ok := got.ID == want.ID && got.UserID == want.UserID && string(got.TokenHash) == string(want.TokenHash) &&
		got.AuthMethod == want.AuthMethod && got.IP == want.IP && got.UserAgent == want.UserAgent &&
		got.CreatedAt.Equal(want.CreatedAt) && got.LastSeenAt.Equal(want.LastSeenAt) && got.ExpiresAt.Equal(want.ExpiresAt) &&
		got.StaySignedIn == want.StaySignedIn && jsonEq(got.Binding, want.Binding) && got.AccessExpMax.Equal(want.AccessExpMax) &&
		timeEq(got.RevokedAt, want.RevokedAt) && got.RevokeReason == want.RevokeReason
	if !ok {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, *got, *want)
	}
}

// changesOfKind returns the feed rows of one kind visible at now.
func changesOfKind(t *testing.T, s gatehouse.Store, kind string, now time.Time) []gatehouse.Change {
	t.Helper()
	all, err := s.ChangesSince(ctx(), 0, now, 1000)
	must(t, err, "ChangesSince")
	var out []gatehouse.Change
	for _, c := range all {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	return out
}

// ---- tests ----

func testPing(t *testing.T, s gatehouse.Store) {
	must(t, s.Ping(ctx()), "Ping")
}

func testCreateAndGetUser(t *testing.T, s gatehouse.Store) {
	u := &gatehouse.User{Username: "alice", Email: "alice@example.com", Name: "Alice Liddell", Role: gatehouse.RoleAdmin,
		EmailVerified: true, MFAEnabled: true, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}
	must(t, s.CreateUser(ctx(), u), "CreateUser")
	if u.ID <= 0 {
		t.Fatalf("CreateUser set ID %d, want > 0", u.ID)
	}
	if u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
		t.Fatalf("CreateUser did not set the times: created %v updated %v", u.CreatedAt, u.UpdatedAt)
	}
	b := &gatehouse.User{Username: "bob", Email: "bob@example.com", Role: gatehouse.RoleUser, Disabled: true}
	must(t, s.CreateUser(ctx(), b), "CreateUser bob")
	if b.ID == u.ID {
		t.Fatalf("two users got the same ID %d", b.ID)
	}

	got, err := s.UserByID(ctx(), u.ID)
	must(t, err, "UserByID")
	sameUser(t, got, u, "UserByID")
	got, err = s.UserByID(ctx(), b.ID)
	must(t, err, "UserByID bob")
	sameUser(t, got, b, "UserByID bob")

	got, err = s.UserByLogin(ctx(), "alice")
	must(t, err, "UserByLogin by username")
	sameUser(t, got, u, "UserByLogin by username")
	got, err = s.UserByLogin(ctx(), "alice@example.com")
	must(t, err, "UserByLogin by email")
	sameUser(t, got, u, "UserByLogin by email")
	got, err = s.UserByLogin(ctx(), "bob@example.com")
	must(t, err, "UserByLogin bob by email")
	sameUser(t, got, b, "UserByLogin bob by email")
	// The store matches the normalized form whatever case and spacing the caller passes.
	got, err = s.UserByLogin(ctx(), "  Alice@Example.COM ")
	must(t, err, "UserByLogin with case and spaces")
	sameUser(t, got, u, "UserByLogin with case and spaces")

	_, err = s.UserByID(ctx(), u.ID+b.ID+1000)
	wantCode(t, err, gatehouse.ENotFound, "UserByID unknown")
	_, err = s.UserByLogin(ctx(), "nobody")
	wantCode(t, err, gatehouse.ENotFound, "UserByLogin unknown username")
	_, err = s.UserByLogin(ctx(), "nobody@example.com")
	wantCode(t, err, gatehouse.ENotFound, "UserByLogin unknown email")
}

func testCreateConflicts(t *testing.T, s gatehouse.Store) {
	mkUser(t, s, "alice", gatehouse.RoleUser)
	err := s.CreateUser(ctx(), &gatehouse.User{Username: "alice", Email: "other@example.com", Role: gatehouse.RoleUser})
	wantField(t, err, gatehouse.EConflict, "username", "CreateUser with a taken username")
	err = s.CreateUser(ctx(), &gatehouse.User{Username: "other", Email: "alice@example.com", Role: gatehouse.RoleUser})
	wantField(t, err, gatehouse.EConflict, "email", "CreateUser with a taken email")
	if n, err := s.CountUsers(ctx()); err != nil || n != 1 {
		t.Fatalf("CountUsers after refused creates = %d, %v; want 1", n, err)
	}
	// The refused names stay free for later.
	mkUser(t, s, "other", gatehouse.RoleUser)

	// A look-alike of an existing name (Cyrillic а, dotless ı) is refused by its skeleton, on
	// create and on rename, in one statement (no check-then-insert race).
	for _, look := range []string{"\u0430lice", "al\u0131ce"} {
		err = s.CreateUser(ctx(), &gatehouse.User{Username: look, Email: "look@example.com", Role: gatehouse.RoleUser})
		wantField(t, err, gatehouse.EConfusable, "username", "CreateUser with a look-alike username")
	}
	look := "\u0430lice"
	o := mkUser(t, s, "olivia", gatehouse.RoleUser)
	_, err = s.UpdateUser(ctx(), o.ID, gatehouse.UserUpdate{Username: &look})
	wantField(t, err, gatehouse.EConfusable, "username", "UpdateUser to a look-alike username")
	if cs, err := s.FillUsernameSkeletons(ctx()); err != nil || len(cs) != 0 {
		t.Fatalf("FillUsernameSkeletons with every row written by this version = %v, %v", cs, err)
	}
}

func testListUsers(t *testing.T, s gatehouse.Store) {
	us, more, err := s.ListUsers(ctx(), gatehouse.UserFilter{Limit: 10})
	must(t, err, "ListUsers on an empty store")
	if len(us) != 0 || more {
		t.Fatalf("ListUsers on an empty store = %d users, more %v", len(us), more)
	}
	var all []int64
	for i := range 5 {
		all = append(all, mkUser(t, s, fmt.Sprintf("user%02d", i), gatehouse.RoleUser).ID)
	}
	if !slices.IsSorted(all) {
		t.Fatalf("IDs not increasing in insertion order: %v", all)
	}
	cases := []struct {
		offset, limit int
		want          []int64
		more          bool
	}{
		{0, 2, all[0:2], true},
		{2, 2, all[2:4], true},
		{3, 2, all[3:5], false},
		{4, 2, all[4:5], false},
		{5, 2, nil, false},
		{0, 5, all, false},
		{0, 6, all, false},
		{0, 4, all[0:4], true},
	}
	for _, c := range cases {
		us, more, err := s.ListUsers(ctx(), gatehouse.UserFilter{Offset: c.offset, Limit: c.limit})
		must(t, err, "ListUsers")
		if got := ids(us); !slices.Equal(got, c.want) || more != c.more {
			t.Fatalf("ListUsers offset %d limit %d = %v more %v; want %v more %v", c.offset, c.limit, got, more, c.want, c.more)
		}
	}
	// The rows are complete users.
	us, _, err = s.ListUsers(ctx(), gatehouse.UserFilter{Limit: 1})
	must(t, err, "ListUsers")
	want, err := s.UserByID(ctx(), all[0])
	must(t, err, "UserByID")
	sameUser(t, us[0], want, "ListUsers row")
}

func testSearchUsers(t *testing.T, s gatehouse.Store) {
	jane := &gatehouse.User{Username: "jdoe", Email: "jane@corp.example.org", Name: "Jane Smith", Role: gatehouse.RoleUser}
	must(t, s.CreateUser(ctx(), jane), "CreateUser jane")
	john := &gatehouse.User{Username: "jsmith", Email: "john@example.com", Name: "John", Role: gatehouse.RoleUser}
	must(t, s.CreateUser(ctx(), john), "CreateUser john")
	ab := mkUser(t, s, "a_b", gatehouse.RoleUser)
	axb := mkUser(t, s, "axb", gatehouse.RoleUser)
	pct := mkUser(t, s, "p100", gatehouse.RoleUser)

	cases := []struct {
		q    string
		want []int64
	}{
		{"smith", []int64{jane.ID, john.ID}}, // name of one, username of the other
		{"SMITH", []int64{jane.ID, john.ID}}, // case-insensitive
		{"Jane", []int64{jane.ID}},
		{"example.org", []int64{jane.ID}}, // email
		{"JOHN@", []int64{john.ID}},
		{"a_b", []int64{ab.ID}}, // '_' is a literal, not a wildcard
		{"xb", []int64{axb.ID}},
		{"%", nil}, // '%' is a literal, not a wildcard
		{"p100", []int64{pct.ID}},
		{"no such user", nil},
	}
	for _, c := range cases {
		us, more, err := s.ListUsers(ctx(), gatehouse.UserFilter{Query: c.q, Limit: 50})
		must(t, err, "ListUsers query "+c.q)
		if got := ids(us); !slices.Equal(got, c.want) || more {
			t.Fatalf("ListUsers query %q = %v more %v; want %v more false", c.q, got, more, c.want)
		}
	}
	// Paging applies to the matches.
	us, more, err := s.ListUsers(ctx(), gatehouse.UserFilter{Query: "smith", Limit: 1})
	must(t, err, "ListUsers")
	if got := ids(us); !slices.Equal(got, []int64{jane.ID}) || !more {
		t.Fatalf("ListUsers query smith limit 1 = %v more %v; want [%d] more true", got, more, jane.ID)
	}
	us, more, err = s.ListUsers(ctx(), gatehouse.UserFilter{Query: "smith", Offset: 1, Limit: 1})
	must(t, err, "ListUsers")
	if got := ids(us); !slices.Equal(got, []int64{john.ID}) || more {
		t.Fatalf("ListUsers query smith offset 1 limit 1 = %v more %v; want [%d] more false", got, more, john.ID)
	}
}

func testUpdateUser(t *testing.T, s gatehouse.Store) {
	a := mkUser(t, s, "alice", gatehouse.RoleAdmin)
	b := mkUser(t, s, "bob", gatehouse.RoleUser)

	got, err := s.UpdateUser(ctx(), b.ID, gatehouse.UserUpdate{Name: ptr("Robert")})
	must(t, err, "UpdateUser name")
	want := *b
	want.Name = "Robert"
	want.UpdatedAt = got.UpdatedAt
	sameUser(t, got, &want, "UpdateUser result")
	if got.UpdatedAt.Before(b.CreatedAt) {
		t.Fatalf("UpdatedAt %v before CreatedAt %v", got.UpdatedAt, b.CreatedAt)
	}
	stored, err := s.UserByID(ctx(), b.ID)
	must(t, err, "UserByID")
	sameUser(t, stored, got, "UserByID after update")

	got, err = s.UpdateUser(ctx(), b.ID, gatehouse.UserUpdate{
		Username: ptr("robert"), Email: ptr("robert@example.com"), PasswordHash: ptr("new-hash"),
		Role: ptr(gatehouse.RoleAdmin), Disabled: ptr(true),
	})
	must(t, err, "UpdateUser every field")
	if got.Username != "robert" || got.Email != "robert@example.com" || got.PasswordHash != "new-hash" ||
		got.Role != gatehouse.RoleAdmin || !got.Disabled || got.Name != "Robert" {
		t.Fatalf("UpdateUser every field = %+v", *got)
	}
	stored, err = s.UserByID(ctx(), b.ID)
	must(t, err, "UserByID")
	sameUser(t, stored, got, "UserByID after second update")
	if _, err := s.UserByLogin(ctx(), "bob"); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
		t.Fatalf("old username still signs in: err = %v", err)
	}
	byLogin, err := s.UserByLogin(ctx(), "robert@example.com")
	must(t, err, "UserByLogin new email")
	if byLogin.ID != b.ID {
		t.Fatalf("UserByLogin new email = user %d, want %d", byLogin.ID, b.ID)
	}

	// An empty update changes nothing visible.
	same, err := s.UpdateUser(ctx(), b.ID, gatehouse.UserUpdate{})
	must(t, err, "empty UpdateUser")
	if same.Username != "robert" || same.Email != "robert@example.com" || same.Name != "Robert" || !same.Disabled {
		t.Fatalf("empty UpdateUser changed the user: %+v", *same)
	}

	// Conflicts name the field and change nothing.
	_, err = s.UpdateUser(ctx(), b.ID, gatehouse.UserUpdate{Username: ptr("alice"), Name: ptr("Changed")})
	wantField(t, err, gatehouse.EConflict, "username", "UpdateUser to a taken username")
	_, err = s.UpdateUser(ctx(), b.ID, gatehouse.UserUpdate{Email: ptr("alice@example.com"), Name: ptr("Changed")})
	wantField(t, err, gatehouse.EConflict, "email", "UpdateUser to a taken email")
	stored, err = s.UserByID(ctx(), b.ID)
	must(t, err, "UserByID")
	if stored.Name != "Robert" || stored.Username != "robert" || stored.Email != "robert@example.com" {
		t.Fatalf("a refused update changed the user: %+v", *stored)
	}
	// Keeping one's own username or email is not a conflict.
	_, err = s.UpdateUser(ctx(), a.ID, gatehouse.UserUpdate{Username: ptr("alice"), Email: ptr("alice@example.com")})
	must(t, err, "UpdateUser to the same username and email")

	_, err = s.UpdateUser(ctx(), a.ID+b.ID+1000, gatehouse.UserUpdate{Name: ptr("x")})
	wantCode(t, err, gatehouse.ENotFound, "UpdateUser unknown")
}

// testUserLanguage: the preferred language is stored at creation, changed alone by an update
// (an update of other fields keeps it), cleared with "", and read by every lookup.
func testUserLanguage(t *testing.T, s gatehouse.Store) {
	u := &gatehouse.User{Username: "greta", Email: "greta@example.com", Role: gatehouse.RoleUser, PasswordHash: "h", Language: "de"}
	must(t, s.CreateUser(ctx(), u), "CreateUser with a language")
	byID, err := s.UserByID(ctx(), u.ID)
	must(t, err, "UserByID")
	byLogin, err := s.UserByLogin(ctx(), "greta@example.com")
	must(t, err, "UserByLogin")
	list, _, err := s.ListUsers(ctx(), gatehouse.UserFilter{Query: "greta"})
	must(t, err, "ListUsers")
	if byID.Language != "de" || byLogin.Language != "de" || len(list) != 1 || list[0].Language != "de" {
		t.Fatalf("language after create: %q %q %+v", byID.Language, byLogin.Language, list)
	}
	got, err := s.UpdateUser(ctx(), u.ID, gatehouse.UserUpdate{Name: ptr("Greta")})
	must(t, err, "UpdateUser name")
	if got.Language != "de" {
		t.Fatalf("an update of the name lost the language: %q", got.Language)
	}
	got, err = s.UpdateUser(ctx(), u.ID, gatehouse.UserUpdate{Language: ptr("en")})
	must(t, err, "UpdateUser language")
	stored, err := s.UserByID(ctx(), u.ID)
	must(t, err, "UserByID")
	if got.Language != "en" || stored.Language != "en" || stored.Name != "Greta" {
		t.Fatalf("language after update: %q stored %+v", got.Language, *stored)
	}
	_, err = s.UpdateUser(ctx(), u.ID, gatehouse.UserUpdate{Language: ptr("")})
	must(t, err, "UpdateUser clear language")
	stored, err = s.UserByID(ctx(), u.ID)
	must(t, err, "UserByID")
	if stored.Language != "" {
		t.Fatalf("cleared language: %q", stored.Language)
	}
}

func testDeleteUser(t *testing.T, s gatehouse.Store) {
	mkUser(t, s, "admin", gatehouse.RoleAdmin)
	b := mkUser(t, s, "bob", gatehouse.RoleUser)
	c := mkUser(t, s, "carol", gatehouse.RoleUser)
	must(t, s.DeleteUser(ctx(), b.ID), "DeleteUser")
	_, err := s.UserByID(ctx(), b.ID)
	wantCode(t, err, gatehouse.ENotFound, "UserByID after delete")
	_, err = s.UserByLogin(ctx(), "bob")
	wantCode(t, err, gatehouse.ENotFound, "UserByLogin after delete")
	wantCode(t, s.DeleteUser(ctx(), b.ID), gatehouse.ENotFound, "DeleteUser twice")
	if n, err := s.CountUsers(ctx()); err != nil || n != 2 {
		t.Fatalf("CountUsers after delete = %d, %v; want 2", n, err)
	}
	if _, err := s.UserByID(ctx(), c.ID); err != nil {
		t.Fatalf("deleting bob affected carol: %v", err)
	}
	// The name is free again.
	mkUser(t, s, "bob", gatehouse.RoleUser)
}

func testCountAndHasAdmin(t *testing.T, s gatehouse.Store) {
	check := func(wantN int, wantAdmin bool, when string) {
		t.Helper()
		n, err := s.CountUsers(ctx())
		must(t, err, "CountUsers")
		has, err := s.HasAdmin(ctx())
		must(t, err, "HasAdmin")
		if n != wantN || has != wantAdmin {
			t.Fatalf("%s: CountUsers = %d, HasAdmin = %v; want %d, %v", when, n, has, wantN, wantAdmin)
		}
	}
	check(0, false, "empty store")
	u := mkUser(t, s, "bob", gatehouse.RoleUser)
	check(1, false, "one user")
	mkUser(t, s, "carol", gatehouse.RoleUser)
	check(2, false, "two users")
	a := mkUser(t, s, "alice", gatehouse.RoleAdmin)
	check(3, true, "with an admin")
	_, err := s.UpdateUser(ctx(), u.ID, gatehouse.UserUpdate{Role: ptr(gatehouse.RoleAdmin)})
	must(t, err, "promote bob")
	check(3, true, "two admins")
	_, err = s.UpdateUser(ctx(), a.ID, gatehouse.UserUpdate{Role: ptr(gatehouse.RoleUser)})
	must(t, err, "demote alice")
	check(3, true, "bob admin")
	_, err = s.UpdateUser(ctx(), u.ID, gatehouse.UserUpdate{Role: ptr(gatehouse.RoleUser)})
	wantCode(t, err, gatehouse.ELastAdmin, "demoting the only admin")
	check(3, true, "after refused demotion")
}

func testLastAdmin(t *testing.T, s gatehouse.Store) {
	a := mkUser(t, s, "alice", gatehouse.RoleAdmin)
	u := mkUser(t, s, "bob", gatehouse.RoleUser)
	d := &gatehouse.User{Username: "dora", Email: "dora@example.com", Role: gatehouse.RoleAdmin, Disabled: true}
	must(t, s.CreateUser(ctx(), d), "CreateUser disabled admin")

	// alice is the only enabled admin; a disabled admin does not count.
	_, err := s.UpdateUser(ctx(), a.ID, gatehouse.UserUpdate{Role: ptr(gatehouse.RoleUser)})
	wantCode(t, err, gatehouse.ELastAdmin, "demote last admin")
	_, err = s.UpdateUser(ctx(), a.ID, gatehouse.UserUpdate{Disabled: ptr(true)})
	wantCode(t, err, gatehouse.ELastAdmin, "disable last admin")
	_, err = s.UpdateUser(ctx(), a.ID, gatehouse.UserUpdate{Name: ptr("x"), Disabled: ptr(true)})
	wantCode(t, err, gatehouse.ELastAdmin, "disable last admin with other changes")
	wantCode(t, s.DeleteUser(ctx(), a.ID), gatehouse.ELastAdmin, "delete last admin")
	got, err := s.UserByID(ctx(), a.ID)
	must(t, err, "UserByID")
	if got.Role != gatehouse.RoleAdmin || got.Disabled || got.Name != "" {
		t.Fatalf("refused updates changed the last admin: %+v", *got)
	}
	// Changes that keep alice an enabled admin are fine.
	_, err = s.UpdateUser(ctx(), a.ID, gatehouse.UserUpdate{Name: ptr("Alice"), Role: ptr(gatehouse.RoleAdmin), Disabled: ptr(false)})
	must(t, err, "non-demoting update of the last admin")
	// Other users are unaffected by the rule.
	_, err = s.UpdateUser(ctx(), u.ID, gatehouse.UserUpdate{Disabled: ptr(true)})
	must(t, err, "disable a regular user")
	must(t, s.DeleteUser(ctx(), d.ID), "delete a disabled admin")

	// With a second enabled admin each may go, but not both.
	c := mkUser(t, s, "carol", gatehouse.RoleAdmin)
	_, err = s.UpdateUser(ctx(), a.ID, gatehouse.UserUpdate{Role: ptr(gatehouse.RoleUser)})
	must(t, err, "demote an admin while another exists")
	_, err = s.UpdateUser(ctx(), c.ID, gatehouse.UserUpdate{Role: ptr(gatehouse.RoleUser)})
	wantCode(t, err, gatehouse.ELastAdmin, "demote the remaining admin")

	_, err = s.UpdateUser(ctx(), a.ID, gatehouse.UserUpdate{Role: ptr(gatehouse.RoleAdmin)})
	must(t, err, "promote alice again")
	_, err = s.UpdateUser(ctx(), c.ID, gatehouse.UserUpdate{Disabled: ptr(true)})
	must(t, err, "disable an admin while another exists")
	_, err = s.UpdateUser(ctx(), a.ID, gatehouse.UserUpdate{Disabled: ptr(true)})
	wantCode(t, err, gatehouse.ELastAdmin, "disable the remaining admin")
	wantCode(t, s.DeleteUser(ctx(), a.ID), gatehouse.ELastAdmin, "delete the remaining admin")

	_, err = s.UpdateUser(ctx(), c.ID, gatehouse.UserUpdate{Disabled: ptr(false)})
	must(t, err, "enable carol again")
	must(t, s.DeleteUser(ctx(), a.ID), "delete an admin while another exists")
	wantCode(t, s.DeleteUser(ctx(), c.ID), gatehouse.ELastAdmin, "delete the remaining admin")
	has, err := s.HasAdmin(ctx())
	must(t, err, "HasAdmin")
	if !has {
		t.Fatal("HasAdmin = false after every removal of the last admin was refused")
	}
}

func testFirstAdmin(t *testing.T, s gatehouse.Store) {
	// Any user at all, even a regular one, completes setup.
	mkUser(t, s, "bob", gatehouse.RoleUser)
	wantCode(t, s.CreateFirstAdmin(ctx(), newUser("root", gatehouse.RoleAdmin)), gatehouse.ESetupDone, "CreateFirstAdmin with a user present")
	if n, err := s.CountUsers(ctx()); err != nil || n != 1 {
		t.Fatalf("CountUsers after refused CreateFirstAdmin = %d, %v; want 1", n, err)
	}
	if _, err := s.UserByLogin(ctx(), "root"); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
		t.Fatalf("refused first admin was stored: err = %v", err)
	}
}
