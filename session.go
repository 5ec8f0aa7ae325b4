package gatehouse

import (
	"context"
	"encoding/json"
	"time"
)

// Ways a session was authenticated, recorded on the session and in events.
const (
	AuthPassword     = "password"
	AuthTOTP         = "totp"
	AuthRecoveryCode = "recovery_code"
	AuthPasskey      = "passkey"
	AuthExternal     = "external"
)

// Reasons a session ends, recorded as data.reason of the logout / session.revoked event.
const (
	ReasonUser                 = "user"
	ReasonAdmin                = "admin"
	ReasonUserDisabled         = "user_disabled"
	ReasonUserDeleted          = "user_deleted"
	ReasonPasswordChanged      = "password_changed"
	ReasonPasswordReset        = "password_reset"
	ReasonMFAReset             = "mfa_reset"
	ReasonRefreshReuse         = "refresh_token_reused"
	ReasonIdleTimeout          = "idle_timeout"
	ReasonMaxLifetime          = "max_lifetime"
	ReasonBindingBroken        = "session_binding_broken"
	ReasonTerminatedByNewLogin = "terminated_by_new_login"
	ReasonSignOutOthers        = "signed_out_elsewhere"
	// ReasonSecretRotated: auth.jwt_secret changed, which signs everyone out (seeds 000, 002).
	ReasonSecretRotated = "secret_rotated"
)

// Session is the one source of truth for a signed-in client (DESIGN.md section 1). The cookie
// token and refresh tokens are never stored, only their SHA-256.
type Session struct {
	ID         string
	UserID     int64
	TokenHash  []byte
	AuthMethod string
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end: min(max lifetime, session duration [+ stay signed in offset]).
	ExpiresAt    time.Time
	StaySignedIn bool
	// Binding holds network/geo data recorded at sign-in (session binding); opaque to the store.
	Binding json.RawMessage
	// AccessExpMax is the latest expiry of any access token issued for this session, so a
	// revocation is kept exactly as long as a token could still be presented.
	AccessExpMax time.Time
	// ReauthAt is when the user last confirmed it was them in this session (reauth.go).
	ReauthAt *time.Time
	// UpgradedAt is when a second factor was added to a one-factor session (step-up for an access
	// rule with policy two_factor); AuthMethod then names that factor.
	UpgradedAt *time.Time
	// FirstAuthMethod is AuthMethod as it was before the step-up (password or external), so
	// both factors can be told (an app's amr); empty when the session was never stepped up.
	FirstAuthMethod string
	RevokedAt       *time.Time
	RevokeReason    string
}

// Active reports whether s is neither revoked nor past its absolute expiry at now.
func (s *Session) Active(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt)
}

// RefreshToken is one link of a session's refresh chain; Hash is SHA-256 of the opaque token.
type RefreshToken struct {
	Hash      []byte
	SessionID string
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is when the token was exchanged; a second exchange outside the grace period is theft.
	UsedAt *time.Time
}

// SessionStore keeps sessions and their refresh tokens.
type SessionStore interface {
	// CreateSession inserts s and its first refresh token (rt may be nil) in one transaction,
	// only while the user exists and is enabled: EAccountDisabled otherwise. Checking inside
	// the insert closes the race with a concurrent disable.
	CreateSession(ctx context.Context, s *Session, rt *RefreshToken) error
	// SessionByID and SessionByTokenHash return the session whether or not it is active;
	// ENotFound when there is none.
	SessionByID(ctx context.Context, id string) (*Session, error)
	SessionByTokenHash(ctx context.Context, hash []byte) (*Session, error)
	// ListSessions returns the user's sessions that are not revoked and not expired at now,
	// newest first.
	ListSessions(ctx context.Context, userID int64, now time.Time) ([]*Session, error)
	// TouchSessions records last-seen times in one batch; a time older than the stored one
	// is ignored.
	TouchSessions(ctx context.Context, seen map[string]time.Time) error
	// ConsumeRefreshToken marks the token used and returns it as it was before this call (UsedAt
	// nil on first use). ENotFound when unknown.
	ConsumeRefreshToken(ctx context.Context, hash []byte, now time.Time) (*RefreshToken, error)
	// RefreshTokenUsed reports whether the token with this hash exists and has been used.
	RefreshTokenUsed(ctx context.Context, hash []byte) (bool, error)
	// AddRefreshToken stores the next token of a session and raises its AccessExpMax to accessExp.
	// A token that exists already is left as it is (no error). ENotFound when the session is gone
	// or revoked.
	AddRefreshToken(ctx context.Context, rt *RefreshToken, accessExp time.Time) error
	// ExtendAccess raises the session's AccessExpMax to accessExp (an access token was issued
	// without a refresh token); ENotFound when the session is gone or revoked.
	ExtendAccess(ctx context.Context, id string, accessExp time.Time) error
	// RevokeSession marks the session revoked, deletes its refresh tokens and appends a
	// ChangeSessionRevoked row to the change feed, kept until both the session's last access
	// token and the session itself would have expired, in one transaction. It reports false when the
	// session was already revoked (nothing is written then); ENotFound when unknown.
	RevokeSession(ctx context.Context, id, reason string, at time.Time) (bool, error)
	// UpgradeSession records a second factor proven in a live session: AuthMethod becomes method
	// (the first time, FirstAuthMethod keeps what it was), UpgradedAt and ReauthAt become at, and a ChangeSessionUpgraded row tells every instance to
	// re-read the session, in one transaction. ENotFound when unknown or revoked.
	UpgradeSession(ctx context.Context, id, method string, at time.Time) error
	// SetSessionReauth records that the user re-authenticated in the session at `at`. ENotFound
	// when the session is unknown or revoked.
	SetSessionReauth(ctx context.Context, id string, at time.Time) error
	// DeleteExpired removes up to limit sessions that ended before `before`, expired refresh
	// tokens and expired change rows; it returns how many rows went, so callers loop in batches.
	DeleteExpired(ctx context.Context, before time.Time, limit int) (int, error)
}

// Change kinds of the change feed that every instance follows (DESIGN.md section 2).
const (
	ChangeSessionRevoked = "session" // Subject: session ID
	ChangeUser           = "user"    // Subject: user ID; cached copies of the user are stale
	ChangeSettings       = "settings"
	// ChangeSessionRefreshed: Subject is a session ID; access tokens issued for it before At are
	// refused (a refresh replaces them). ExpiresAt is when the last of them expires anyway.
	ChangeSessionRefreshed = "refreshed"
	ChangeSessionUpgraded  = "session_upgraded" // Subject: session ID; re-read it (step-up)
)

// Change is one row of the feed. Rows are kept until ExpiresAt: for a revoked session, until the
// last access token issued for it has expired.
type Change struct {
	ID        int64
	Kind      string
	Subject   string
	At        time.Time
	ExpiresAt time.Time
}

// ChangeStore is the persisted change feed: revocations, user changes and settings changes.
type ChangeStore interface {
	// ChangesSince returns rows with ID > after that have not expired at now, in ID order, at most
	// limit of them.
	ChangesSince(ctx context.Context, after int64, now time.Time, limit int) ([]Change, error)
	// AddChange appends a row (for kinds whose writer is not the store itself).
	AddChange(ctx context.Context, c *Change) error
}

// SecretRotation is what RotateSecret did.
type SecretRotation struct {
	// First is true when no fingerprint was recorded yet (a new database, or one from before
	// fingerprints were kept): it is recorded, and nothing else happens.
	First bool
	// Rotated is true when another fingerprint was recorded: every session was ended.
	Rotated bool
	// Sessions and Links count the sessions ended and the unused mailed links deleted.
	Sessions, Links int
}

// SecretStore keeps the fingerprint of auth.jwt_secret, so that changing the secret signs
// everyone out (seed 000: "all current login sessions become invalid"; seed 002).
type SecretStore interface {
	// RotateSecret records fingerprint as the current secret's. When another one was recorded,
	// in the same transaction it revokes every active session with reason at `at` (with change
	// feed rows as RevokeSession writes), deletes every refresh token and every unused one-time
	// link, and reports Rotated. Of several concurrent callers with the same new fingerprint
	// exactly one reports Rotated.
	RotateSecret(ctx context.Context, fingerprint, reason string, at time.Time) (*SecretRotation, error)
}
