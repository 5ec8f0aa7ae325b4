package auth

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Step-up: an access rule with policy two_factor needs a session whose sign-in included a
// second factor. A one-factor session (password, external provider) proves one here, with an
// authenticator code, a recovery code, or (through FinishPasskeyReauth) a passkey, and the
// session records it (AuthMethod, UpgradedAt) instead of a new sign-in.

// StepUpState says what the principal's session can do about a two_factor rule.
type StepUpState struct {
	// Done is true when the session already has a second factor.
	Done bool
	// TOTP is true when the user can use an authenticator code or a recovery code.
	TOTP bool
	// Passkey is true when the user has a passkey and passkeys are on.
	Passkey bool
}

// StepUpState reports the principal's second-factor state.
func (s *Account) StepUpState(ctx context.Context, p *Principal) (*StepUpState, error) {
	if p.SecondFactor() {
		return &StepUpState{Done: true}, nil
	}
	u, err := s.core.accounts.freshUser(ctx, p)
	if err != nil {
		return nil, err
	}
	st := &StepUpState{TOTP: u.MFAEnabled}
	if on, _ := s.core.passkeys.PasskeyStatus(); on {
		pks, err := s.store.ListPasskeys(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		st.Passkey = len(pks) > 0
	}
	return st, nil
}

// StepUp adds a second factor to the principal's session: code (authenticator) or recovery
// (a recovery code, which is spent). Attempts spend from the user's MFA budget like a sign-in's
// second step, and a used authenticator code never works again.
func (s *Account) StepUp(ctx context.Context, p *Principal, code, recovery string, meta ClientMeta) error {
	code, recovery = strings.TrimSpace(code), strings.TrimSpace(recovery)
	if (code == "") == (recovery == "") {
		return gatehouse.FieldError("code", "enter a code from your authenticator app, or a recovery code")
	}
	if len(code) > 32 || len(recovery) > 64 {
		return gatehouse.FieldError("code", "the code is too long")
	}
	if p.SecondFactor() {
		return nil
	}
	u, err := s.core.accounts.freshUser(ctx, p)
	if err != nil {
		return err
	}
	if !u.MFAEnabled {
		return gatehouse.FieldError("code", "your account has no authenticator app set up: set one up on the security page first")
	}
	if err := s.core.limits.mfaLimit(ctx, u.ID, meta); err != nil {
		return err
	}
	method, field := gatehouse.AuthTOTP, "code"
	var ok, replayed bool
	if code != "" {
		ok, replayed, err = s.core.mfa.checkTOTP(ctx, u.ID, code)
	} else {
		method, field = gatehouse.AuthRecoveryCode, "recovery_code"
		_, ok, err = s.core.mfa.useRecoveryCode(ctx, u.ID, recovery)
	}
	if err != nil {
		return err
	}
	if !ok {
		s.core.event(ctx, gatehouse.EventMFAFailed, u.ID, p.SessionID, meta, map[string]any{"method": method, "during": "step_up", "replayed": replayed})
		msg := "the code is wrong or was already used"
		if method == gatehouse.AuthRecoveryCode {
			msg = "the recovery code is wrong or was already used"
		}
		return &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: field, Message: msg}
	}
	return s.core.upgradeSession(ctx, p, method, meta)
}

// upgradeSession records a second factor on the principal's session, on this instance at once
// and on the others through the change feed.
func (s *Core) upgradeSession(ctx context.Context, p *Principal, method string, meta ClientMeta) error {
	if err := s.store.UpgradeSession(ctx, p.SessionID, method, s.clock.Now()); err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return errUnauthorized
		}
		return err
	}
	s.sessions.drop(p.SessionID)
	p.AuthMethod = method
	s.event(ctx, gatehouse.EventSessionStepUp, p.User.ID, p.SessionID, meta, map[string]any{"method": method})
	return nil
}
