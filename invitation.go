package gatehouse

import (
	"context"
	"time"
)

// Invitation is an admin-made sign-up link (CONTRACT.md): it works while public registration is
// off, may fix the invitee's email (which then counts as verified: the link proves it), makes
// the invitee a member of Groups, and works MaxUses times until ExpiresAt unless revoked.
type Invitation struct {
	ID int64
	// TokenHash is the SHA-256 of the link's token; the token itself is shown once.
	TokenHash []byte
	// Email is the fixed address, or "" when the invitee chooses one.
	Email string
	// Groups are the names of the groups the invitee joins, sorted.
	Groups    []string
	MaxUses   int
	Uses      int
	CreatedBy *int64
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// Invitation states, as the list shows them.
const (
	InvitationActive  = "active"
	InvitationUsed    = "used"
	InvitationExpired = "expired"
	InvitationRevoked = "revoked"
)

// State is the invitation's state at now.
func (i *Invitation) State(now time.Time) string {
	switch {
	case i.RevokedAt != nil:
		return InvitationRevoked
	case i.Uses >= i.MaxUses:
		return InvitationUsed
	case !now.Before(i.ExpiresAt):
		return InvitationExpired
	}
	return InvitationActive
}

// InvitationUse is what UseInvitation writes for the invitee.
type InvitationUse struct {
	// User is the new account (normalized, password hashed). Pending when Activation is set.
	User *User
	// Activation, when set, makes the account pending with this activation link; Mails are
	// queued in the same transaction.
	Activation *OneTimeToken
	Mails      []*OutboxMail
}

// InvitationStore keeps invitations.
type InvitationStore interface {
	// CreateInvitation inserts inv (Groups are names) and sets its ID. EInvalid (Field
	// "groups[i]") when a group does not exist.
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// ListInvitations returns every invitation, newest first.
	ListInvitations(ctx context.Context) ([]*Invitation, error)
	// RevokeInvitation marks an invitation revoked (again: unchanged). ENotFound.
	RevokeInvitation(ctx context.Context, id int64, at time.Time) error
	// InvitationByHash returns the invitation whose token hashes to hash if it is usable at now
	// (not revoked, not used up, not expired); ENotFound otherwise, whichever the reason.
	InvitationByHash(ctx context.Context, hash []byte, now time.Time) (*Invitation, error)
	// UseInvitation spends one use of a usable invitation and, in the same transaction, creates
	// the invitee's account (with the invitation's groups; pending with its activation link when
	// u.Activation is set). ENotFound when the invitation is not usable; EConflict (Field
	// "username") when the username is taken, spending nothing. EConflict (Field "email") when
	// the address belongs to an account: the use is spent all the same (the caller answers as
	// if the account had been made, so a link cannot probe which addresses have accounts), and
	// the invitation is returned with the error.
	UseInvitation(ctx context.Context, hash []byte, now time.Time, u InvitationUse) (*Invitation, error)
}
