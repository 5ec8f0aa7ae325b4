package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/seal"
	"github.com/gatehouse/gatehouse/token"
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
	Secret string `json:"secret"`
	URL    string `json:"otpauth_url"`
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

// openSecret decrypts a stored TOTP secret. Failure almost always means mfa_secret_key changed:
// the log says so, the user gets EMFAUnavailable; nothing panics.
func (s *Service) openSecret(userID int64, sealed []byte) (string, error) {
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
func (s *Service) checkTOTP(ctx context.Context, userID int64, code string) (ok, replayed bool, err error) {
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

// mfaLimit bounds second-factor guesses per user across challenges and account actions: the
// attempt limit of one challenge alone would let someone who knows the password open challenge
// after challenge. The bucket holds twice auth_mfa_max_attempts (at least 10: a user fumbling two
// challenges is not locked out) and regains one every mfaRefill, about 290 guesses a day (each
// covering three codes with the clock skew): under 0.1 % of the code space. Unlike the password buckets it fails closed: with the limiter down (Redis), nothing else
// would slow guessing, since a password step costs only one hash.
func (s *Service) mfaLimit(ctx context.Context, userID int64, meta ClientMeta) error {
	st := s.Settings()
	key := "mfa:" + strconv.FormatInt(userID, 10)
	ok, retry, err := s.limiter.Allow(ctx, key, max(10, 2*st.MFAMaxAttempts), mfaRefill)
	if err != nil {
		s.log.Error("rate limiter failed; refusing second-factor attempts until it is back", "err", err)
		return &gatehouse.Error{Code: gatehouse.EBusy, RetryAfter: time.Minute, Message: "codes cannot be checked right now; try again in a minute"}
	}
	if err := s.refusal(ctx, key, mfaRefill, ok, retry, nil, meta, ""); err != nil {
		var e *gatehouse.Error
		if errors.As(err, &e) {
			return &gatehouse.Error{Code: e.Code, RetryAfter: e.RetryAfter, Message: "too many code attempts; try again later"}
		}
		return err
	}
	return nil
}

// mfaRefill is how often one second-factor guess comes back.
const mfaRefill = 5 * time.Minute

// beginMFA answers a correct first factor for an account with MFA: it stores a challenge (only
// the token's hash) and returns the token instead of a session. External sign-in paths call this
// too, through signInOrChallenge.
func (s *Service) beginMFA(ctx context.Context, u *gatehouse.User, stay bool, meta ClientMeta) (*Tokens, error) {
	st := s.Settings()
	now := s.clock.Now()
	tok, hash := token.Opaque()
	c := &gatehouse.MFAChallenge{TokenHash: hash, UserID: u.ID, StaySignedIn: stay, CreatedAt: now, ExpiresAt: now.Add(st.MFAChallengeTTL)}
	if err := s.store.CreateMFAChallenge(ctx, c); err != nil {
		return nil, err
	}
	methods := []string{MethodTOTP, MethodRecoveryCode}
	s.obs.SignIn("mfa_required")
	s.event(ctx, gatehouse.EventLoginMFARequired, u.ID, "", meta, map[string]any{"methods": methods})
	return &Tokens{User: u, MFA: &MFAPending{Token: tok, Methods: methods, ExpiresIn: st.MFAChallengeTTL}}, nil
}

// signInOrChallenge completes a first factor: a session, or an MFA challenge when the account
// has MFA. Every first-factor path that MFA applies to (password, external identity) ends here.
func (s *Service) signInOrChallenge(ctx context.Context, u *gatehouse.User, method string, stay bool, meta ClientMeta) (*Tokens, error) {
	if u.MFAEnabled {
		return s.beginMFA(ctx, u, stay, meta)
	}
	return s.startSession(ctx, u, method, stay, meta)
}

// LoginMFA completes a sign-in with an authenticator code or a recovery code. Every attempt
// counts against the challenge (auth_mfa_max_attempts) before the code is checked; an expired or
// used-up challenge means starting over.
func (s *Service) LoginMFA(ctx context.Context, req MFALoginRequest, meta ClientMeta) (*Tokens, error) {
	if req.Token == "" || len(req.Token) > 128 {
		return nil, gatehouse.FieldError("mfa_token", "mfa_token is required: it comes from the answer to the password step")
	}
	if (req.Code == "") == (req.RecoveryCode == "") {
		return nil, gatehouse.FieldError("code", "give either code (from the authenticator app) or recovery_code")
	}
	if len(req.Code) > 32 || len(req.RecoveryCode) > 64 {
		return nil, gatehouse.FieldError("code", "the code is too long")
	}
	st := s.Settings()
	c, err := s.store.AttemptMFAChallenge(ctx, token.Hash(req.Token), st.MFAMaxAttempts, s.clock.Now())
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		s.throttledEvent(ctx, gatehouse.EventMFAFailed, meta, map[string]any{"reason": "challenge_invalid"})
		return nil, errChallengeDead
	}
	if err != nil {
		return nil, err
	}
	if err := s.mfaLimit(ctx, c.UserID, meta); err != nil {
		s.event(ctx, gatehouse.EventMFAFailed, c.UserID, "", meta, map[string]any{"reason": "rate_limited"})
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
		ok, replayed, err = s.checkTOTP(ctx, u.ID, req.Code)
	} else {
		method, field = gatehouse.AuthRecoveryCode, "recovery_code"
		left, ok, err = s.useRecoveryCode(ctx, u.ID, req.RecoveryCode)
	}
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.EMFAUnavailable) {
			s.event(ctx, gatehouse.EventMFAFailed, u.ID, "", meta, map[string]any{"method": method, "reason": "secret_undecryptable", "attempt": c.Attempts})
		}
		return nil, err
	}
	if !ok {
		s.obs.SignIn("mfa_failed")
		reason := "wrong_code"
		if replayed {
			reason = "replayed_code"
		}
		s.event(ctx, gatehouse.EventMFAFailed, u.ID, "", meta, map[string]any{"method": method, "reason": reason, "attempt": c.Attempts})
		if c.Attempts >= st.MFAMaxAttempts {
			_, _ = s.store.DeleteMFAChallenge(ctx, c.TokenHash)
			return nil, gatehouse.Errorf(gatehouse.EUnauthorized, "the code is wrong and no attempts are left; sign in again with your password")
		}
		n := st.MFAMaxAttempts - c.Attempts
		what := "the code is wrong"
		if replayed {
			what = "this code was already used; wait for the next one"
		} else if method == gatehouse.AuthRecoveryCode {
			what = "the recovery code is wrong or was already used"
		}
		return nil, &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: field, Message: what + "; " + plural(n, "attempt") + " left"}
	}
	// Of two completions racing on one challenge only the one that removes it signs in.
	if gone, err := s.store.DeleteMFAChallenge(ctx, c.TokenHash); err != nil {
		return nil, err
	} else if !gone {
		return nil, errChallengeDead
	}
	if err := s.limiter.Reset(ctx, "mfa:"+strconv.FormatInt(u.ID, 10)); err != nil {
		s.log.Warn("resetting the MFA rate limit failed", "err", err)
	}
	s.event(ctx, gatehouse.EventMFASucceeded, u.ID, "", meta, map[string]any{"method": method})
	if method == gatehouse.AuthRecoveryCode {
		s.event(ctx, gatehouse.EventMFARecoveryCodeUsed, u.ID, "", meta, map[string]any{"remaining": left})
	} else if left, err = s.store.CountRecoveryCodes(ctx, u.ID); err != nil {
		return nil, err
	}
	t, err := s.startSession(ctx, u, method, c.StaySignedIn, meta)
	if err != nil {
		return nil, err
	}
	t.RecoveryCodesLeft = &left
	return t, nil
}

// useRecoveryCode spends one recovery code and returns how many remain.
func (s *Service) useRecoveryCode(ctx context.Context, userID int64, code string) (int, bool, error) {
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

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// freshUser reads the principal's user from the store: MFA state must not come from a cache.
func (s *Service) freshUser(ctx context.Context, p *Principal) (*gatehouse.User, error) {
	return s.store.UserByID(ctx, p.User.ID)
}

// totpIssuer is the name authenticator apps show for the account.
func (s *Service) totpIssuer() string {
	if n := strings.TrimSpace(s.Settings().SiteName); n != "" {
		return n
	}
	return "gatehouse"
}

func totpAccount(u *gatehouse.User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.Username
}

// BeginTOTP starts setting up an authenticator: a new secret, stored sealed and unconfirmed,
// replacing any earlier unfinished setup. EConflict when MFA is already on.
func (s *Service) BeginTOTP(ctx context.Context, p *Principal, meta ClientMeta) (*TOTPSetup, error) {
	if s.mfaBox == nil {
		return nil, errMFANotConfigured
	}
	// Someone else's authenticator on the account would pass every later code check (reauth.go).
	if err := s.RequireRecentAuth(ctx, p); err != nil {
		return nil, err
	}
	u, err := s.freshUser(ctx, p)
	if err != nil {
		return nil, err
	}
	if u.MFAEnabled {
		return nil, gatehouse.Errorf(gatehouse.EConflict, "multi-factor authentication is already on; turn it off first to set up another authenticator")
	}
	k, err := totp.Generate(s.totpIssuer(), totpAccount(u))
	if err != nil {
		return nil, err
	}
	if err := s.store.PutPendingTOTP(ctx, u.ID, s.mfaBox.Seal([]byte(k.Secret), secretAAD(u.ID)), s.clock.Now()); err != nil {
		return nil, err
	}
	return &TOTPSetup{Secret: k.Secret, URL: k.URL}, nil
}

// PendingTOTP returns the unfinished setup of the principal (for the page and its QR code);
// ENotFound when there is none.
func (s *Service) PendingTOTP(ctx context.Context, p *Principal) (*TOTPSetup, error) {
	// An unfinished setup left behind by the owner must not be shown to, and finished by, a
	// session that could not have started it.
	if err := s.RequireRecentAuth(ctx, p); err != nil {
		return nil, err
	}
	t, err := s.store.TOTPByUser(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	if t.Confirmed {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "no authenticator setup is in progress")
	}
	secret, err := s.openSecret(p.User.ID, t.Secret)
	if err != nil {
		return nil, err
	}
	u, err := s.freshUser(ctx, p)
	if err != nil {
		return nil, err
	}
	uri, err := totp.URL(s.totpIssuer(), totpAccount(u), secret)
	if err != nil {
		return nil, err
	}
	return &TOTPSetup{Secret: secret, URL: uri}, nil
}

// ConfirmTOTP finishes the setup with a code from the new authenticator, turns MFA on and
// returns the recovery codes, which are never shown again.
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, code string, meta ClientMeta) ([]string, error) {
	if strings.TrimSpace(code) == "" {
		return nil, gatehouse.FieldError("code", "enter the 6-digit code from the authenticator app")
	}
	if err := s.RequireRecentAuth(ctx, p); err != nil {
		return nil, err
	}
	if err := s.mfaLimit(ctx, p.User.ID, meta); err != nil {
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
	secret, err := s.openSecret(p.User.ID, t.Secret)
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
	s.users.drop(p.User.ID)
	s.event(ctx, gatehouse.EventMFAEnabled, p.User.ID, p.SessionID, meta, map[string]any{"method": MethodTOTP, "recovery_codes": len(codes)})
	return codes, nil
}

// reauthenticate checks a current authenticator code or the password before a change to MFA.
func (s *Service) reauthenticate(ctx context.Context, u *gatehouse.User, code, pw string) error {
	if (code == "") == (pw == "") {
		return gatehouse.FieldError("code", "give either code (the current authenticator code) or password")
	}
	if err := s.mfaLimit(ctx, u.ID, ClientMeta{}); err != nil {
		return err
	}
	if code != "" {
		ok, replayed, err := s.checkTOTP(ctx, u.ID, code)
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
	if err := s.policy().checkMax(pw); err != nil {
		return &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: "password", Message: "the password is wrong"}
	}
	ok, _, err := s.hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: "password", Message: "the password is wrong"}
	}
	return nil
}

var errMFAOff = gatehouse.Errorf(gatehouse.EConflict, "multi-factor authentication is not on")

// DisableTOTP turns MFA off after a current code or the password.
func (s *Service) DisableTOTP(ctx context.Context, p *Principal, code, pw string, meta ClientMeta) error {
	u, err := s.freshUser(ctx, p)
	if err != nil {
		return err
	}
	if !u.MFAEnabled {
		return errMFAOff
	}
	if err := s.reauthenticate(ctx, u, code, pw); err != nil {
		s.event(ctx, gatehouse.EventMFAFailed, u.ID, p.SessionID, meta, map[string]any{"reason": "wrong_" + reauthField(code), "during": "mfa_disable"})
		return err
	}
	if _, err := s.store.DeleteMFA(ctx, u.ID, s.clock.Now()); err != nil {
		return err
	}
	s.users.drop(u.ID)
	s.event(ctx, gatehouse.EventMFADisabled, u.ID, p.SessionID, meta, map[string]any{"confirmed_with": reauthField(code)})
	return nil
}

// RegenerateRecoveryCodes replaces every recovery code after a current code or the password.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p *Principal, code, pw string, meta ClientMeta) ([]string, error) {
	u, err := s.freshUser(ctx, p)
	if err != nil {
		return nil, err
	}
	if !u.MFAEnabled {
		return nil, errMFAOff
	}
	if err := s.reauthenticate(ctx, u, code, pw); err != nil {
		s.event(ctx, gatehouse.EventMFAFailed, u.ID, p.SessionID, meta, map[string]any{"reason": "wrong_" + reauthField(code), "during": "recovery_codes"})
		return nil, err
	}
	codes, hashes := newRecoveryCodes(u.ID)
	if err := s.store.ReplaceRecoveryCodes(ctx, u.ID, hashes, s.clock.Now()); err != nil {
		return nil, err
	}
	s.event(ctx, gatehouse.EventMFARecoveryCodesNew, u.ID, p.SessionID, meta, map[string]any{"recovery_codes": len(codes)})
	return codes, nil
}

func reauthField(code string) string {
	if code != "" {
		return "code"
	}
	return "password"
}

// MFAStatus reports a user's MFA state for the security page.
func (s *Service) MFAStatus(ctx context.Context, userID int64) (*MFAStatus, error) {
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

// AdminResetMFA clears a user's authenticator, recovery codes and unfinished sign-in challenges
// and ends all their sessions (seed 000: the way back for a user who lost both). EConflict when
// MFA was not on.
func (s *Service) AdminResetMFA(ctx context.Context, admin *Principal, id int64, meta ClientMeta) (int, error) {
	was, err := s.store.DeleteMFA(ctx, id, s.clock.Now())
	if err != nil {
		return 0, err
	}
	s.users.drop(id)
	if !was {
		return 0, gatehouse.Errorf(gatehouse.EConflict, "multi-factor authentication is not on for this user")
	}
	ended := s.EndUserSessions(ctx, id, "", gatehouse.ReasonMFAReset, meta, map[string]any{"by_user_id": admin.User.ID})
	s.userEvent(ctx, gatehouse.EventMFAReset, admin, id, meta, map[string]any{"sessions_ended": ended})
	return ended, nil
}
