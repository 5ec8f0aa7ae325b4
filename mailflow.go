package gatehouse

import (
	"context"
	"time"
)

// One-time link kinds. Each kind has its own TTL setting and its own cooldown.
const (
	TokenActivation    = "activation"
	TokenPasswordReset = "password_reset"
	TokenEmailChange   = "email_change"
)

// OneTimeToken is a link mailed to a user. Only the SHA-256 of the random token is stored, so a
// database leak yields no usable link.
type OneTimeToken struct {
	Hash   []byte
	Kind   string
	UserID int64
	// Email is the address the link was sent to; for an email change, the new address.
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
	// Data is what the link's use needs besides the user (external_verify: the identity), or "".
	Data string
}

// TokenUse is what consuming a token changes on its user, in the same transaction as the consumption,
// so a link is never spent without its effect (or the effect applied twice).
type TokenUse struct {
	// Activate ends the pending state and marks the address verified.
	Activate bool
	// PasswordHash, when set, replaces the password.
	PasswordHash *string
	// SetEmail moves the user to the token's Email, verified.
	SetEmail bool
	// Claim, when set, replaces the token's user, which must still be pending (EConflict
	// otherwise: it was activated or recovered meanwhile, and the link stays unused), by Claim:
	// the pending row is deleted with everything hanging from it, and Claim is inserted active,
	// its address the token's Email, verified. It is how the owner of an address takes it back
	// from an account someone else registered with it (docs/mail.md). Claim gets its new ID.
	Claim *User
}

// Outbox mail states.
const (
	MailQueued = "queued" // waiting for its first or next attempt
	MailSent   = "sent"
	MailFailed = "failed" // gave up after the last retry; an administrator may retry it
)

// OutboxMail is one message waiting for, or done with, delivery.
type OutboxMail struct {
	ID            int64      `json:"id"`
	Kind          string     `json:"kind"`
	To            string     `json:"to"`
	Subject       string     `json:"subject"`
	Text          string     `json:"-"`
	HTML          string     `json:"-"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	SentAt        *time.Time `json:"sent_at"`
}

// MailStore keeps one-time links and the mail outbox.
type MailStore interface {
	// IssueToken stores t and queues the mails in one transaction, after deleting the user's
	// earlier unused tokens of the same kind (only the newest link works). When a token of that
	// kind was issued for the user less than cooldown before t.CreatedAt, nothing is written and
	// ERateLimited (with RetryAfter) is returned.
	IssueToken(ctx context.Context, t *OneTimeToken, cooldown time.Duration, mails ...*OutboxMail) error
	// PeekToken returns the token if it is known, unused and not expired at now; ENotFound otherwise.
	PeekToken(ctx context.Context, hash []byte, kind string, now time.Time) (*OneTimeToken, error)
	// ConsumeToken spends the token and applies use to its user in one transaction, returning the
	// token and the updated user. ENotFound when unknown, already used, or expired at now (nothing
	// changes); EConflict (Field "email") when SetEmail would take an address in use, in which case
	// the token stays unused.
	ConsumeToken(ctx context.Context, hash []byte, kind string, now time.Time, use TokenUse) (*OneTimeToken, *User, error)
	// CreatePendingUser inserts u (as CreateUser) in the pending state together with its
	// activation token and mails, in one transaction.
	CreatePendingUser(ctx context.Context, u *User, t *OneTimeToken, mails ...*OutboxMail) error
	// PendingUsers lists users waiting for activation, oldest first, and whether more follow.
	PendingUsers(ctx context.Context, offset, limit int) ([]*User, bool, error)
	// PurgePendingUsers deletes up to limit pending users that hold no unused link still valid at
	// now (activation, or a reset that would activate them), and returns them. A pending user is
	// always written with its activation link, so these are the ones whose activation expired.
	// Each row is deleted by one conditional statement, so two instances purging at once never
	// both return the same user.
	PurgePendingUsers(ctx context.Context, now time.Time, limit int) ([]*User, error)

	// QueueMail appends mails to the outbox, due at once.
	QueueMail(ctx context.Context, mails ...*OutboxMail) error
	// ClaimMail picks up to limit queued mails due at now and leases each until leaseUntil, so
	// that another instance does not send it too; it counts the attempt. Two racing callers
	// never claim the same mail.
	ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*OutboxMail, error)
	// MailSent marks a claimed mail delivered and drops its bodies (they may hold live links).
	MailSent(ctx context.Context, id int64, at time.Time) error
	// MailAttemptFailed records a failed attempt: the mail becomes due again at next, or failed
	// for good when giveUp.
	MailAttemptFailed(ctx context.Context, id int64, errText string, next time.Time, giveUp bool) error
	// RetryMail makes a queued or failed mail due at now; ENotFound for unknown or sent mail.
	RetryMail(ctx context.Context, id int64, now time.Time) error
	// ListMail returns outbox entries, newest first; status "" means every status.
	ListMail(ctx context.Context, status string, offset, limit int) ([]*OutboxMail, bool, error)
	// PurgeMail deletes sent mail older than before and tokens that expired before it.
	PurgeMail(ctx context.Context, before time.Time) (int, error)

	// MailTemplates returns the administrator's versions of mail templates, by kind (kinds with
	// the built-in template are absent).
	MailTemplates(ctx context.Context) (map[string]*MailTemplate, error)
	// SaveMailTemplate inserts or replaces the template of t.Kind.
	SaveMailTemplate(ctx context.Context, t *MailTemplate) error
	// DeleteMailTemplate goes back to the built-in template of kind; no error when there was none.
	DeleteMailTemplate(ctx context.Context, kind string) error
}

// MailTemplate is an administrator's version of one mail (docs/mail.md): Go template sources
// for the subject, the text part and the body of the HTML part.
type MailTemplate struct {
	Kind      string
	Subject   string
	Text      string
	HTML      string
	UpdatedAt time.Time
}
