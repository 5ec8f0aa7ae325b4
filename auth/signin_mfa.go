package auth

import (
	"context"
	"strconv"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/token"
)

// beginMFA answers a correct first factor for an account with MFA: it stores a challenge (only
// the token's hash) and returns the token instead of a session. External sign-in paths call this
// too, through signInOrChallenge.
func (s *SignIn) beginMFA(ctx context.Context, u *gatehouse.User, stay bool, meta ClientMeta) (*Tokens, error) {
	st := s.core.Settings()
	now := s.clock.Now()
	tok, hash := token.Opaque()
	c := &gatehouse.MFAChallenge{TokenHash: hash, UserID: u.ID, StaySignedIn: stay, CreatedAt: now, ExpiresAt: now.Add(st.MFAChallengeTTL)}
	if err := s.store.CreateMFAChallenge(ctx, c); err != nil {
		return nil, err
	}
	methods := []string{MethodTOTP, MethodRecoveryCode}
	s.core.obs.SignIn("mfa_required")
	s.core.event(ctx, gatehouse.EventLoginMFARequired, u.ID, "", meta, map[string]any{"methods": methods})
	return &Tokens{User: u, MFA: &MFAPending{Token: tok, Methods: methods, ExpiresIn: st.MFAChallengeTTL}}, nil
}

// signInOrChallenge completes a first factor: a session, or an MFA challenge when the account
// has MFA. Every first-factor path that MFA applies to (password, external identity) ends here.
func (s *SignIn) signInOrChallenge(ctx context.Context, u *gatehouse.User, method string, stay bool, meta ClientMeta) (*Tokens, error) {
	if u.MFAEnabled {
		return s.beginMFA(ctx, u, stay, meta)
	}
	return s.core.startSession(ctx, u, method, stay, meta)
}

// LoginMFA completes a sign-in with an authenticator code or a recovery code. Every attempt
// counts against the challenge (auth_mfa_max_attempts) before the code is checked; an expired or
// used-up challenge means starting over.
func (s *SignIn) LoginMFA(ctx context.Context, req MFALoginRequest, meta ClientMeta) (*Tokens, error) {
	if req.Token == "" || len(req.Token) > 128 {
		return nil, gatehouse.FieldError("mfa_token", "mfa_token is required: it comes from the answer to the password step")
	}
	if (req.Code == "") == (req.RecoveryCode == "") {
		return nil, gatehouse.FieldError("code", "give either code (from the authenticator app) or recovery_code")
	}
	if len(req.Code) > 32 || len(req.RecoveryCode) > 64 {
		return nil, gatehouse.FieldError("code", "the code is too long")
	}
	st := s.core.Settings()
	c, err := s.store.AttemptMFAChallenge(ctx, token.Hash(req.Token), st.MFAMaxAttempts, s.clock.Now())
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		s.core.throttledEvent(ctx, gatehouse.EventMFAFailed, meta, map[string]any{"reason": "challenge_invalid"})
		return nil, errChallengeDead
	}
	if err != nil {
		return nil, err
	}
	if err := s.core.limits.mfaLimit(ctx, c.UserID, meta); err != nil {
		s.core.event(ctx, gatehouse.EventMFAFailed, c.UserID, "", meta, map[string]any{"reason": "rate_limited"})
		return nil, err
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, errChallengeDead
		}
		return nil, err
	}
	if u.Disabled {
		_, _ = s.store.DeleteMFAChallenge(ctx, c.TokenHash)
		return nil, gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled; ask an administrator")
	}
	method, field := gatehouse.AuthTOTP, "code"
	var ok, replayed bool
	left := -1
	if req.Code != "" {
		ok, replayed, err = s.core.mfa.checkTOTP(ctx, u.ID, req.Code)
	} else {
		method, field = gatehouse.AuthRecoveryCode, "recovery_code"
		left, ok, err = s.core.mfa.useRecoveryCode(ctx, u.ID, req.RecoveryCode)
	}
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.EMFAUnavailable) {
			s.core.event(ctx, gatehouse.EventMFAFailed, u.ID, "", meta, map[string]any{"method": method, "reason": "secret_undecryptable", "attempt": c.Attempts})
		}
		return nil, err
	}
	if !ok {
		return nil, s.wrongSecondFactor(ctx, st, u.ID, c, method, field, replayed, meta)
	}
	// Of two completions racing on one challenge only the one that removes it signs in.
	if gone, err := s.store.DeleteMFAChallenge(ctx, c.TokenHash); err != nil {
		return nil, err
	} else if !gone {
		return nil, errChallengeDead
	}
	if err := s.core.limiter.Reset(ctx, "mfa:"+strconv.FormatInt(u.ID, 10)); err != nil {
		s.log.Warn("resetting the MFA rate limit failed", "err", err)
	}
	s.core.event(ctx, gatehouse.EventMFASucceeded, u.ID, "", meta, map[string]any{"method": method})
	if method == gatehouse.AuthRecoveryCode {
		s.core.event(ctx, gatehouse.EventMFARecoveryCodeUsed, u.ID, "", meta, map[string]any{"remaining": left})
	} else if left, err = s.store.CountRecoveryCodes(ctx, u.ID); err != nil {
		return nil, err
	}
	t, err := s.core.startSession(ctx, u, method, c.StaySignedIn, meta)
	if err != nil {
		return nil, err
	}
	t.RecoveryCodesLeft = &left
	return t, nil
}

// wrongSecondFactor records a wrong code for a challenge and answers how many attempts are left;
// the last wrong attempt ends the challenge.
func (s *SignIn) wrongSecondFactor(ctx context.Context, st *gatehouse.Settings, userID int64, c *gatehouse.MFAChallenge, method, field string, replayed bool, meta ClientMeta) error {
	s.core.obs.SignIn("mfa_failed")
	reason := "wrong_code"
	if replayed {
		reason = "replayed_code"
	}
	s.core.event(ctx, gatehouse.EventMFAFailed, userID, "", meta, map[string]any{"method": method, "reason": reason, "attempt": c.Attempts})
	if c.Attempts >= st.MFAMaxAttempts {
		_, _ = s.store.DeleteMFAChallenge(ctx, c.TokenHash)
		return gatehouse.Errorf(gatehouse.EUnauthorized, "the code is wrong and no attempts are left; sign in again with your password")
	}
	n := st.MFAMaxAttempts - c.Attempts
	what := "the code is wrong"
	if replayed {
		what = "this code was already used; wait for the next one"
	} else if method == gatehouse.AuthRecoveryCode {
		what = "the recovery code is wrong or was already used"
	}
	return &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: field, Message: what + "; " + plural(n, "attempt") + " left"}
}
