package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func codeHashes(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = hash(fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}

func mfaEnabled(t *testing.T, s gatehouse.Store, id int64) bool {
	t.Helper()
	u, err := s.UserByID(ctx(), id)
	must(t, err, "UserByID")
	return u.MFAEnabled
}

// testMFATOTP: setup, confirm, mfa_enabled mirror with a feed row, the replay guard.
func testMFATOTP(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "mfa", gatehouse.RoleUser)
	_, err := s.TOTPByUser(ctx(), u.ID)
	wantCode(t, err, gatehouse.ENotFound, "TOTPByUser before setup")
	wantCode(t, s.PutPendingTOTP(ctx(), 999999, []byte("x"), base), gatehouse.ENotFound, "PutPendingTOTP for a missing user")
	wantCode(t, s.ConfirmTOTP(ctx(), u.ID, 10, codeHashes("a", 10), base), gatehouse.ENotFound, "ConfirmTOTP without a setup")

	must(t, s.PutPendingTOTP(ctx(), u.ID, []byte("sealed-1"), base), "PutPendingTOTP")
	// A second setup before confirming replaces the first.
	must(t, s.PutPendingTOTP(ctx(), u.ID, []byte("sealed-2"), base.Add(time.Second)), "PutPendingTOTP again")
	tt, err := s.TOTPByUser(ctx(), u.ID)
	must(t, err, "TOTPByUser")
	if string(tt.Secret) != "sealed-2" || tt.Confirmed || tt.LastStep != 0 || !tt.CreatedAt.Equal(base.Add(time.Second)) || tt.ConfirmedAt != nil {
		t.Fatalf("pending TOTP = %+v", tt)
	}
	if mfaEnabled(t, s, u.ID) {
		t.Fatal("mfa_enabled before confirmation")
	}
	// A pending setup does not accept steps.
	if ok, err := s.UseTOTPStep(ctx(), u.ID, 5); err != nil || ok {
		t.Fatalf("UseTOTPStep on a pending setup = %v, %v", ok, err)
	}
	before := len(changesOfKind(t, s, gatehouse.ChangeUser, base))
	must(t, s.ConfirmTOTP(ctx(), u.ID, 100, codeHashes("a", 10), base.Add(2*time.Second)), "ConfirmTOTP")
	wantCode(t, s.ConfirmTOTP(ctx(), u.ID, 101, codeHashes("b", 10), base), gatehouse.EConflict, "ConfirmTOTP twice")
	wantCode(t, s.PutPendingTOTP(ctx(), u.ID, []byte("x"), base), gatehouse.EConflict, "PutPendingTOTP over a confirmed one")
	tt, err = s.TOTPByUser(ctx(), u.ID)
	must(t, err, "TOTPByUser")
	if !tt.Confirmed || tt.LastStep != 100 || tt.ConfirmedAt == nil || !tt.ConfirmedAt.Equal(base.Add(2*time.Second)) || string(tt.Secret) != "sealed-2" {
		t.Fatalf("confirmed TOTP = %+v", tt)
	}
	if !mfaEnabled(t, s, u.ID) {
		t.Fatal("mfa_enabled not set by ConfirmTOTP")
	}
	if after := len(changesOfKind(t, s, gatehouse.ChangeUser, base)); after != before+1 {
		t.Fatalf("ConfirmTOTP appended %d user changes, want 1", after-before)
	}
	if n, err := s.CountRecoveryCodes(ctx(), u.ID); err != nil || n != 10 {
		t.Fatalf("recovery codes after confirm = %d, %v", n, err)
	}

	// The step used at confirmation and earlier ones are refused; a later one once.
	for _, step := range []int64{99, 100} {
		if ok, err := s.UseTOTPStep(ctx(), u.ID, step); err != nil || ok {
			t.Fatalf("UseTOTPStep(%d) = %v, %v; want refused", step, ok, err)
		}
	}
	if ok, err := s.UseTOTPStep(ctx(), u.ID, 101); err != nil || !ok {
		t.Fatalf("UseTOTPStep(101) = %v, %v", ok, err)
	}
	// Racing uses of one step: exactly one wins.
	var wg sync.WaitGroup
	wins := make([]bool, 8)
	for i := range wins {
		wg.Go(func() {
			ok, err := s.UseTOTPStep(ctx(), u.ID, 102)
			wins[i] = ok && err == nil
		})
	}
	wg.Wait()
	n := 0
	for _, w := range wins {
		if w {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d concurrent uses of one step won, want 1", n)
	}
}

// testMFARecoveryCodes: single use, count, replacement.
func testMFARecoveryCodes(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "rc", gatehouse.RoleUser)
	other := mkUser(t, s, "other", gatehouse.RoleUser)
	wantCode(t, s.ReplaceRecoveryCodes(ctx(), u.ID, codeHashes("x", 10), base), gatehouse.EConflict, "ReplaceRecoveryCodes without MFA")
	must(t, s.PutPendingTOTP(ctx(), u.ID, []byte("s"), base), "PutPendingTOTP")
	must(t, s.ConfirmTOTP(ctx(), u.ID, 1, codeHashes("a", 10), base), "ConfirmTOTP")

	left, err := s.UseRecoveryCode(ctx(), u.ID, hash("a-3"), base)
	must(t, err, "UseRecoveryCode")
	if left != 9 {
		t.Fatalf("remaining = %d, want 9", left)
	}
	_, err = s.UseRecoveryCode(ctx(), u.ID, hash("a-3"), base)
	wantCode(t, err, gatehouse.ENotFound, "a used recovery code a second time")
	_, err = s.UseRecoveryCode(ctx(), other.ID, hash("a-4"), base)
	wantCode(t, err, gatehouse.ENotFound, "another user's recovery code")
	_, err = s.UseRecoveryCode(ctx(), u.ID, hash("nope"), base)
	wantCode(t, err, gatehouse.ENotFound, "an unknown recovery code")
	if n, _ := s.CountRecoveryCodes(ctx(), u.ID); n != 9 {
		t.Fatalf("count = %d, want 9", n)
	}

	// Racing uses of one code: exactly one wins.
	var wg sync.WaitGroup
	wins := make([]bool, 6)
	for i := range wins {
		wg.Go(func() {
			_, err := s.UseRecoveryCode(ctx(), u.ID, hash("a-5"), base)
			wins[i] = err == nil
		})
	}
	wg.Wait()
	won := 0
	for _, w := range wins {
		if w {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent uses of one recovery code won, want 1", won)
	}

	must(t, s.ReplaceRecoveryCodes(ctx(), u.ID, codeHashes("b", 10), base), "ReplaceRecoveryCodes")
	_, err = s.UseRecoveryCode(ctx(), u.ID, hash("a-0"), base)
	wantCode(t, err, gatehouse.ENotFound, "an old code after replacement")
	if n, _ := s.CountRecoveryCodes(ctx(), u.ID); n != 10 {
		t.Fatalf("count after replacement = %d, want 10", n)
	}
	if left, err := s.UseRecoveryCode(ctx(), u.ID, hash("b-9"), base); err != nil || left != 9 {
		t.Fatalf("new code: %d, %v", left, err)
	}
}

// testMFAChallenges: attempt counting, max, expiry, single completion.
func testMFAChallenges(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "ch", gatehouse.RoleUser)
	c := &gatehouse.MFAChallenge{TokenHash: hash("ch-1"), UserID: u.ID, StaySignedIn: true, CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	must(t, s.CreateMFAChallenge(ctx(), c), "CreateMFAChallenge")
	for i := 1; i <= 3; i++ {
		got, err := s.AttemptMFAChallenge(ctx(), hash("ch-1"), 3, base.Add(time.Minute))
		must(t, err, "AttemptMFAChallenge")
		if got.Attempts != i || got.UserID != u.ID || !got.StaySignedIn || !got.ExpiresAt.Equal(c.ExpiresAt) || !got.CreatedAt.Equal(base) {
			t.Fatalf("attempt %d: %+v", i, got)
		}
	}
	_, err := s.AttemptMFAChallenge(ctx(), hash("ch-1"), 3, base.Add(time.Minute))
	wantCode(t, err, gatehouse.ENotFound, "an attempt beyond max")
	_, err = s.AttemptMFAChallenge(ctx(), hash("unknown"), 3, base)
	wantCode(t, err, gatehouse.ENotFound, "an unknown challenge")

	// Expiry is checked against the given time.
	c2 := &gatehouse.MFAChallenge{TokenHash: hash("ch-2"), UserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	must(t, s.CreateMFAChallenge(ctx(), c2), "CreateMFAChallenge 2")
	_, err = s.AttemptMFAChallenge(ctx(), hash("ch-2"), 5, base.Add(5*time.Minute))
	wantCode(t, err, gatehouse.ENotFound, "an attempt at expiry")

	// Completion removes it once.
	c3 := &gatehouse.MFAChallenge{TokenHash: hash("ch-3"), UserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(5 * time.Minute)}
	must(t, s.CreateMFAChallenge(ctx(), c3), "CreateMFAChallenge 3")
	if ok, err := s.DeleteMFAChallenge(ctx(), hash("ch-3")); err != nil || !ok {
		t.Fatalf("DeleteMFAChallenge = %v, %v", ok, err)
	}
	if ok, err := s.DeleteMFAChallenge(ctx(), hash("ch-3")); err != nil || ok {
		t.Fatalf("DeleteMFAChallenge twice = %v, %v", ok, err)
	}

	// Creating a challenge later clears expired ones: ch-2 is gone (its attempt would fail
	// anyway), a live one stays.
	live := &gatehouse.MFAChallenge{TokenHash: hash("ch-live"), UserID: u.ID, CreatedAt: base.Add(9 * time.Minute), ExpiresAt: base.Add(14 * time.Minute)}
	must(t, s.CreateMFAChallenge(ctx(), live), "CreateMFAChallenge live")
	must(t, s.CreateMFAChallenge(ctx(), &gatehouse.MFAChallenge{TokenHash: hash("ch-4"), UserID: u.ID, CreatedAt: base.Add(10 * time.Minute), ExpiresAt: base.Add(15 * time.Minute)}), "CreateMFAChallenge 4")
	if ok, _ := s.DeleteMFAChallenge(ctx(), hash("ch-2")); ok {
		t.Fatal("an expired challenge survived the creation of a new one")
	}
	if _, err := s.AttemptMFAChallenge(ctx(), hash("ch-live"), 5, base.Add(10*time.Minute)); err != nil {
		t.Fatalf("a live challenge was removed: %v", err)
	}
}

// testMFADelete: DeleteMFA clears everything and the mirror; deleting the user cascades.
func testMFADelete(t *testing.T, s gatehouse.Store) {
	u := mkUser(t, s, "del", gatehouse.RoleUser)
	if was, err := s.DeleteMFA(ctx(), u.ID, base); err != nil || was {
		t.Fatalf("DeleteMFA without MFA = %v, %v", was, err)
	}
	_, err := s.DeleteMFA(ctx(), 999999, base)
	wantCode(t, err, gatehouse.ENotFound, "DeleteMFA of a missing user")
	must(t, s.PutPendingTOTP(ctx(), u.ID, []byte("s"), base), "PutPendingTOTP")
	must(t, s.ConfirmTOTP(ctx(), u.ID, 1, codeHashes("a", 10), base), "ConfirmTOTP")
	must(t, s.CreateMFAChallenge(ctx(), &gatehouse.MFAChallenge{TokenHash: hash("d-1"), UserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}), "CreateMFAChallenge")
	before := len(changesOfKind(t, s, gatehouse.ChangeUser, base))
	was, err := s.DeleteMFA(ctx(), u.ID, base)
	if err != nil || !was {
		t.Fatalf("DeleteMFA = %v, %v", was, err)
	}
	if after := len(changesOfKind(t, s, gatehouse.ChangeUser, base)); after != before+1 {
		t.Fatalf("DeleteMFA appended %d user changes, want 1", after-before)
	}
	if mfaEnabled(t, s, u.ID) {
		t.Fatal("mfa_enabled still set")
	}
	_, err = s.TOTPByUser(ctx(), u.ID)
	wantCode(t, err, gatehouse.ENotFound, "TOTPByUser after DeleteMFA")
	if n, _ := s.CountRecoveryCodes(ctx(), u.ID); n != 0 {
		t.Fatalf("recovery codes after DeleteMFA = %d", n)
	}
	_, err = s.AttemptMFAChallenge(ctx(), hash("d-1"), 5, base)
	wantCode(t, err, gatehouse.ENotFound, "a challenge after DeleteMFA")

	// Deleting the user takes its MFA rows along.
	must(t, s.PutPendingTOTP(ctx(), u.ID, []byte("s"), base), "PutPendingTOTP")
	must(t, s.ConfirmTOTP(ctx(), u.ID, 1, codeHashes("c", 10), base), "ConfirmTOTP")
	must(t, s.DeleteUser(ctx(), u.ID), "DeleteUser")
	_, err = s.TOTPByUser(ctx(), u.ID)
	wantCode(t, err, gatehouse.ENotFound, "TOTPByUser of a deleted user")
	if n, _ := s.CountRecoveryCodes(ctx(), u.ID); n != 0 {
		t.Fatalf("recovery codes of a deleted user = %d", n)
	}
}
