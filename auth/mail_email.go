package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
)

// RequestEmailChange checks the current password and mails a confirmation link to the new
// address and a notice to the current one. The address changes only when the link is used.
// Revealing that an address is in use is acceptable here: only a signed-in user who knows their
// password can ask, and the per-account sign-in limit bounds how often.
func (s *Mail) RequestEmailChange(ctx context.Context, p *Principal, newEmail, pw string, meta ClientMeta) error {
	newEmail = gatehouse.NormalizeLogin(newEmail)
	if err := gatehouse.ValidateEmail(newEmail); err != nil {
		return err
	}
	if pw == "" {
		return gatehouse.FieldError("password", "enter your current password")
	}
	if err := s.core.accounts.policy().checkMax(pw); err != nil {
		return &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: "password", Message: "the password is wrong"}
	}
	u, err := s.store.UserByID(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if err := s.core.limits.reauthLimit(ctx, u.ID, meta); err != nil {
		return err
	}
	ok, _, err := s.core.hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		s.core.event(ctx, gatehouse.EventLoginFailed, u.ID, p.SessionID, meta, map[string]any{"reason": "wrong_current_password", "during": "email_change"})
		return &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: "password", Message: "the password is wrong"}
	}
	if newEmail == u.Email {
		return gatehouse.FieldError("email", "this is already your address")
	}
	if _, err := s.store.UserByLogin(ctx, newEmail); err == nil {
		return &gatehouse.Error{Code: gatehouse.EConflict, Field: "email", Message: "this address is already in use"}
	} else if !gatehouse.IsCode(err, gatehouse.ENotFound) {
		return err
	}
	st := s.core.Settings()
	err = s.issueLink(ctx, u, gatehouse.TokenEmailChange, s.core.links.EmailChange, newEmail, st.ContactChangeTTL, st.VerificationCooldown,
		func(link string) ([]*gatehouse.OutboxMail, error) {
			confirm, err := s.core.mail.Compose(mail.KindEmailChangeConfirm, newEmail, mail.Data{Username: u.Username, Link: link, ExpiresIn: humanDuration(st.ContactChangeTTL), Language: u.Language})
			if err != nil {
				return nil, err
			}
			notice, err := s.core.mail.Compose(mail.KindEmailChangeNotice, u.Email, mail.Data{Username: u.Username, NewEmail: newEmail, Language: u.Language})
			return []*gatehouse.OutboxMail{confirm, notice}, err
		})
	if err != nil {
		return err
	}
	s.core.event(ctx, gatehouse.EventEmailChangeRequest, u.ID, p.SessionID, meta, map[string]any{"new_email": newEmail})
	return nil
}

// ConfirmEmailChange uses a confirmation link. The link is the proof: it works without a session,
// since it may be opened on another device. EConflict when the address was taken meanwhile (the
// link then stays usable).
func (s *Mail) ConfirmEmailChange(ctx context.Context, tok string, meta ClientMeta) (*gatehouse.User, error) {
	h, ok := linkToken(tok)
	if !ok {
		return nil, errBadLink("confirmation")
	}
	now := s.clock.Now()
	t, err := s.store.PeekToken(ctx, h, gatehouse.TokenEmailChange, now)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, errBadLink("confirmation")
	}
	if err != nil {
		return nil, err
	}
	old, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	_, u, err := s.store.ConsumeToken(ctx, h, gatehouse.TokenEmailChange, now, gatehouse.TokenUse{SetEmail: true})
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, errBadLink("confirmation")
	}
	if gatehouse.IsCode(err, gatehouse.EConflict) {
		return nil, &gatehouse.Error{Code: gatehouse.EConflict, Field: "email", Message: "this address is now used by another account; ask for the change again with another address"}
	}
	if err != nil {
		return nil, err
	}
	s.core.users.drop(u.ID)
	s.core.event(ctx, gatehouse.EventEmailChanged, u.ID, "", meta, map[string]any{"old_email": old.Email, "new_email": u.Email})
	return u, nil
}
