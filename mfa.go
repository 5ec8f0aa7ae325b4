package gatehouse

import (
	"context"
	"time"
)

// TOTP is a user's authenticator. Secret is sealed (AES-GCM under a key derived from
// mfa_secret_key); the store never sees it in the clear. A row that is not Confirmed is a setup
// in progress and does not protect sign-in.
type TOTP struct {
	UserID int64
	Secret []byte
	// Confirmed is set once the user proved the authenticator works; users.mfa_enabled follows it.
	Confirmed bool
	// LastStep is the last accepted TOTP time step (unix time / 30): a code is accepted only for
	// a later step, so no code works twice.
	LastStep    int64
	CreatedAt   time.Time
	ConfirmedAt *time.Time
}

// MFAChallenge is a sign-in waiting for its second factor after a correct first factor. Only the
// SHA-256 of the mfa_token is stored, so the database alone cannot finish anyone's sign-in.
type MFAChallenge struct {
	TokenHash    []byte
	UserID       int64
	StaySignedIn bool
	Attempts     int
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// MFAStore keeps authenticators, recovery codes and sign-in challenges. Recovery codes are
// stored as hashes only.
type MFAStore interface {
	// PutPendingTOTP stores a setup in progress, replacing an earlier unconfirmed one. EConflict
	// when the user already has a confirmed authenticator; ENotFound when the user does not exist.
	PutPendingTOTP(ctx context.Context, userID int64, secret []byte, at time.Time) error
	// TOTPByUser returns the user's authenticator, confirmed or pending; ENotFound when none.
	TOTPByUser(ctx context.Context, userID int64) (*TOTP, error)
	// ConfirmTOTP marks the pending authenticator confirmed with step as its last used step,
	// replaces the recovery codes with codeHashes, sets users.mfa_enabled and appends a
	// ChangeUser row, in one transaction. ENotFound when there is no pending setup; EConflict
	// when it is already confirmed.
	ConfirmTOTP(ctx context.Context, userID, step int64, codeHashes [][]byte, at time.Time) error
	// UseTOTPStep records step as used if it is later than the last used one, atomically: of two
	// concurrent calls with the same step exactly one reports true. False means replay.
	UseTOTPStep(ctx context.Context, userID, step int64) (bool, error)
	// DeleteMFA removes the authenticator (pending or confirmed), the recovery codes and the
	// user's challenges, clears users.mfa_enabled and appends a ChangeUser row. It reports
	// whether MFA was enabled.
	DeleteMFA(ctx context.Context, userID int64, at time.Time) (bool, error)
	// ReplaceRecoveryCodes replaces every recovery code of a user with MFA enabled; EConflict
	// when MFA is not enabled.
	ReplaceRecoveryCodes(ctx context.Context, userID int64, codeHashes [][]byte, at time.Time) error
	// UseRecoveryCode marks an unused code used and returns how many unused codes remain;
	// ENotFound when the user has no such unused code. Of two concurrent uses one wins.
	UseRecoveryCode(ctx context.Context, userID int64, codeHash []byte, at time.Time) (int, error)
	// CountRecoveryCodes returns how many unused recovery codes the user has.
	CountRecoveryCodes(ctx context.Context, userID int64) (int, error)
	// CreateMFAChallenge inserts c; it also removes challenges that expired before c.CreatedAt.
	CreateMFAChallenge(ctx context.Context, c *MFAChallenge) error
	// AttemptMFAChallenge counts one attempt, atomically, and returns the challenge as it is
	// after the count. ENotFound when the challenge does not exist, expired at now, or already
	// had max attempts.
	AttemptMFAChallenge(ctx context.Context, tokenHash []byte, max int, now time.Time) (*MFAChallenge, error)
	// DeleteMFAChallenge removes a challenge and reports whether it existed, so that of two
	// concurrent completions only one signs in.
	DeleteMFAChallenge(ctx context.Context, tokenHash []byte) (bool, error)
}
