// Package gatehouse holds the domain of the gatehouse sign-in server: its types, its error codes,
// the store interfaces the backends implement and the clock. It imports nothing of HTTP or SQL so
// that every other package (auth, http, sqlite, postgres, cmd) can depend on it without cycles.
package gatehouse

import (
	"errors"
	"fmt"
	"time"
)

// Version is overridden at build time with -ldflags "-X github.com/gatehouse/gatehouse.Version=...".
var Version = "0.1.0-dev"

// Error codes. Each maps to one HTTP status in http/errors.go; nothing else decides statuses.
const (
	EInvalid            = "invalid_input"        // 400: malformed or out-of-policy input
	EUnauthorized       = "unauthorized"         // 401: no valid credential
	EInvalidCredentials = "invalid_credentials"  // 401: wrong login or password, always the same
	EForbidden          = "forbidden"            // 403: signed in, not allowed
	ENotFound           = "not_found"            // 404
	EConflict           = "conflict"             // 409: duplicate username/email, stale state
	ESetupDone          = "setup_completed"      // 409: an account already exists
	ELastAdmin          = "last_admin"           // 409: would leave no active administrator
	EConfusable         = "username_confusable"  // 409: looks like an existing username (Unicode TR39 skeleton)
	ETooLarge           = "request_too_large"    // 413
	ERateLimited        = "rate_limited"         // 429 with Retry-After
	EBusy               = "server_busy"          // 503 with Retry-After: hashing pool saturated
	EAccountDisabled    = "account_disabled"     // 403, only ever said after a correct password
	ETokenReuse         = "refresh_token_reused" // 401: the session was revoked
	EInternal           = "internal"             // 500: details logged, never shown
	EProvider           = "provider_error"       // 502: an external sign-in provider failed or answered wrongly
	ENotLinked          = "identity_not_linked"  // 403: an external identity matches no local account
	EStoreUnavailable   = "store_unavailable"    // 503: the database did not take a change; the message says what was done anyway
)

// Error codes of the mail flows (statuses in http/errors.go).
const (
	EAccountPending = "account_pending"      // 403, only ever said after a correct password
	EMailFailed     = "mail_delivery_failed" // 502: the SMTP server refused or could not be reached
)

// EMFAUnavailable: the stored TOTP secret cannot be decrypted, almost always because
// [auth] mfa_secret_key changed. It is said only after a correct password.
const EMFAUnavailable = "mfa_unavailable"

// EReauthRequired (403) refuses a change that turns a session into lasting access (adding a
// passkey, setting up an authenticator, linking an external identity, deleting a passkey) when the
// session has not authenticated recently: a stolen cookie or an unlocked device alone must not
// be enough. The client asks the user to confirm it is them (POST /api/account/reauth) and tries
// again.
const EReauthRequired = "reauthentication_required"

// ESecondFactorRequired (401) is the forward-auth answer of a two_factor access rule for a
// session signed in without a second factor; a browser is sent to the second-factor step.
const ESecondFactorRequired = "second_factor_required"

// Error is the one error type that crosses package boundaries with a code a client may see.
// Anything that is not an *Error is internal: its text is logged and the client sees EInternal.
type Error struct {
	Code    string
	Message string
	// Field names the offending input (a JSON field or a settings key) when there is one.
	Field string
	// RetryAfter is set with ERateLimited and EBusy.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return e.Code + ": " + e.Message
}

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EInvalid error naming the offending field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EInternal for errors without one and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code string) bool { return ErrorCode(err) == code }

// Clock tells the time. Everything that compares against TTLs takes one, so tests move time
// forward instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }
