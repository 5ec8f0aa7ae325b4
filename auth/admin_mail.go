package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
)

// SendTestMail sends a test message at once and returns the SMTP server's answer.
func (s *Admin) SendTestMail(ctx context.Context, admin *Principal, to string, meta ClientMeta) (string, error) {
	if err := requireAdmin(admin); err != nil {
		return "", err
	}
	resp, err := s.core.mail.SendTest(ctx, to)
	data := map[string]any{"to": gatehouse.NormalizeLogin(to), "ok": err == nil}
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.EInvalid) {
			return "", err
		}
		data["error"] = err.Error()
	}
	s.core.event(ctx, gatehouse.EventMailTestSent, admin.User.ID, admin.SessionID, meta, data)
	return resp, err
}

// Outbox lists outbox entries, newest first; status "" lists all. page counts from 1.
func (s *Admin) Outbox(ctx context.Context, admin *Principal, status string, page, perPage int) ([]*gatehouse.OutboxMail, bool, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, false, err
	}
	switch status {
	case "", gatehouse.MailQueued, gatehouse.MailSent, gatehouse.MailFailed:
	default:
		return nil, false, gatehouse.FieldError("status", "status must be queued, sent or failed")
	}
	if page < 1 {
		page = 1
	}
	return s.store.ListMail(ctx, status, (page-1)*perPage, perPage)
}

// RetryMail makes a queued or failed mail due now.
func (s *Admin) RetryMail(ctx context.Context, admin *Principal, id int64, meta ClientMeta) error {
	if err := requireAdmin(admin); err != nil {
		return err
	}
	if err := s.store.RetryMail(ctx, id, s.clock.Now()); err != nil {
		return err
	}
	s.core.mail.Wake()
	s.core.event(ctx, gatehouse.EventMailRetried, admin.User.ID, admin.SessionID, meta, map[string]any{"mail_id": id})
	return nil
}

// PendingUsers lists accounts waiting for activation, oldest first; page counts from 1.
func (s *Admin) PendingUsers(ctx context.Context, admin *Principal, page, perPage int) ([]*gatehouse.User, bool, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, false, err
	}
	if page < 1 {
		page = 1
	}
	return s.store.PendingUsers(ctx, (page-1)*perPage, perPage)
}

// AdminResendActivation mails a pending user a new activation link. The resend cooldown applies
// to administrators too: it protects the user's mailbox, whoever presses the button.
func (s *Admin) AdminResendActivation(ctx context.Context, admin *Principal, id int64, meta ClientMeta) error {
	if err := requireAdmin(admin); err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if !u.Pending {
		return gatehouse.Errorf(gatehouse.EConflict, "this account is already active")
	}
	if err := s.activation.sendActivation(ctx, u); err != nil {
		return err
	}
	s.core.userEvent(ctx, gatehouse.EventActivationResentBy, admin, id, meta, nil)
	return nil
}
