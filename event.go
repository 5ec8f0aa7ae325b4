package gatehouse

import (
	"context"
	"time"
)

// Event kinds of the OpenID Provider (docs/oidc-provider.md).
const (
	EventOIDCAuthorized     = "oidc.authorized"
	EventOIDCTokenIssued    = "oidc.token_issued"
	EventOIDCConsentRevoked = "oidc.consent_revoked"
	EventOIDCFailed         = "oidc.failed"
	EventOIDCClientChanged  = "oidc.client_changed"
	EventOIDCKeysRotated    = "oidc.keys_rotated"
)

// Event kinds (CONTRACT.md). Add freely, never rename.
const (
	EventSetupAdminCreated  = "setup.admin_created"
	EventLoginSucceeded     = "login.succeeded"
	EventLoginFailed        = "login.failed"
	EventLoginMFARequired   = "login.mfa_required"
	EventLoginRateLimited   = "login.rate_limited"
	EventMFASucceeded       = "mfa.succeeded"
	EventMFAFailed          = "mfa.failed"
	EventLogout             = "logout"
	EventSessionRevoked     = "session.revoked"
	EventTokenRefreshed     = "token.refreshed"
	EventTokenReuseDetected = "token.reuse_detected"
	EventPasswordChanged    = "password.changed"
	EventPasswordReset      = "password.reset"
	// EventUserLanguageChanged: a user saved a preferred language (data: language).
	EventUserLanguageChanged = "user.language_changed"
	EventAdminUserCreated    = "admin.user_created"
	EventAdminUserUpdated    = "admin.user_updated"
	EventAdminUserDeleted    = "admin.user_deleted"
	EventSettingsChanged     = "settings.changed"
	// EventSecretRotated is written once when a start finds a new auth.jwt_secret: data
	// sessions_ended, links_revoked.
	EventSecretRotated = "auth.secret_rotated"
)

// MFA event kinds (CONTRACT.md names EventMFAEnabled, EventMFADisabled, EventMFAReset).
const (
	EventMFAEnabled          = "mfa.enabled"
	EventMFADisabled         = "mfa.disabled"
	EventMFAReset            = "mfa.reset"
	EventMFARecoveryCodeUsed = "mfa.recovery_code_used"
	EventMFARecoveryCodesNew = "mfa.recovery_codes_regenerated"
)

// Event kinds of passkeys (CONTRACT.md names passkey.added and passkey.removed).
const (
	EventPasskeyAdded   = "passkey.added"
	EventPasskeyRemoved = "passkey.removed"
	EventPasskeyRenamed = "passkey.renamed"
	// EventPasskeyCloneWarning: an assertion came with a signature counter that did not increase
	// although the authenticator keeps one, so two copies of the key may exist. The sign-in is
	// refused.
	EventPasskeyCloneWarning = "passkey.clone_warning"
)

// Events of re-authentication: a confirmed password or code, and a refused one (login.failed
// with data.during "reauth" is recorded too, so failed guesses show next to failed sign-ins).
const (
	EventReauthenticated = "session.reauthenticated"
)

// Event kinds of the mail flows (CONTRACT.md names user.registered, user.activated, password.reset).
const (
	EventUserRegistered     = "user.registered"
	EventUserActivated      = "user.activated"
	EventEmailChangeRequest = "email.change_requested"
	EventEmailChanged       = "email.changed"
	EventPasswordResetAsked = "password.reset_requested"
	// EventPendingReplaced: the owner of an address proved it with the activation link of their
	// own registration, and the pending account someone else had registered with it was deleted
	// (data replaced_user_id, username; recorded on the new account).
	EventPendingReplaced = "user.pending_replaced"
	// EventPendingPurged: a pending account whose activation expired was deleted by the cleanup
	// job (data username; the user ID is the deleted one's).
	EventPendingPurged = "user.pending_purged"
)

// Event kinds of external sign-in (docs/external-login.md).
const (
	EventLoginExternal       = "login.external"        // an external identity signed in (then login.succeeded)
	EventLoginExternalFailed = "login.external_failed" // data.provider, data.reason, data.provider_error
	EventIdentityBound       = "identity.bound"        // data.provider, data.subject, data.how (auto_bind, auto_create, link)
	EventIdentityUnbound     = "identity.unbound"      // data.provider, data.subject
	EventUserCreatedExternal = "user.created_external" // auto-create: a local user made for an external identity
	EventProviderCreated     = "admin.provider_created"
	EventProviderUpdated     = "admin.provider_updated"
	EventProviderDeleted     = "admin.provider_deleted"
)

// Event kinds of the verification mail.
const (
	EventIdentityVerifySent = "identity.verification_sent" // data.provider, data.subject
	EventIdentityVerifyUsed = "identity.verification_used" // data.provider, data.subject (then identity.bound, how email_verification)
)

// Admin event kinds of the mail console.
const (
	EventMailTestSent = "admin.mail_test_sent"
	// EventMailTemplateChanged: data kind, reset (true when set back to the built-in one).
	EventMailTemplateChanged = "admin.mail_template_changed"
	EventMailRetried         = "admin.mail_retried"
	EventActivationResentBy  = "admin.activation_resent"
	EventRegistrationDupMail = "user.registration_duplicate"
)

// Event is one row of the audit trail. Data never holds a secret.
type Event struct {
	ID        int64          `json:"id"`
	Time      time.Time      `json:"time"`
	Kind      string         `json:"kind"`
	UserID    *int64         `json:"user_id"`
	SessionID string         `json:"session_id"`
	IP        string         `json:"ip"`
	UserAgent string         `json:"user_agent"`
	Data      map[string]any `json:"data"`
}

// EventFilter selects events; zero fields match everything. Results are newest first.
type EventFilter struct {
	UserID *int64
	Kind   string
	// Kinds, when set, matches any of these kinds (and Kind too, when both are set).
	Kinds  []string
	Offset int
	Limit  int
}

// EventStore keeps the audit trail.
type EventStore interface {
	// AddEvent inserts e and sets its ID.
	AddEvent(ctx context.Context, e *Event) error
	// ListEvents returns one page, newest first, and whether more follow.
	ListEvents(ctx context.Context, f EventFilter) ([]*Event, bool, error)
}

// SettingStore keeps runtime settings as text values keyed by name; typing and validation live
// in settings.go so both backends stay dumb.
type SettingStore interface {
	// Settings returns every stored value.
	Settings(ctx context.Context) (map[string]string, error)
	// InitSettings inserts each value whose key is absent; existing values are never overwritten.
	InitSettings(ctx context.Context, defaults map[string]string) error
	// UpdateSettings writes all values in one transaction and appends a ChangeSettings row.
	UpdateSettings(ctx context.Context, values map[string]string, at time.Time) error
}

// Store is everything a backend provides.
type Store interface {
	UserStore
	SessionStore
	ChangeStore
	EventStore
	SettingStore
	MFAStore
	PasskeyStore
	MailStore
	ExternalStore
	ExternalVerifyStore
	GroupStore
	AccessRuleStore
	InvitationStore
	SecretStore
	OPStore
	StatsStore
	BrandingStore
	// Ping checks the database is reachable (readiness).
	Ping(ctx context.Context) error
	// WriteCheck writes one small row (server_state "ready_probe") and reports whether the
	// database takes writes: a full disk or a read-only replica is reachable yet useless.
	WriteCheck(ctx context.Context) error
	Close() error
}
