package auth

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse"
)

// LimitInvitation is the expensive-request bucket of invitation sign-ups (a password is hashed
// on every attempt).
const LimitInvitation = "invitation"

// errBadInvitation is the one answer for an unknown, expired, revoked or used-up invitation:
// which of them it was is nobody's business.
var errBadInvitation = &gatehouse.Error{Code: gatehouse.EInvalid, Field: "token",
	Message: "this invitation link is invalid, expired, revoked or already used; ask an administrator for a new one"}

// InvitationInfo is what the invitation page shows before the account is made.
type InvitationInfo struct {
	// Email is the fixed address, or "" when the invitee chooses one.
	Email     string
	Groups    []string
	ExpiresAt time.Time
}

// Invitation reads a usable invitation by its link's token. EInvalid (Field token) for any
// link that does not work, whatever the reason.
func (s *Mail) Invitation(ctx context.Context, tok string) (*InvitationInfo, error) {
	h, ok := linkToken(tok)
	if !ok {
		return nil, errBadInvitation
	}
	inv, err := s.store.InvitationByHash(ctx, h, s.clock.Now())
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, errBadInvitation
	}
	if err != nil {
		return nil, err
	}
	return &InvitationInfo{Email: inv.Email, Groups: inv.Groups, ExpiresAt: inv.ExpiresAt}, nil
}

// AcceptInvitation makes the invitee's account through an invitation link, whether or not
// public registration is open. With a fixed email the address counts as verified (the link
// proves it) and the invitee is signed in at once; otherwise the invitee's address is activated
// by mail when auth_require_activation is on, like a public registration.
//
// Enumeration: like Register, a taken username is refused (EConflict, nothing spent) and a
// taken address is not: the use is spent, the answer is that of an account waiting for its
// activation mail, and the address's owner is told by mail instead.
func (s *Mail) AcceptInvitation(ctx context.Context, tok string, req RegisterRequest, meta ClientMeta) (*RegisterResult, error) {
	if err := s.core.limits.expensive(ctx, LimitInvitation, meta); err != nil {
		return nil, err
	}
	h, ok := linkToken(tok)
	if !ok {
		return nil, errBadInvitation
	}
	now := s.clock.Now()
	inv, err := s.store.InvitationByHash(ctx, h, now)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, errBadInvitation
	}
	if err != nil {
		return nil, err
	}
	if inv.Email != "" {
		req.Email = inv.Email // fixed: whatever the form sent
	}
	u, err := s.core.accounts.newAccount(ctx, req.Username, req.Email, req.Password, gatehouse.RoleUser)
	if err != nil {
		return nil, err
	}
	use := gatehouse.InvitationUse{User: u}
	u.EmailVerified = inv.Email != ""
	if req.Language == "" {
		req.Language = meta.Language
	}
	u.Language = s.core.language(req.Language)
	res := &RegisterResult{ActivationRequired: inv.Email == "" && s.core.Settings().ActivationEnabled}
	if res.ActivationRequired {
		if err := s.pendingUse(&use); err != nil {
			return nil, err
		}
	}
	inv, err = s.store.UseInvitation(ctx, h, s.clock.Now(), use)
	var e *gatehouse.Error
	switch {
	case gatehouse.IsCode(err, gatehouse.ENotFound):
		return nil, errBadInvitation
	case asErr(err, &e) && e.Code == gatehouse.EConflict && e.Field == "email":
		// Spent all the same; answered as an account waiting for its activation mail.
		s.core.event(ctx, gatehouse.EventInvitationUsed, 0, "", meta, map[string]any{"invitation_id": inv.ID, "username": u.Username, "address_taken": true})
		res.ActivationRequired = true
		return s.addressTaken(ctx, u, res, meta)
	case err != nil:
		return nil, err
	}
	s.core.hasUsers.Store(true)
	s.core.mail.Wake()
	s.core.event(ctx, gatehouse.EventInvitationUsed, u.ID, "", meta, map[string]any{"invitation_id": inv.ID, "username": u.Username,
		"groups": inv.Groups, "activation_required": res.ActivationRequired})
	if !res.ActivationRequired {
		// The account exists whatever happens next: a failure here is reported and the user
		// signs in.
		if res.Tokens, err = s.core.startSession(ctx, u, gatehouse.AuthPassword, false, meta); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// pendingUse adds an activation link and its mail to use: the account is made pending.
func (s *Mail) pendingUse(use *gatehouse.InvitationUse) error {
	tok, h := opaque()
	link, err := s.core.links.Activation(tok)
	if err != nil {
		return err
	}
	m, err := s.activationMail(use.User, link)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	use.Activation = &gatehouse.OneTimeToken{Hash: h, Kind: gatehouse.TokenActivation, Email: use.User.Email, CreatedAt: now, ExpiresAt: now.Add(s.core.Settings().ActivationTTL)}
	use.Mails = []*gatehouse.OutboxMail{m}
	return nil
}
