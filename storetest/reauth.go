package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// reauthTests cover recent authentication (SessionStore.SetSessionReauth).
var reauthTests = []struct {
	name string
	fn   func(t *testing.T, s gatehouse.Store)
}{
	{"Sessions/Reauth", testSessionReauth},
	{"Sessions/Upgrade", testSessionUpgrade},
}

func testSessionReauth(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "alice", gatehouse.RoleUser)
	mkSession(t, s, "sess-r", u.ID, base, base.Add(24*time.Hour), nil)
	mkSession(t, s, "sess-other", u.ID, base, base.Add(24*time.Hour), nil)

	got, err := s.SessionByID(ctx(), "sess-r")
	must(t, err, "SessionByID")
	if got.ReauthAt != nil {
		t.Fatalf("a new session has ReauthAt %v, want none", got.ReauthAt)
	}

	at := base.Add(30 * time.Minute)
	must(t, s.SetSessionReauth(ctx(), "sess-r", at), "SetSessionReauth")
	got, err = s.SessionByID(ctx(), "sess-r")
	must(t, err, "SessionByID after reauth")
	if got.ReauthAt == nil || !got.ReauthAt.Equal(at) {
		t.Fatalf("ReauthAt = %v, want %v", got.ReauthAt, at)
	}
	// The cookie look-up sees the same row.
	byHash, err := s.SessionByTokenHash(ctx(), hash("cookie-sess-r"))
	must(t, err, "SessionByTokenHash")
	if byHash.ReauthAt == nil || !byHash.ReauthAt.Equal(at) {
		t.Fatalf("ReauthAt by token hash = %v, want %v", byHash.ReauthAt, at)
	}
	// Only that session is marked.
	other, err := s.SessionByID(ctx(), "sess-other")
	must(t, err, "SessionByID other")
	if other.ReauthAt != nil {
		t.Fatalf("another session got ReauthAt %v", other.ReauthAt)
	}

	// An older time (another instance, late) does not move it back; a newer one moves it on.
	must(t, s.SetSessionReauth(ctx(), "sess-r", at.Add(-time.Minute)), "SetSessionReauth older")
	got, _ = s.SessionByID(ctx(), "sess-r")
	if !got.ReauthAt.Equal(at) {
		t.Fatalf("an older re-authentication moved ReauthAt back to %v", got.ReauthAt)
	}
	later := at.Add(5 * time.Minute)
	must(t, s.SetSessionReauth(ctx(), "sess-r", later), "SetSessionReauth later")
	got, _ = s.SessionByID(ctx(), "sess-r")
	if !got.ReauthAt.Equal(later) {
		t.Fatalf("ReauthAt = %v, want %v", got.ReauthAt, later)
	}

	// Unknown and revoked sessions cannot be marked.
	wantCode(t, s.SetSessionReauth(ctx(), "no-such-session", at), gatehouse.ENotFound, "reauth of an unknown session")
	if _, err := s.RevokeSession(ctx(), "sess-other", gatehouse.ReasonUser, at); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.SetSessionReauth(ctx(), "sess-other", at), gatehouse.ENotFound, "reauth of a revoked session")
	other, _ = s.SessionByID(ctx(), "sess-other")
	if other.ReauthAt != nil {
		t.Fatalf("a revoked session got ReauthAt %v", other.ReauthAt)
	}
}

// testSessionUpgrade covers step-up (SessionStore.UpgradeSession).
func testSessionUpgrade(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "alice", gatehouse.RoleUser)
	mkSession(t, s, "sess-up", u.ID, base, base.Add(24*time.Hour), nil)
	if got, _ := s.SessionByID(ctx(), "sess-up"); got.UpgradedAt != nil || got.AuthMethod != gatehouse.AuthPassword {
		t.Fatalf("a new session: %+v", got)
	}
	at := base.Add(10 * time.Minute)
	must(t, s.UpgradeSession(ctx(), "sess-up", gatehouse.AuthTOTP, at), "UpgradeSession")
	got, err := s.SessionByTokenHash(ctx(), hash("cookie-sess-up"))
	must(t, err, "SessionByTokenHash")
	if got.AuthMethod != gatehouse.AuthTOTP || got.UpgradedAt == nil || !got.UpgradedAt.Equal(at) || got.ReauthAt == nil || !got.ReauthAt.Equal(at) ||
		got.FirstAuthMethod != gatehouse.AuthPassword {
		t.Fatalf("after UpgradeSession: method %q (first %q) upgraded %v reauth %v", got.AuthMethod, got.FirstAuthMethod, got.UpgradedAt, got.ReauthAt)
	}
	// A second upgrade (another instance racing) keeps the first factor, not the second.
	must(t, s.UpgradeSession(ctx(), "sess-up", gatehouse.AuthPasskey, at), "UpgradeSession again")
	if got, _ := s.SessionByID(ctx(), "sess-up"); got.AuthMethod != gatehouse.AuthPasskey || got.FirstAuthMethod != gatehouse.AuthPassword {
		t.Fatalf("after a second UpgradeSession: method %q first %q", got.AuthMethod, got.FirstAuthMethod)
	}
	cs, err := s.ChangesSince(ctx(), 0, base, 100)
	must(t, err, "ChangesSince")
	if len(cs) == 0 || cs[len(cs)-1].Kind != gatehouse.ChangeSessionUpgraded || cs[len(cs)-1].Subject != "sess-up" {
		t.Fatalf("feed after UpgradeSession: %+v", cs)
	}
	wantCode(t, s.UpgradeSession(ctx(), "nope", gatehouse.AuthTOTP, at), gatehouse.ENotFound, "UpgradeSession of an unknown session")
	_, err = s.RevokeSession(ctx(), "sess-up", gatehouse.ReasonUser, at)
	must(t, err, "RevokeSession")
	wantCode(t, s.UpgradeSession(ctx(), "sess-up", gatehouse.AuthPasskey, at), gatehouse.ENotFound, "UpgradeSession of a revoked session")
}
