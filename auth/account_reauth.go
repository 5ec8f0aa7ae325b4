package auth

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Recent authentication ("sudo mode"). A session counts as recently authenticated for
// gatehouse.ReauthWindow after it signed in (every sign-in path makes a new session) or after the
// user confirmed it was them in it. Changes that would turn a stolen cookie or an unlocked device
// into lasting access (a passkey added or deleted, an authenticator set up, an external identity
// linked) need it. The state lives in the session row, so every instance agrees at once.

// ReauthStatus is whether the principal's session may make such changes now.
type ReauthStatus struct {
	Recent bool
	Until  time.Time
	// Methods are how this account can confirm it is the user: "password" when it has one, "totp"
	// when MFA is on (both POST /api/account/reauth), "passkey" when it has a passkey and passkeys
	// are on (POST /api/account/reauth/passkey/begin and finish).
	Methods []string
}

// errReauthRequired is what a change refused for want of a recent authentication says.
var errReauthRequired = gatehouse.Errorf(gatehouse.EReauthRequired,
	"confirm your password first: this change needs you to have signed in or confirmed your password in the last %d minutes", int(gatehouse.ReauthWindow/time.Minute))

// ReauthState reports the principal's recent authentication and how the user can renew it.
func (s *Account) ReauthState(ctx context.Context, p *Principal) (*ReauthStatus, error) {
	sess, err := s.core.reauthSession(ctx, p)
	if err != nil {
		return nil, err
	}
	u, err := s.core.accounts.freshUser(ctx, p)
	if err != nil {
		return nil, err
	}
	until := sess.RecentAuthUntil()
	st := &ReauthStatus{Recent: s.clock.Now().Before(until), Until: until.UTC(), Methods: []string{}}
	// With MFA on the password alone is not enough (Reauthenticate says why).
	if u.PasswordHash != "" && !u.MFAEnabled {
		st.Methods = append(st.Methods, gatehouse.AuthPassword)
	}
	if u.MFAEnabled {
		st.Methods = append(st.Methods, gatehouse.AuthTOTP)
	}
	if on, _ := s.core.passkeys.PasskeyStatus(); on {
		if pks, err := s.store.ListPasskeys(ctx, u.ID); err != nil {
			return nil, err
		} else if len(pks) > 0 {
			st.Methods = append(st.Methods, gatehouse.AuthPasskey)
		}
	}
	return st, nil
}

// Reauthenticate confirms it is the user, with the password or, when MFA is on, a current
// authenticator code, and records it on the session. A recovery code is not accepted: it is a
// way back into a locked-out account, not proof of holding the device. Each attempt spends from
// the per-user reauthLimit (codes also from the MFA budget), so a stolen session cannot guess
// faster than sign-in could.
func (s *Account) Reauthenticate(ctx context.Context, p *Principal, password, code string, meta ClientMeta) (*ReauthStatus, error) {
	code = strings.TrimSpace(code)
	if password == "" && code == "" {
		return nil, gatehouse.FieldError("password", "enter your password (or, with multi-factor authentication on, a code from your authenticator app)")
	}
	if password != "" && code != "" {
		return nil, gatehouse.FieldError("code", "give either password or code, not both")
	}
	if _, err := s.core.reauthSession(ctx, p); err != nil {
		return nil, err
	}
	if err := s.core.limits.reauthLimit(ctx, p.User.ID, meta); err != nil {
		return nil, err
	}
	u, err := s.core.accounts.freshUser(ctx, p)
	if err != nil {
		return nil, err
	}
	method := gatehouse.AuthPassword
	if code != "" {
		method = gatehouse.AuthTOTP
		if !u.MFAEnabled {
			return nil, gatehouse.FieldError("code", "multi-factor authentication is off for your account: confirm with your password")
		}
		// The same check as turning MFA off: the MFA guess budget, and a used code never works
		// again. A recovery code is no authenticator code, so it fails here.
		if err := s.reauthenticate(ctx, u, code, ""); err != nil {
			if gatehouse.IsCode(err, gatehouse.EInvalidCredentials) {
				s.core.event(ctx, gatehouse.EventLoginFailed, u.ID, p.SessionID, meta, map[string]any{"reason": "wrong_code", "during": "reauth"})
			}
			return nil, err
		}
	} else {
		// With MFA on, the password alone is one factor: a stolen cookie plus a phished password
		// must not be enough to add a lasting way in that skips the second factor.
		if u.MFAEnabled {
			return nil, gatehouse.FieldError("code", "multi-factor authentication is on for your account: confirm with a code from your authenticator app (or a passkey)")
		}
		if u.PasswordHash == "" {
			msg := "your account has no password: sign out and sign in again to confirm it is you"
			if u.MFAEnabled {
				msg = "your account has no password: enter a code from your authenticator app instead"
			}
			return nil, gatehouse.FieldError("password", "%s", msg)
		}
		ok := s.core.accounts.policy().checkMax(password) == nil
		if ok {
			ok, _, err = s.core.hasher.Verify(ctx, password, u.PasswordHash)
			if err != nil {
				return nil, err
			}
		}
		if !ok {
			s.core.event(ctx, gatehouse.EventLoginFailed, u.ID, p.SessionID, meta, map[string]any{"reason": "wrong_current_password", "during": "reauth"})
			return nil, &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: "password", Message: "the password is wrong"}
		}
	}
	return s.markReauth(ctx, p, method, meta)
}

// markReauth records a successful re-authentication on the session and in the event log.
func (s *Account) markReauth(ctx context.Context, p *Principal, method string, meta ClientMeta) (*ReauthStatus, error) {
	if err := s.store.SetSessionReauth(ctx, p.SessionID, s.clock.Now()); err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, errUnauthorized
		}
		return nil, err
	}
	s.core.event(ctx, gatehouse.EventReauthenticated, p.User.ID, p.SessionID, meta, map[string]any{"method": method})
	// A second factor proven in a one-factor session is also a step-up (two_factor rules).
	if (method == gatehouse.AuthTOTP || method == gatehouse.AuthPasskey) && !p.SecondFactor() {
		if err := s.core.upgradeSession(ctx, p, method, meta); err != nil {
			return nil, err
		}
	}
	return s.ReauthState(ctx, p)
}

// keepsAWayIn refuses deleting passkey id when it is the user's last way to sign in: no password,
// no other passkey and no external identity. ENotFound when the user has no such passkey.
func (s *Account) keepsAWayIn(ctx context.Context, userID, id int64) error {
	pks, err := s.store.ListPasskeys(ctx, userID)
	if err != nil {
		return err
	}
	found := false
	for _, pk := range pks {
		found = found || pk.ID == id
	}
	if !found {
		return gatehouse.Errorf(gatehouse.ENotFound, "no such passkey")
	}
	if len(pks) > 1 {
		return nil
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.PasswordHash != "" {
		return nil
	}
	ids, err := s.store.ListIdentities(ctx, userID)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return gatehouse.Errorf(gatehouse.EConflict, "this passkey is your only way to sign in: your account has no password and no linked external identity. Add another passkey or link a provider first (or ask an administrator to set a password), then delete this one")
	}
	return nil
}
