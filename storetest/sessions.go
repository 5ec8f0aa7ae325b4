package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

const (
	racers     = 8
	raceRounds = 5
)

// warmUp runs concurrent reads so that a pooled backend has connections open for every racer and
// the racers really overlap instead of queueing behind connection set-up.
func warmUp(t *testing.T, s gatehouse.Store) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			for range 3 {
				if _, err := s.CountUsers(ctx()); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err, "warm-up CountUsers")
	}
}

func testFirstAdminRace(t *testing.T, s gatehouse.Store) {
	warmUp(t, s)
	users := make([]*gatehouse.User, racers)
	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		users[i] = newUser(fmt.Sprintf("root%d", i), gatehouse.RoleAdmin)
		wg.Go(func() {
			<-start
			errs[i] = s.CreateFirstAdmin(ctx(), users[i])
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch gatehouse.ErrorCode(err) {
		case "":
			if winner >= 0 {
				t.Fatalf("CreateFirstAdmin succeeded for both racer %d and racer %d", winner, i)
			}
			winner = i
		case gatehouse.ESetupDone:
		default:
			t.Fatalf("racer %d: err = %v, want nil or %s", i, err, gatehouse.ESetupDone)
		}
	}
	if winner < 0 {
		t.Fatal("no racer created the first admin")
	}
	if n, err := s.CountUsers(ctx()); err != nil || n != 1 {
		t.Fatalf("CountUsers after the race = %d, %v; want 1", n, err)
	}
	w := users[winner]
	if w.ID <= 0 || w.CreatedAt.IsZero() {
		t.Fatalf("CreateFirstAdmin did not set ID and times: %+v", *w)
	}
	got, err := s.UserByID(ctx(), w.ID)
	must(t, err, "UserByID first admin")
	sameUser(t, got, w, "first admin")
	if has, err := s.HasAdmin(ctx()); err != nil || !has {
		t.Fatalf("HasAdmin after setup = %v, %v", has, err)
	}
	wantCode(t, s.CreateFirstAdmin(ctx(), newUser("late", gatehouse.RoleAdmin)), gatehouse.ESetupDone, "CreateFirstAdmin after setup")
}

func testCreateAndGetSession(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "bob", gatehouse.RoleUser)
	x := newSession("sess-a", u.ID, base, base.Add(14*24*time.Hour))
	x.AuthMethod = gatehouse.AuthTOTP
	x.StaySignedIn = true
	x.Binding = []byte(`{"asn":64500,"country":"NL"}`)
	rt := newRefresh("a1", x.ID, base, base.Add(24*time.Hour))
	must(t, s.CreateSession(ctx(), x, rt), "CreateSession")
	y := mkSession(t, s, "sess-b", u.ID, base.Add(time.Minute), base.Add(time.Hour), nil)

	got, err := s.SessionByID(ctx(), x.ID)
	must(t, err, "SessionByID")
	sameSession(t, got, x, "SessionByID")
	got, err = s.SessionByTokenHash(ctx(), x.TokenHash)
	must(t, err, "SessionByTokenHash")
	sameSession(t, got, x, "SessionByTokenHash")
	got, err = s.SessionByTokenHash(ctx(), y.TokenHash)
	must(t, err, "SessionByTokenHash b")
	sameSession(t, got, y, "SessionByTokenHash b")

	_, err = s.SessionByID(ctx(), "no-such-session")
	wantCode(t, err, gatehouse.ENotFound, "SessionByID unknown")
	_, err = s.SessionByTokenHash(ctx(), hash("no-such-cookie"))
	wantCode(t, err, gatehouse.ENotFound, "SessionByTokenHash unknown")

	// The first refresh token was stored with the session.
	old, err := s.ConsumeRefreshToken(ctx(), rt.Hash, base.Add(time.Minute))
	must(t, err, "ConsumeRefreshToken of the first token")
	if old.SessionID != x.ID || old.UsedAt != nil {
		t.Fatalf("first refresh token = %+v, want session %s unused", *old, x.ID)
	}

	// Sessions are returned whether or not they are active.
	expired, err := s.SessionByID(ctx(), y.ID)
	must(t, err, "SessionByID")
	if expired.Active(base.Add(2 * time.Hour)) {
		t.Fatal("session past its ExpiresAt reports Active")
	}
}

func testCreateSessionDisabled(t *testing.T, s gatehouse.Store) {
	mkUser(t, s, "admin", gatehouse.RoleAdmin)
	u := &gatehouse.User{Username: "bob", Email: "bob@example.com", Role: gatehouse.RoleUser, Disabled: true}
	must(t, s.CreateUser(ctx(), u), "CreateUser")
	rt := newRefresh("d", "sess-d", base, base.Add(time.Hour))
	err := s.CreateSession(ctx(), newSession("sess-d", u.ID, base, base.Add(time.Hour)), rt)
	wantCode(t, err, gatehouse.EAccountDisabled, "CreateSession for a disabled user")
	_, err = s.SessionByID(ctx(), "sess-d")
	wantCode(t, err, gatehouse.ENotFound, "refused session stored")
	_, err = s.ConsumeRefreshToken(ctx(), rt.Hash, base)
	wantCode(t, err, gatehouse.ENotFound, "refresh token of a refused session stored")

	err = s.CreateSession(ctx(), newSession("sess-m", u.ID+1000, base, base.Add(time.Hour)), nil)
	wantCode(t, err, gatehouse.EAccountDisabled, "CreateSession for a missing user")

	// Once enabled, sign-in works.
	_, err = s.UpdateUser(ctx(), u.ID, gatehouse.UserUpdate{Disabled: ptr(false)})
	must(t, err, "enable")
	mkSession(t, s, "sess-d", u.ID, base, base.Add(time.Hour), rt)
}

func testListSessions(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "bob", gatehouse.RoleUser)
	o := mkUser(t, s, "carol", gatehouse.RoleUser)
	s1 := mkSession(t, s, "s1", u.ID, base, base.Add(time.Hour), nil)
	mkSession(t, s, "s2", u.ID, base.Add(time.Minute), base.Add(time.Hour), nil)
	mkSession(t, s, "s3", u.ID, base.Add(2*time.Minute), base.Add(3*time.Minute), nil)
	mkSession(t, s, "s4", u.ID, base.Add(4*time.Minute), base.Add(time.Hour), nil)
	mkSession(t, s, "other", o.ID, base.Add(5*time.Minute), base.Add(time.Hour), nil)

	list := func(at time.Time) []string {
		t.Helper()
		xs, err := s.ListSessions(ctx(), u.ID, at)
		must(t, err, "ListSessions")
		for _, x := range xs {
			if x.UserID != u.ID {
				t.Fatalf("ListSessions returned session %s of user %d", x.ID, x.UserID)
			}
		}
		return sessionIDs(xs)
	}
	if got, want := list(base.Add(150*time.Second)), []string{"s4", "s3", "s2", "s1"}; !slices.Equal(got, want) {
		t.Fatalf("ListSessions = %v, want %v (newest first)", got, want)
	}
	if got, want := list(base.Add(10*time.Minute)), []string{"s4", "s2", "s1"}; !slices.Equal(got, want) {
		t.Fatalf("ListSessions after s3 expired = %v, want %v", got, want)
	}
	ok, err := s.RevokeSession(ctx(), "s2", gatehouse.ReasonUser, base.Add(10*time.Minute))
	must(t, err, "RevokeSession")
	if !ok {
		t.Fatal("RevokeSession of an active session reported false")
	}
	if got, want := list(base.Add(11*time.Minute)), []string{"s4", "s1"}; !slices.Equal(got, want) {
		t.Fatalf("ListSessions after revoking s2 = %v, want %v", got, want)
	}
	if got := list(base.Add(2 * time.Hour)); len(got) != 0 {
		t.Fatalf("ListSessions after every session expired = %v, want none", got)
	}
	xs, err := s.ListSessions(ctx(), u.ID, base.Add(11*time.Minute))
	must(t, err, "ListSessions")
	sameSession(t, xs[1], s1, "ListSessions row")
}

func testTouchSessions(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "bob", gatehouse.RoleUser)
	mkSession(t, s, "a", u.ID, base, base.Add(time.Hour), nil)
	mkSession(t, s, "b", u.ID, base, base.Add(time.Hour), nil)
	mkSession(t, s, "c", u.ID, base, base.Add(time.Hour), nil)
	lastSeen := func(id string) time.Time {
		t.Helper()
		x, err := s.SessionByID(ctx(), id)
		must(t, err, "SessionByID")
		return x.LastSeenAt
	}
	must(t, s.TouchSessions(ctx(), map[string]time.Time{"a": base.Add(5 * time.Minute), "b": base.Add(7 * time.Minute)}), "TouchSessions")
	if got := lastSeen("a"); !got.Equal(base.Add(5 * time.Minute)) {
		t.Fatalf("a last seen %v, want %v", got, base.Add(5*time.Minute))
	}
	if got := lastSeen("b"); !got.Equal(base.Add(7 * time.Minute)) {
		t.Fatalf("b last seen %v, want %v", got, base.Add(7*time.Minute))
	}
	if got := lastSeen("c"); !got.Equal(base) {
		t.Fatalf("untouched c last seen %v, want %v", got, base)
	}
	// An older time is ignored; a newer one in the same batch still applies.
	must(t, s.TouchSessions(ctx(), map[string]time.Time{"a": base.Add(time.Minute), "b": base.Add(9 * time.Minute)}), "TouchSessions")
	if got := lastSeen("a"); !got.Equal(base.Add(5 * time.Minute)) {
		t.Fatalf("a last seen after an older touch %v, want %v", got, base.Add(5*time.Minute))
	}
	if got := lastSeen("b"); !got.Equal(base.Add(9 * time.Minute)) {
		t.Fatalf("b last seen %v, want %v", got, base.Add(9*time.Minute))
	}
	must(t, s.TouchSessions(ctx(), nil), "TouchSessions with nothing")
}

func testRefreshTokens(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "bob", gatehouse.RoleUser)
	rt1 := newRefresh("1", "s", base, base.Add(24*time.Hour))
	x := mkSession(t, s, "s", u.ID, base, base.Add(48*time.Hour), rt1)

	t1 := base.Add(10 * time.Minute)
	old, err := s.ConsumeRefreshToken(ctx(), rt1.Hash, t1)
	must(t, err, "ConsumeRefreshToken")
	if string(old.Hash) != string(rt1.Hash) || old.SessionID != x.ID || !old.CreatedAt.Equal(rt1.CreatedAt) ||
		!old.ExpiresAt.Equal(rt1.ExpiresAt) || old.UsedAt != nil {
		t.Fatalf("first ConsumeRefreshToken = %+v, want %+v with UsedAt nil", *old, *rt1)
	}
	again, err := s.ConsumeRefreshToken(ctx(), rt1.Hash, base.Add(20*time.Minute))
	must(t, err, "second ConsumeRefreshToken")
	if again.UsedAt == nil || !again.UsedAt.Equal(t1) {
		t.Fatalf("second ConsumeRefreshToken UsedAt = %v, want %v (the first use)", again.UsedAt, t1)
	}
	third, err := s.ConsumeRefreshToken(ctx(), rt1.Hash, base.Add(30*time.Minute))
	must(t, err, "third ConsumeRefreshToken")
	if third.UsedAt == nil || !third.UsedAt.Equal(t1) {
		t.Fatalf("third ConsumeRefreshToken UsedAt = %v, want %v (still the first use)", third.UsedAt, t1)
	}
	_, err = s.ConsumeRefreshToken(ctx(), hash("unknown"), t1)
	wantCode(t, err, gatehouse.ENotFound, "ConsumeRefreshToken unknown")

	// AddRefreshToken stores the next link and raises AccessExpMax.
	rt2 := newRefresh("2", x.ID, t1, t1.Add(24*time.Hour))
	must(t, s.AddRefreshToken(ctx(), rt2, t1.Add(15*time.Minute)), "AddRefreshToken")
	got, err := s.SessionByID(ctx(), x.ID)
	must(t, err, "SessionByID")
	if !got.AccessExpMax.Equal(t1.Add(15 * time.Minute)) {
		t.Fatalf("AccessExpMax = %v, want %v", got.AccessExpMax, t1.Add(15*time.Minute))
	}
	// A lower access expiry never lowers it.
	rt3 := newRefresh("3", x.ID, t1, t1.Add(24*time.Hour))
	must(t, s.AddRefreshToken(ctx(), rt3, base), "AddRefreshToken with an older access expiry")
	got, err = s.SessionByID(ctx(), x.ID)
	must(t, err, "SessionByID")
	if !got.AccessExpMax.Equal(t1.Add(15 * time.Minute)) {
		t.Fatalf("AccessExpMax after a lower accessExp = %v, want still %v", got.AccessExpMax, t1.Add(15*time.Minute))
	}
	// ExtendAccess raises it too, never lowers it, and refuses an unknown session.
	must(t, s.ExtendAccess(ctx(), x.ID, t1.Add(20*time.Minute)), "ExtendAccess")
	must(t, s.ExtendAccess(ctx(), x.ID, t1), "ExtendAccess lower")
	if got, _ := s.SessionByID(ctx(), x.ID); !got.AccessExpMax.Equal(t1.Add(20 * time.Minute)) {
		t.Fatalf("AccessExpMax after ExtendAccess = %v", got.AccessExpMax)
	}
	wantCode(t, s.ExtendAccess(ctx(), "nope", t1), gatehouse.ENotFound, "ExtendAccess unknown")
	for _, rt := range []*gatehouse.RefreshToken{rt2, rt3} {
		old, err := s.ConsumeRefreshToken(ctx(), rt.Hash, t1.Add(time.Minute))
		must(t, err, "ConsumeRefreshToken of an added token")
		if old.SessionID != x.ID || old.UsedAt != nil || !old.ExpiresAt.Equal(rt.ExpiresAt) {
			t.Fatalf("added token = %+v, want session %s unused", *old, x.ID)
		}
	}

	// Adding a token that exists already is a no-op (two concurrent refreshes with the same
	// token derive the same next token), and does not make a used token unused.
	must(t, s.AddRefreshToken(ctx(), rt2, t1), "AddRefreshToken of an existing token")
	again2, err := s.ConsumeRefreshToken(ctx(), rt2.Hash, t1.Add(2*time.Minute))
	must(t, err, "ConsumeRefreshToken after a duplicate add")
	if again2.UsedAt == nil || !again2.UsedAt.Equal(t1.Add(time.Minute)) {
		t.Fatalf("a duplicate add reset the token: UsedAt %v", again2.UsedAt)
	}

	err = s.AddRefreshToken(ctx(), newRefresh("4", "no-such-session", t1, t1.Add(time.Hour)), t1)
	wantCode(t, err, gatehouse.ENotFound, "AddRefreshToken to an unknown session")
}

func testRefreshConsumeRace(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "bob", gatehouse.RoleUser)
	warmUp(t, s)
	for round := range raceRounds * 4 {
		id := fmt.Sprint("s", round)
		rt := newRefresh(id, id, base, base.Add(time.Hour))
		mkSession(t, s, id, u.ID, base, base.Add(time.Hour), rt)
		got := make([]*gatehouse.RefreshToken, racers)
		errs := make([]error, racers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				<-start
				got[i], errs[i] = s.ConsumeRefreshToken(ctx(), rt.Hash, base.Add(time.Duration(i+1)*time.Second))
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("round %d racer %d: %v", round, i, errs[i])
			}
			if got[i].SessionID != id {
				t.Fatalf("round %d racer %d got token of session %q", round, i, got[i].SessionID)
			}
			if got[i].UsedAt == nil {
				if winner >= 0 {
					t.Fatalf("round %d: racers %d and %d both consumed the refresh token first", round, winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no racer consumed the refresh token first", round)
		}
		wantUsed := base.Add(time.Duration(winner+1) * time.Second)
		for i := range racers {
			if i != winner && !got[i].UsedAt.Equal(wantUsed) {
				t.Fatalf("round %d racer %d saw UsedAt %v, want the winner's %v", round, i, got[i].UsedAt, wantUsed)
			}
		}
	}
}

func testRevokeSession(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "bob", gatehouse.RoleUser)
	rt1 := newRefresh("1", "s", base, base.Add(24*time.Hour))
	x := mkSession(t, s, "s", u.ID, base, base.Add(48*time.Hour), rt1)
	accessExp := base.Add(40 * time.Minute)
	rt2 := newRefresh("2", x.ID, base.Add(25*time.Minute), base.Add(24*time.Hour))
	must(t, s.AddRefreshToken(ctx(), rt2, accessExp), "AddRefreshToken")
	other := mkSession(t, s, "other", u.ID, base, base.Add(48*time.Hour), nil)

	at := base.Add(30 * time.Minute)
	ok, err := s.RevokeSession(ctx(), x.ID, gatehouse.ReasonAdmin, at)
	must(t, err, "RevokeSession")
	if !ok {
		t.Fatal("RevokeSession of an active session reported false")
	}
	got, err := s.SessionByID(ctx(), x.ID)
	must(t, err, "SessionByID of a revoked session")
	if got.RevokedAt == nil || !got.RevokedAt.Equal(at) || got.RevokeReason != gatehouse.ReasonAdmin {
		t.Fatalf("revoked session: RevokedAt %v reason %q, want %v %q", got.RevokedAt, got.RevokeReason, at, gatehouse.ReasonAdmin)
	}
	if got.Active(at) {
		t.Fatal("revoked session reports Active")
	}
	wantCode(t, s.ExtendAccess(ctx(), x.ID, at.Add(time.Hour)), gatehouse.ENotFound, "ExtendAccess of a revoked session")
	byHash, err := s.SessionByTokenHash(ctx(), x.TokenHash)
	must(t, err, "SessionByTokenHash of a revoked session")
	if byHash.RevokedAt == nil {
		t.Fatal("SessionByTokenHash: revoked session has no RevokedAt")
	}

	// The feed carries the revocation until the last access token has expired.
	rows := changesOfKind(t, s, gatehouse.ChangeSessionRevoked, at)
	if len(rows) != 1 {
		t.Fatalf("change feed after one revocation has %d session rows, want 1: %+v", len(rows), rows)
	}
	c := rows[0]
	if c.Subject != x.ID || !c.At.Equal(at) || c.ID <= 0 {
		t.Fatalf("revocation row = %+v, want subject %s at %v", c, x.ID, at)
	}
	if c.ExpiresAt.Before(accessExp) {
		t.Fatalf("revocation row expires %v, before the session's last access token (%v)", c.ExpiresAt, accessExp)
	}
	// ... and until the session itself would have ended, so an instance that stalled longer
	// than an access token lives still learns that the cookie it cached is dead.
	if c.ExpiresAt.Before(x.ExpiresAt) {
		t.Fatalf("revocation row expires %v, before the session would have (%v)", c.ExpiresAt, x.ExpiresAt)
	}
	if rows := changesOfKind(t, s, gatehouse.ChangeSessionRevoked, accessExp.Add(-time.Second)); len(rows) != 1 {
		t.Fatalf("revocation row not visible while an access token is still valid: %+v", rows)
	}

	// Its refresh tokens are gone and no new ones can be added.
	for _, rt := range []*gatehouse.RefreshToken{rt1, rt2} {
		_, err = s.ConsumeRefreshToken(ctx(), rt.Hash, at)
		wantCode(t, err, gatehouse.ENotFound, "ConsumeRefreshToken after revocation")
	}
	err = s.AddRefreshToken(ctx(), newRefresh("3", x.ID, at, at.Add(time.Hour)), at.Add(15*time.Minute))
	wantCode(t, err, gatehouse.ENotFound, "AddRefreshToken to a revoked session")

	// A second revocation writes nothing.
	ok, err = s.RevokeSession(ctx(), x.ID, gatehouse.ReasonUser, at.Add(time.Minute))
	must(t, err, "second RevokeSession")
	if ok {
		t.Fatal("second RevokeSession reported true")
	}
	got, err = s.SessionByID(ctx(), x.ID)
	must(t, err, "SessionByID")
	if !got.RevokedAt.Equal(at) || got.RevokeReason != gatehouse.ReasonAdmin {
		t.Fatalf("second revocation changed the session: RevokedAt %v reason %q", got.RevokedAt, got.RevokeReason)
	}
	if rows := changesOfKind(t, s, gatehouse.ChangeSessionRevoked, at); len(rows) != 1 {
		t.Fatalf("second revocation appended a row: %+v", rows)
	}

	_, err = s.RevokeSession(ctx(), "no-such-session", gatehouse.ReasonUser, at)
	wantCode(t, err, gatehouse.ENotFound, "RevokeSession unknown")

	// The other session is untouched.
	o, err := s.SessionByID(ctx(), other.ID)
	must(t, err, "SessionByID other")
	sameSession(t, o, other, "other session")
}

func testDeleteExpired(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "bob", gatehouse.RoleUser)
	past := base.Add(-3 * time.Hour)
	// Three ended sessions without tokens, and one live session.
	for _, id := range []string{"e1", "e2", "e3"} {
		mkSession(t, s, id, u.ID, past, base.Add(-time.Hour), nil)
	}
	liveOld := newRefresh("old", "live", past, base.Add(-time.Minute))
	live := mkSession(t, s, "live", u.ID, past, base.Add(time.Hour), liveOld)
	liveNew := newRefresh("new", "live", past, base.Add(time.Hour))
	must(t, s.AddRefreshToken(ctx(), liveNew, past.Add(15*time.Minute)), "AddRefreshToken")
	// Only the one expired refresh token should go on the first pass along with the sessions;
	// take the sessions in batches first.
	total := 0
	for range 10 {
		n, err := s.DeleteExpired(ctx(), base, 2)
		must(t, err, "DeleteExpired")
		if n > 2*3 {
			t.Fatalf("DeleteExpired with limit 2 removed %d rows", n)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != 4 { // three sessions and one refresh token
		t.Fatalf("DeleteExpired removed %d rows in all, want 4 (3 sessions, 1 refresh token)", total)
	}
	for _, id := range []string{"e1", "e2", "e3"} {
		_, err := s.SessionByID(ctx(), id)
		wantCode(t, err, gatehouse.ENotFound, "expired session "+id+" after DeleteExpired")
	}
	got, err := s.SessionByID(ctx(), live.ID)
	must(t, err, "live session after DeleteExpired")
	if got.RevokedAt != nil {
		t.Fatal("DeleteExpired revoked the live session")
	}
	_, err = s.ConsumeRefreshToken(ctx(), liveOld.Hash, base)
	wantCode(t, err, gatehouse.ENotFound, "expired refresh token after DeleteExpired")
	if _, err := s.ConsumeRefreshToken(ctx(), liveNew.Hash, base); err != nil {
		t.Fatalf("live refresh token after DeleteExpired: %v", err)
	}

	// The limit bounds the sessions removed per call.
	for i := range 3 {
		mkSession(t, s, fmt.Sprintf("f%d", i), u.ID, past, base.Add(-time.Hour), nil)
	}
	n, err := s.DeleteExpired(ctx(), base, 2)
	must(t, err, "DeleteExpired")
	if n != 2 {
		t.Fatalf("DeleteExpired(limit 2) with 3 ended sessions and nothing else removed %d rows, want 2", n)
	}
	n, err = s.DeleteExpired(ctx(), base, 2)
	must(t, err, "DeleteExpired")
	if n != 1 {
		t.Fatalf("second DeleteExpired(limit 2) removed %d rows, want 1", n)
	}
	n, err = s.DeleteExpired(ctx(), base, 2)
	must(t, err, "DeleteExpired")
	if n != 0 {
		t.Fatalf("third DeleteExpired removed %d rows, want 0", n)
	}

	// Expired change rows go; live ones stay.
	gone := &gatehouse.Change{Kind: gatehouse.ChangeUser, Subject: "1", At: past, ExpiresAt: base.Add(-time.Minute)}
	kept := &gatehouse.Change{Kind: gatehouse.ChangeUser, Subject: "2", At: past, ExpiresAt: base.Add(time.Hour)}
	must(t, s.AddChange(ctx(), gone), "AddChange")
	must(t, s.AddChange(ctx(), kept), "AddChange")
	n, err = s.DeleteExpired(ctx(), base, 100)
	must(t, err, "DeleteExpired")
	if n != 1 {
		t.Fatalf("DeleteExpired with one expired change row removed %d rows, want 1", n)
	}
	// Looking from before either expired, only the kept row is left.
	rows, err := s.ChangesSince(ctx(), 0, past, 100)
	must(t, err, "ChangesSince")
	var sawKept bool
	for _, c := range rows {
		if c.ID == gone.ID {
			t.Fatalf("expired change row %d still there after DeleteExpired", gone.ID)
		}
		sawKept = sawKept || c.ID == kept.ID
	}
	if !sawKept {
		t.Fatalf("live change row %d removed by DeleteExpired: %+v", kept.ID, rows)
	}

	// A revoked session goes once it ended and its access tokens expired.
	r := mkSession(t, s, "revoked", u.ID, past, base.Add(time.Hour), nil)
	ok, err := s.RevokeSession(ctx(), r.ID, gatehouse.ReasonUser, past.Add(20*time.Minute))
	must(t, err, "RevokeSession")
	if !ok {
		t.Fatal("RevokeSession reported false")
	}
	_, err = s.DeleteExpired(ctx(), base, 100)
	must(t, err, "DeleteExpired")
	_, err = s.SessionByID(ctx(), r.ID)
	wantCode(t, err, gatehouse.ENotFound, "revoked session after DeleteExpired")
	if _, err := s.SessionByID(ctx(), live.ID); err != nil {
		t.Fatalf("live session after DeleteExpired: %v", err)
	}
}

func testDeleteUserRemovesSessions(t *testing.T, s gatehouse.Store) {
	mkUser(t, s, "admin", gatehouse.RoleAdmin)
	u := mkUser(t, s, "bob", gatehouse.RoleUser)
	o := mkUser(t, s, "carol", gatehouse.RoleUser)
	rt := newRefresh("bob", "bob-s", base, base.Add(time.Hour))
	x := mkSession(t, s, "bob-s", u.ID, base, base.Add(time.Hour), rt)
	mkSession(t, s, "bob-s2", u.ID, base, base.Add(time.Hour), nil)
	ort := newRefresh("carol", "carol-s", base, base.Add(time.Hour))
	mkSession(t, s, "carol-s", o.ID, base, base.Add(time.Hour), ort)

	must(t, s.DeleteUser(ctx(), u.ID), "DeleteUser")
	for _, id := range []string{"bob-s", "bob-s2"} {
		_, err := s.SessionByID(ctx(), id)
		wantCode(t, err, gatehouse.ENotFound, "session "+id+" of a deleted user")
	}
	_, err := s.SessionByTokenHash(ctx(), x.TokenHash)
	wantCode(t, err, gatehouse.ENotFound, "SessionByTokenHash of a deleted user's session")
	_, err = s.ConsumeRefreshToken(ctx(), rt.Hash, base)
	wantCode(t, err, gatehouse.ENotFound, "refresh token of a deleted user")
	xs, err := s.ListSessions(ctx(), u.ID, base)
	must(t, err, "ListSessions")
	if len(xs) != 0 {
		t.Fatalf("ListSessions of a deleted user = %v", sessionIDs(xs))
	}
	// Carol keeps hers.
	if _, err := s.SessionByID(ctx(), "carol-s"); err != nil {
		t.Fatalf("other user's session after DeleteUser: %v", err)
	}
	if _, err := s.ConsumeRefreshToken(ctx(), ort.Hash, base); err != nil {
		t.Fatalf("other user's refresh token after DeleteUser: %v", err)
	}
}
