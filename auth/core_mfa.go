package auth

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/totp"
)

// openSecret decrypts a stored TOTP secret. Failure almost always means mfa_secret_key changed:
// the log says so, the user gets EMFAUnavailable; nothing panics.
func (s *mfaKit) openSecret(userID int64, sealed []byte) (string, error) {
	if s.mfaBox == nil {
		return "", errMFANotConfigured
	}
	plain, err := s.mfaBox.Open(sealed, secretAAD(userID))
	if err != nil {
		s.log.Error("cannot decrypt a stored TOTP secret: [auth] mfa_secret_key has probably changed since this authenticator was set up; the user can still sign in with a recovery code, or an administrator can reset their MFA",
			"user_id", userID, "err", err)
		return "", errMFAKeyChanged
	}
	return string(plain), nil
}

// checkTOTP verifies an authenticator code of a user with MFA enabled and records its time step,
// so that the same code (or an older one) never works again. replayed tells a refused code that
// was right but already used (typically the one just typed to confirm the authenticator), so
// the message can say to wait for the next one instead of calling it wrong. Telling so reveals
// nothing useful: a used code never works again, and it still counts as a failed attempt.
func (s *mfaKit) checkTOTP(ctx context.Context, userID int64, code string) (ok, replayed bool, err error) {
	t, err := s.store.TOTPByUser(ctx, userID)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	if !t.Confirmed {
		return false, false, nil
	}
	secret, err := s.openSecret(userID, t.Secret)
	if err != nil {
		return false, false, err
	}
	now := s.clock.Now()
	step, ok, err := totp.Match(secret, code, now, t.LastStep)
	if err != nil {
		return false, false, err
	}
	if !ok {
		if old, used, err := totp.Match(secret, code, now, -1); err == nil && used && old <= t.LastStep {
			return false, true, nil
		}
		return false, false, nil
	}
	// The conditional update is the replay guard across requests and instances.
	ok, err = s.store.UseTOTPStep(ctx, userID, step)
	return ok, !ok && err == nil, err
}

// useRecoveryCode spends one recovery code and returns how many remain.
func (s *mfaKit) useRecoveryCode(ctx context.Context, userID int64, code string) (int, bool, error) {
	c := normalizeRecoveryCode(code)
	if c == "" {
		return 0, false, nil
	}
	left, err := s.store.UseRecoveryCode(ctx, userID, recoveryHash(userID, c), s.clock.Now())
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return left, true, nil
}

// totpIssuer is the name authenticator apps show for the account.
func (s *mfaKit) totpIssuer() string {
	if n := strings.TrimSpace(s.core.Settings().SiteName); n != "" {
		return n
	}
	return "gatehouse"
}
