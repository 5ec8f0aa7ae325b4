package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// mailTests cover gatehouse.MailStore: one-time links and the outbox.
var mailTests = []struct {
	name string
	fn   func(t *testing.T, s gatehouse.Store)
}{
	{"Mail/PendingUser", testPendingUser},
	{"Mail/TokenSingleUseAndExpiry", testTokenSingleUse},
	{"Mail/TokenCooldownAndNewestOnly", testTokenCooldown},
	{"Mail/TokenEmailChange", testTokenEmailChange},
	{"Mail/TokenPasswordReset", testTokenPasswordReset},
	{"Mail/OutboxLifecycle", testOutboxLifecycle},
	{"Mail/OutboxClaimRace", testOutboxClaimRace},
	{"Mail/Purge", testMailPurge},
}

func newToken(name, kind string, uid int64, created time.Time, ttl time.Duration) *gatehouse.OneTimeToken {
	return &gatehouse.OneTimeToken{Hash: hash(name), Kind: kind, UserID: uid, Email: name + "@example.com", CreatedAt: created, ExpiresAt: created.Add(ttl)}
}

func newMail(to string) *gatehouse.OutboxMail {
	return &gatehouse.OutboxMail{Kind: "test", To: to, Subject: "Hello " + to, Text: "text for " + to, HTML: "<p>html for " + to + "</p>"}
}

func testPendingUser(t *testing.T, s gatehouse.Store) {
	admin := mkUser(t, s, "admin", gatehouse.RoleAdmin)
	u := newUser("newbie", gatehouse.RoleUser)
	tok := newToken("act", gatehouse.TokenActivation, 0, base, time.Hour)
	m := newMail(u.Email)
	must(t, s.CreatePendingUser(ctx(), u, tok, m), "CreatePendingUser")
	if u.ID == 0 || !u.Pending || tok.UserID != u.ID || m.ID == 0 {
		t.Fatalf("CreatePendingUser did not fill ids: user %+v token user %d mail %d", u, tok.UserID, m.ID)
	}
	got, err := s.UserByID(ctx(), u.ID)
	must(t, err, "UserByID")
	if !got.Pending || got.EmailVerified {
		t.Fatalf("new pending user: pending=%v verified=%v, want pending and unverified", got.Pending, got.EmailVerified)
	}
	if a, _ := s.UserByID(ctx(), admin.ID); a.Pending {
		t.Fatal("an ordinary user reads as pending")
	}
	list, more, err := s.PendingUsers(ctx(), 0, 10)
	must(t, err, "PendingUsers")
	if more || len(list) != 1 || list[0].ID != u.ID {
		t.Fatalf("PendingUsers = %v (more %v), want only %d", ids(list), more, u.ID)
	}
	queued, _, err := s.ListMail(ctx(), gatehouse.MailQueued, 0, 10)
	must(t, err, "ListMail")
	if len(queued) != 1 || queued[0].To != u.Email {
		t.Fatalf("the activation mail was not queued with the user: %+v", queued)
	}
	// A taken email refuses the whole thing: no user, no token, no mail.
	dup := &gatehouse.User{Username: "other", Email: u.Email, Role: gatehouse.RoleUser}
	err = s.CreatePendingUser(ctx(), dup, newToken("act2", gatehouse.TokenActivation, 0, base, time.Hour), newMail("x@example.com"))
	wantField(t, err, gatehouse.EConflict, "email", "CreatePendingUser with a taken email")
	if all, _, _ := s.ListMail(ctx(), "", 0, 10); len(all) != 1 {
		t.Fatalf("a refused registration left %d mails, want 1", len(all))
	}
	if _, err := s.PeekToken(ctx(), hash("act2"), gatehouse.TokenActivation, base); !gatehouse.IsCode(err, gatehouse.ENotFound) {
		t.Fatalf("a refused registration left its token: %v", err)
	}
	// Activation clears pending and verifies the address.
	_, au, err := s.ConsumeToken(ctx(), hash("act"), gatehouse.TokenActivation, base.Add(time.Minute), gatehouse.TokenUse{Activate: true})
	must(t, err, "ConsumeToken activation")
	if au.Pending || !au.EmailVerified {
		t.Fatalf("activated user: pending=%v verified=%v", au.Pending, au.EmailVerified)
	}
	if list, _, _ := s.PendingUsers(ctx(), 0, 10); len(list) != 0 {
		t.Fatalf("PendingUsers after activation = %v", ids(list))
	}
	if len(changesOfKind(t, s, gatehouse.ChangeUser, base)) == 0 {
		t.Fatal("activation wrote no user change to the feed: other instances would keep a stale copy")
	}
}

func testTokenSingleUse(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "alice", gatehouse.RoleUser)
	tok := newToken("reset", gatehouse.TokenPasswordReset, u.ID, base, time.Hour)
	must(t, s.IssueToken(ctx(), tok, 0), "IssueToken")
	got, err := s.PeekToken(ctx(), hash("reset"), gatehouse.TokenPasswordReset, base.Add(time.Minute))
	must(t, err, "PeekToken")
	if got.UserID != u.ID || got.Email != tok.Email || !got.ExpiresAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("PeekToken = %+v", got)
	}
	// Another kind with the same hash is not the same link.
	if _, err := s.PeekToken(ctx(), hash("reset"), gatehouse.TokenActivation, base); !gatehouse.IsCode(err, gatehouse.ENotFound) {
		t.Fatalf("a reset link works as an activation link: %v", err)
	}
	// Expired: refused, nothing changes.
	_, _, err = s.ConsumeToken(ctx(), hash("reset"), gatehouse.TokenPasswordReset, base.Add(time.Hour), gatehouse.TokenUse{PasswordHash: ptr("new")})
	wantCode(t, err, gatehouse.ENotFound, "ConsumeToken at expiry")
	if x, _ := s.UserByID(ctx(), u.ID); x.PasswordHash != u.PasswordHash {
		t.Fatal("an expired link changed the password")
	}
	// Valid once.
	_, _, err = s.ConsumeToken(ctx(), hash("reset"), gatehouse.TokenPasswordReset, base.Add(time.Minute), gatehouse.TokenUse{})
	must(t, err, "ConsumeToken")
	_, _, err = s.ConsumeToken(ctx(), hash("reset"), gatehouse.TokenPasswordReset, base.Add(2*time.Minute), gatehouse.TokenUse{})
	wantCode(t, err, gatehouse.ENotFound, "second ConsumeToken")
	if _, err := s.PeekToken(ctx(), hash("reset"), gatehouse.TokenPasswordReset, base.Add(2*time.Minute)); !gatehouse.IsCode(err, gatehouse.ENotFound) {
		t.Fatalf("PeekToken of a used link: %v", err)
	}
	wantCode(t, s.IssueToken(ctx(), newToken("ghost", gatehouse.TokenPasswordReset, 999999, base, time.Hour), 0), gatehouse.ENotFound, "IssueToken for a missing user")

	// Two racing consumers: exactly one wins.
	must(t, s.IssueToken(ctx(), newToken("race", gatehouse.TokenPasswordReset, u.ID, base.Add(time.Hour), time.Hour), 0), "IssueToken race")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 4 {
		wg.Go(func() {
			_, _, err := s.ConsumeToken(ctx(), hash("race"), gatehouse.TokenPasswordReset, base.Add(61*time.Minute), gatehouse.TokenUse{})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !gatehouse.IsCode(err, gatehouse.ENotFound) {
				t.Errorf("racing ConsumeToken: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d racing consumers succeeded, want exactly 1", wins)
	}
}

func testTokenCooldown(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "bob", gatehouse.RoleUser)
	m1 := newMail(u.Email)
	must(t, s.IssueToken(ctx(), newToken("one", gatehouse.TokenPasswordReset, u.ID, base, time.Hour), time.Minute, m1), "IssueToken one")
	// Within the cooldown: refused with the remaining wait, and neither token nor mail is stored.
	err := s.IssueToken(ctx(), newToken("two", gatehouse.TokenPasswordReset, u.ID, base.Add(20*time.Second), time.Hour), time.Minute, newMail(u.Email))
	wantCode(t, err, gatehouse.ERateLimited, "IssueToken within cooldown")
	if e := err.(*gatehouse.Error); e.RetryAfter != 40*time.Second {
		t.Fatalf("RetryAfter = %v, want 40s", e.RetryAfter)
	}
	if all, _, _ := s.ListMail(ctx(), "", 0, 10); len(all) != 1 {
		t.Fatalf("a refused request queued mail: %d mails", len(all))
	}
	// Another kind has its own cooldown.
	must(t, s.IssueToken(ctx(), newToken("chg", gatehouse.TokenEmailChange, u.ID, base.Add(20*time.Second), time.Hour), time.Minute), "IssueToken other kind")
	// After the cooldown: accepted, and only the newest link works.
	must(t, s.IssueToken(ctx(), newToken("three", gatehouse.TokenPasswordReset, u.ID, base.Add(time.Minute), time.Hour), time.Minute), "IssueToken after cooldown")
	if _, err := s.PeekToken(ctx(), hash("one"), gatehouse.TokenPasswordReset, base.Add(time.Minute)); !gatehouse.IsCode(err, gatehouse.ENotFound) {
		t.Fatalf("an older link still works after a newer one was sent: %v", err)
	}
	if _, err := s.PeekToken(ctx(), hash("three"), gatehouse.TokenPasswordReset, base.Add(time.Minute)); err != nil {
		t.Fatalf("the newest link does not work: %v", err)
	}
	if _, err := s.PeekToken(ctx(), hash("chg"), gatehouse.TokenEmailChange, base.Add(time.Minute)); err != nil {
		t.Fatalf("a link of another kind was dropped: %v", err)
	}
}

func testTokenEmailChange(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "carol", gatehouse.RoleUser)
	mkUser(t, s, "dave", gatehouse.RoleUser)
	taken := &gatehouse.OneTimeToken{Hash: hash("taken"), Kind: gatehouse.TokenEmailChange, UserID: u.ID, Email: "dave@example.com", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	must(t, s.IssueToken(ctx(), taken, 0), "IssueToken taken")
	_, _, err := s.ConsumeToken(ctx(), hash("taken"), gatehouse.TokenEmailChange, base.Add(time.Minute), gatehouse.TokenUse{SetEmail: true})
	wantField(t, err, gatehouse.EConflict, "email", "confirming an address in use")
	if _, err := s.PeekToken(ctx(), hash("taken"), gatehouse.TokenEmailChange, base.Add(time.Minute)); err != nil {
		t.Fatalf("a refused confirmation spent the link: %v", err)
	}
	if x, _ := s.UserByID(ctx(), u.ID); x.Email != "carol@example.com" {
		t.Fatalf("a refused confirmation changed the email to %q", x.Email)
	}
	free := &gatehouse.OneTimeToken{Hash: hash("free"), Kind: gatehouse.TokenEmailChange, UserID: u.ID, Email: "carol.new@example.com", CreatedAt: base.Add(time.Second), ExpiresAt: base.Add(time.Hour)}
	must(t, s.IssueToken(ctx(), free, 0), "IssueToken free")
	tok, got, err := s.ConsumeToken(ctx(), hash("free"), gatehouse.TokenEmailChange, base.Add(time.Minute), gatehouse.TokenUse{SetEmail: true})
	must(t, err, "ConsumeToken email change")
	if got.Email != "carol.new@example.com" || !got.EmailVerified || tok.Email != got.Email {
		t.Fatalf("after confirmation: user %+v token %+v", got, tok)
	}
	if x, err := s.UserByLogin(ctx(), "carol.new@example.com"); err != nil || x.ID != u.ID {
		t.Fatalf("UserByLogin(new address) = %v, %v", x, err)
	}
}

func testTokenPasswordReset(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "erin", gatehouse.RoleUser)
	must(t, s.IssueToken(ctx(), newToken("pw", gatehouse.TokenPasswordReset, u.ID, base, time.Hour), 0), "IssueToken")
	_, got, err := s.ConsumeToken(ctx(), hash("pw"), gatehouse.TokenPasswordReset, base.Add(time.Minute), gatehouse.TokenUse{PasswordHash: ptr("$argon2id$new")})
	must(t, err, "ConsumeToken")
	if got.PasswordHash != "$argon2id$new" {
		t.Fatalf("password hash = %q", got.PasswordHash)
	}
	if x, _ := s.UserByID(ctx(), u.ID); x.PasswordHash != "$argon2id$new" {
		t.Fatalf("stored password hash = %q", x.PasswordHash)
	}
	// Deleting the user removes their links.
	must(t, s.IssueToken(ctx(), newToken("pw2", gatehouse.TokenPasswordReset, u.ID, base.Add(time.Hour), time.Hour), 0), "IssueToken 2")
	must(t, s.DeleteUser(ctx(), u.ID), "DeleteUser")
	if _, err := s.PeekToken(ctx(), hash("pw2"), gatehouse.TokenPasswordReset, base.Add(time.Hour)); !gatehouse.IsCode(err, gatehouse.ENotFound) {
		t.Fatalf("a deleted user's link still works: %v", err)
	}
}

func testOutboxLifecycle(t *testing.T, s gatehouse.Store) {
	a, b := newMail("a@example.com"), newMail("b@example.com")
	a.CreatedAt, b.CreatedAt = base, base.Add(time.Second)
	must(t, s.QueueMail(ctx(), a, b), "QueueMail")
	if a.ID == 0 || b.ID == 0 || a.Status != gatehouse.MailQueued {
		t.Fatalf("QueueMail did not fill ids/status: %+v %+v", a, b)
	}
	// Nothing is due before it was queued.
	got, err := s.ClaimMail(ctx(), base.Add(-time.Second), base.Add(time.Minute), 10)
	must(t, err, "ClaimMail early")
	if len(got) != 0 {
		t.Fatalf("claimed %d mails before they were due", len(got))
	}
	now := base.Add(2 * time.Second)
	got, err = s.ClaimMail(ctx(), now, now.Add(5*time.Minute), 10)
	must(t, err, "ClaimMail")
	if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
		t.Fatalf("ClaimMail = %+v, want a then b", got)
	}
	if got[0].Text != a.Text || got[0].HTML != a.HTML || got[0].Subject != a.Subject || got[0].To != a.To || got[0].Attempts != 1 {
		t.Fatalf("claimed mail = %+v", got[0])
	}
	// Leased: not claimed again until the lease ends.
	if again, _ := s.ClaimMail(ctx(), now.Add(time.Minute), now.Add(10*time.Minute), 10); len(again) != 0 {
		t.Fatalf("a leased mail was claimed again: %d", len(again))
	}
	must(t, s.MailSent(ctx(), a.ID, now), "MailSent")
	must(t, s.MailAttemptFailed(ctx(), b.ID, "451 4.3.0 try again later", now.Add(30*time.Second), false), "MailAttemptFailed")
	list, _, err := s.ListMail(ctx(), "", 0, 10)
	must(t, err, "ListMail")
	if len(list) != 2 || list[0].ID != b.ID {
		t.Fatalf("ListMail is not newest first: %+v", list)
	}
	if list[1].Status != gatehouse.MailSent || list[1].SentAt == nil || !list[1].SentAt.Equal(now) || list[1].Text != "" || list[1].HTML != "" {
		t.Fatalf("sent mail = %+v, want sent at %v with its bodies dropped", list[1], now)
	}
	if list[0].Status != gatehouse.MailQueued || list[0].LastError != "451 4.3.0 try again later" || !list[0].NextAttemptAt.Equal(now.Add(30*time.Second)) {
		t.Fatalf("retrying mail = %+v", list[0])
	}
	// Due again after the backoff, with its body intact.
	got, err = s.ClaimMail(ctx(), now.Add(30*time.Second), now.Add(10*time.Minute), 10)
	must(t, err, "ClaimMail retry")
	if len(got) != 1 || got[0].ID != b.ID || got[0].Attempts != 2 || got[0].Text != b.Text {
		t.Fatalf("retry claim = %+v", got)
	}
	must(t, s.MailAttemptFailed(ctx(), b.ID, "gave up", now.Add(time.Hour), true), "MailAttemptFailed give up")
	failed, _, err := s.ListMail(ctx(), gatehouse.MailFailed, 0, 10)
	must(t, err, "ListMail failed")
	if len(failed) != 1 || failed[0].ID != b.ID {
		t.Fatalf("failed mails = %+v", failed)
	}
	if got, _ := s.ClaimMail(ctx(), now.Add(2*time.Hour), now.Add(3*time.Hour), 10); len(got) != 0 {
		t.Fatal("a failed mail was claimed without a retry")
	}
	wantCode(t, s.RetryMail(ctx(), a.ID, now), gatehouse.ENotFound, "RetryMail of a sent mail")
	must(t, s.RetryMail(ctx(), b.ID, now.Add(2*time.Hour)), "RetryMail")
	if got, _ := s.ClaimMail(ctx(), now.Add(2*time.Hour), now.Add(3*time.Hour), 10); len(got) != 1 {
		t.Fatal("a retried mail was not due")
	}
}

func testOutboxClaimRace(t *testing.T, s gatehouse.Store) {
	var mails []*gatehouse.OutboxMail
	for i := range 20 {
		m := newMail("r" + string(rune('a'+i)) + "@example.com")
		m.CreatedAt = base
		mails = append(mails, m)
	}
	must(t, s.QueueMail(ctx(), mails...), "QueueMail")
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int64]int{}
	for range 4 {
		wg.Go(func() {
			got, err := s.ClaimMail(ctx(), base.Add(time.Second), base.Add(time.Hour), 20)
			if err != nil {
				t.Errorf("ClaimMail: %v", err)
			}
			mu.Lock()
			for _, m := range got {
				seen[m.ID]++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Fatalf("%d of 20 mails claimed", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("mail %d claimed %d times, want once", id, n)
		}
	}
}

func testMailPurge(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "frank", gatehouse.RoleUser)
	old, fresh := newMail("old@example.com"), newMail("fresh@example.com")
	old.CreatedAt, fresh.CreatedAt = base, base
	must(t, s.QueueMail(ctx(), old, fresh), "QueueMail")
	must(t, s.MailSent(ctx(), old.ID, base), "MailSent")
	must(t, s.IssueToken(ctx(), newToken("expired", gatehouse.TokenPasswordReset, u.ID, base, time.Minute), 0), "IssueToken")
	must(t, s.IssueToken(ctx(), newToken("live", gatehouse.TokenActivation, u.ID, base, 48*time.Hour), 0), "IssueToken live")
	n, err := s.PurgeMail(ctx(), base.Add(24*time.Hour))
	must(t, err, "PurgeMail")
	if n != 2 {
		t.Fatalf("PurgeMail removed %d rows, want 2 (the sent mail and the expired link)", n)
	}
	list, _, _ := s.ListMail(ctx(), "", 0, 10)
	if len(list) != 1 || list[0].ID != fresh.ID {
		t.Fatalf("after purge: %+v, want only the queued mail", list)
	}
	if _, err := s.PeekToken(ctx(), hash("live"), gatehouse.TokenActivation, base.Add(time.Hour)); err != nil {
		t.Fatalf("purge removed a live link: %v", err)
	}
}
