package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/totp"
)

// RecoveryCodeCount is how many recovery codes a user gets at a time.
const RecoveryCodeCount = 10

// MFA methods offered by a sign-in challenge (the "methods" of the mfa_required answer).
const (
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
)

// MFAPending is the answer to a correct first factor for an account with MFA: no session yet,
// only a token for the second step.
type MFAPending struct {
	Token     string
	Methods   []string
	ExpiresIn time.Duration
}

// TOTPSetup is an authenticator being set up: the secret for manual entry and the otpauth URI
// (which the pages render as a QR code).
type TOTPSetup struct {
	Secret string
	URL    string
}

// MFAStatus is what the security page shows.
type MFAStatus struct {
	Enabled bool
	// Pending: a setup was started and not confirmed.
	Pending           bool
	RecoveryCodesLeft int
}

// MFALoginRequest is the second step of a sign-in: the challenge token and exactly one of an
// authenticator code or a recovery code.
type MFALoginRequest struct {
	Token        string
	Code         string
	RecoveryCode string
}

// newMFABox derives the TOTP sealing key. An empty key leaves MFA unavailable rather than
// stopping commands that never touch it (the CLI).
func newMFABox(key string) *seal.Box {
	if key == "" {
		return nil
	}
	b, err := seal.New(key, "gatehouse totp secret")
	if err != nil {
		return nil
	}
	return b
}

var errMFANotConfigured = gatehouse.Errorf(gatehouse.EMFAUnavailable, "multi-factor authentication is not configured on this server: [auth] mfa_secret_key is empty")

// errMFAKeyChanged is what a user whose secret cannot be decrypted is told; the log says more.
var errMFAKeyChanged = gatehouse.Errorf(gatehouse.EMFAUnavailable, "your authenticator cannot be checked because the server's MFA key has changed; use a recovery code, or ask an administrator to reset multi-factor authentication")

var errChallengeDead = gatehouse.Errorf(gatehouse.EUnauthorized, "this sign-in has expired or used all its attempts; sign in again with your password")

func secretAAD(userID int64) []byte { return []byte("totp:user:" + strconv.FormatInt(userID, 10)) }

// recoveryHash binds a recovery code to its user, so equal codes of two users hash apart and a
// stolen table cannot be attacked for all users at once. Codes carry 80 random bits: a fast hash
// is enough.
func recoveryHash(userID int64, code string) []byte {
	h := sha256.Sum256([]byte("gatehouse recovery code\x00" + strconv.FormatInt(userID, 10) + "\x00" + code))
	return h[:]
}

// normalizeRecoveryCode accepts a code as shown (xxxx-xxxx-xxxx-xxxx) in any case, with or
// without dashes and spaces; "" when it cannot be a code.
func normalizeRecoveryCode(code string) string {
	c := strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(code)))
	if len(c) != 16 || strings.Trim(c, "abcdefghijklmnopqrstuvwxyz234567") != "" {
		return ""
	}
	return c
}

// newRecoveryCodes returns the codes to show once and their hashes to store.
func newRecoveryCodes(userID int64) ([]string, [][]byte) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		c := strings.ToLower(rand.Text()[:16]) // base32: 80 random bits
		codes[i] = c[0:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:16]
		hashes[i] = recoveryHash(userID, c)
	}
	return codes, hashes
}

// mfaRefill is how often one second-factor guess comes back.
const mfaRefill = 5 * time.Minute

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func totpAccount(u *gatehouse.User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.Username
}

var errMFAOff = gatehouse.Errorf(gatehouse.EConflict, "multi-factor authentication is not on")

func reauthField(code string) string {
	if code != "" {
		return "code"
	}
	return "password"
}

// BeginTOTP starts setting up an authenticator: a new secret, stored sealed and unconfirmed,
// replacing any earlier unfinished setup. EConflict when MFA is already on.
func (s *Account) BeginTOTP(ctx context.Context, p *Principal, meta ClientMeta) (*TOTPSetup, error) {
	if s.core.mfa.mfaBox == nil {
		return nil, errMFANotConfigured
	}
	// Someone else's authenticator on the account would pass every later code check (reauth.go).
	if err := s.core.RequireRecentAuth(ctx, p); err != nil {
		return nil, err
	}
	u, err := s.core.accounts.freshUser(ctx, p)
	if err != nil {
		return nil, err
	}
	if u.MFAEnabled {
		return nil, gatehouse.Errorf(gatehouse.EConflict, "multi-factor authentication is already on; turn it off first to set up another authenticator")
	}
	k, err := totp.Generate(s.core.mfa.totpIssuer(), totpAccount(u))
	if err != nil {
		return nil, err
	}
	if err := s.store.PutPendingTOTP(ctx, u.ID, s.core.mfa.mfaBox.Seal([]byte(k.Secret), secretAAD(u.ID)), s.clock.Now()); err != nil {
		return nil, err
	}
	return &TOTPSetup{Secret: k.Secret, URL: k.URL}, nil
}

// PendingTOTP returns the unfinished setup of the principal (for the page and its QR code);
// ENotFound when there is none.
func (s *Account) PendingTOTP(ctx context.Context, p *Principal) (*TOTPSetup, error) {
	// An unfinished setup left behind by the owner must not be shown to, and finished by, a
	// session that could not have started it.
	if err := s.core.RequireRecentAuth(ctx, p); err != nil {
		return nil, err
	}
	t, err := s.store.TOTPByUser(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	if t.Confirmed {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "no authenticator setup is in progress")
	}
	secret, err := s.core.mfa.openSecret(p.User.ID, t.Secret)
	if err != nil {
		return nil, err
	}
	u, err := s.core.accounts.freshUser(ctx, p)
	if err != nil {
		return nil, err
	}
	uri, err := totp.URL(s.core.mfa.totpIssuer(), totpAccount(u), secret)
	if err != nil {
		return nil, err
	}
	return &TOTPSetup{Secret: secret, URL: uri}, nil
}

// ConfirmTOTP finishes the setup with a code from the new authenticator, turns MFA on and
// returns the recovery codes, which are never shown again.
func (s *Account) ConfirmTOTP(ctx context.Context, p *Principal, code string, meta ClientMeta) ([]string, error) {
	if strings.TrimSpace(code) == "" {
		return nil, gatehouse.FieldError("code", "enter the 6-digit code from the authenticator app")
	}
	if err := s.core.RequireRecentAuth(ctx, p); err != nil {
		return nil, err
	}
	if err := s.core.limits.mfaLimit(ctx, p.User.ID, meta); err != nil {
		return nil, err
	}
	t, err := s.store.TOTPByUser(ctx, p.User.ID)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "no authenticator setup is in progress; start the setup first")
	}
	if err != nil {
		return nil, err
	}
	if t.Confirmed {
		return nil, gatehouse.Errorf(gatehouse.EConflict, "multi-factor authentication is already on")
	}
	secret, err := s.core.mfa.openSecret(p.User.ID, t.Secret)
	if err != nil {
		return nil, err
	}
	step, ok, err := totp.Match(secret, code, s.clock.Now(), 0)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, gatehouse.FieldError("code", "the code does not match: enter the current 6-digit code, and check that the device's clock is right")
	}
	codes, hashes := newRecoveryCodes(p.User.ID)
	if err := s.store.ConfirmTOTP(ctx, p.User.ID, step, hashes, s.clock.Now()); err != nil {
		return nil, err
	}
	s.core.users.drop(p.User.ID)
	s.core.event(ctx, gatehouse.EventMFAEnabled, p.User.ID, p.SessionID, meta, map[string]any{"method": MethodTOTP, "recovery_codes": len(codes)})
	return codes, nil
}

// reauthenticate checks a current authenticator code or the password before a change to MFA.
func (s *Account) reauthenticate(ctx context.Context, u *gatehouse.User, code, pw string) error {
	if (code == "") == (pw == "") {
		return gatehouse.FieldError("code", "give either code (the current authenticator code) or password")
	}
	if err := s.core.limits.mfaLimit(ctx, u.ID, ClientMeta{}); err != nil {
		return err
	}
	if code != "" {
		ok, replayed, err := s.core.mfa.checkTOTP(ctx, u.ID, code)
		if err != nil {
			return err
		}
		if replayed {
			return &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: "code", Message: "this code was already used; wait for the next one"}
		}
		if !ok {
			return &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: "code", Message: "the code is wrong or was already used"}
		}
		return nil
	}
	if err := s.core.accounts.policy().checkMax(pw); err != nil {
		return &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: "password", Message: "the password is wrong"}
	}
	ok, _, err := s.core.hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: "password", Message: "the password is wrong"}
	}
	return nil
}

// DisableTOTP turns MFA off after a current code or the password.
func (s *Account) DisableTOTP(ctx context.Context, p *Principal, code, pw string, meta ClientMeta) error {
	u, err := s.core.accounts.freshUser(ctx, p)
	if err != nil {
		return err
	}
	if !u.MFAEnabled {
		return errMFAOff
	}
	if err := s.reauthenticate(ctx, u, code, pw); err != nil {
		s.core.event(ctx, gatehouse.EventMFAFailed, u.ID, p.SessionID, meta, map[string]any{"reason": "wrong_" + reauthField(code), "during": "mfa_disable"})
		return err
	}
	if _, err := s.store.DeleteMFA(ctx, u.ID, s.clock.Now()); err != nil {
		return err
	}
	s.core.users.drop(u.ID)
	s.core.event(ctx, gatehouse.EventMFADisabled, u.ID, p.SessionID, meta, map[string]any{"confirmed_with": reauthField(code)})
	return nil
}

// RegenerateRecoveryCodes replaces every recovery code after a current code or the password.
func (s *Account) RegenerateRecoveryCodes(ctx context.Context, p *Principal, code, pw string, meta ClientMeta) ([]string, error) {
	u, err := s.core.accounts.freshUser(ctx, p)
	if err != nil {
		return nil, err
	}
	if !u.MFAEnabled {
		return nil, errMFAOff
	}
	if err := s.reauthenticate(ctx, u, code, pw); err != nil {
		s.core.event(ctx, gatehouse.EventMFAFailed, u.ID, p.SessionID, meta, map[string]any{"reason": "wrong_" + reauthField(code), "during": "recovery_codes"})
		return nil, err
	}
	codes, hashes := newRecoveryCodes(u.ID)
	if err := s.store.ReplaceRecoveryCodes(ctx, u.ID, hashes, s.clock.Now()); err != nil {
		return nil, err
	}
	s.core.event(ctx, gatehouse.EventMFARecoveryCodesNew, u.ID, p.SessionID, meta, map[string]any{"recovery_codes": len(codes)})
	return codes, nil
}

// MFAStatus reports a user's MFA state for the security page.
func (s *Account) MFAStatus(ctx context.Context, userID int64) (*MFAStatus, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	st := &MFAStatus{Enabled: u.MFAEnabled}
	if st.Enabled {
		if st.RecoveryCodesLeft, err = s.store.CountRecoveryCodes(ctx, userID); err != nil {
			return nil, err
		}
		return st, nil
	}
	t, err := s.store.TOTPByUser(ctx, userID)
	if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, err
	}
	st.Pending = t != nil && !t.Confirmed
	return st, nil
}
