package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/token"
)

// Admin event kinds of the mail console.
const (
	EventMailTestSent        = "admin.mail_test_sent"
	EventMailRetried         = "admin.mail_retried"
	EventActivationResentBy  = "admin.activation_resent"
	EventRegistrationDupMail = "user.registration_duplicate"
)

// errBadLink is the one answer for an unknown, used or expired link: which of the three it was
// is nobody's business.
func errBadLink(what string) error {
	return &gatehouse.Error{Code: gatehouse.EInvalid, Field: "token", Message: "this " + what + " link is invalid, expired or already used; ask for a new one"}
}

// linkToken checks the shape of a token from a link before any lookup.
func linkToken(tok string) ([]byte, bool) {
	if tok == "" || len(tok) > 128 {
		return nil, false
	}
	return token.Hash(tok), true
}

// humanDuration writes a TTL for mail text: "24 hours", "1 hour", "30 minutes".
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64(d/time.Minute), "minute")
	default:
		return plural(int64(d/time.Second), "second")
	}
}

// issueLink stores a fresh one-time link of kind for u and queues the mails it builds, all in one
// transaction, unless the cooldown refuses it (ERateLimited). build gets the absolute link.
func (s *Mail) issueLink(ctx context.Context, u *gatehouse.User, kind, path, email string, ttl, cooldown time.Duration,
	build func(link string) ([]*gatehouse.OutboxMail, error)) error {
	tok, h := token.Opaque()
	link, err := s.core.mail.Link(path, tok)
	if err != nil {
		return err
	}
	mails, err := build(link)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	t := &gatehouse.OneTimeToken{Hash: h, Kind: kind, UserID: u.ID, Email: email, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.store.IssueToken(ctx, t, cooldown, mails...); err != nil {
		return err
	}
	s.core.mail.Wake()
	return nil
}

// SendTestMail sends a test message at once and returns the SMTP server's answer.
func (s *Mail) SendTestMail(ctx context.Context, admin *Principal, to string, meta ClientMeta) (string, error) {
	resp, err := s.core.mail.SendTest(ctx, to)
	data := map[string]any{"to": gatehouse.NormalizeLogin(to), "ok": err == nil}
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.EInvalid) {
			return "", err
		}
		data["error"] = err.Error()
	}
	s.core.event(ctx, EventMailTestSent, admin.User.ID, admin.SessionID, meta, data)
	return resp, err
}

// Outbox lists outbox entries, newest first; status "" lists all. page counts from 1.
func (s *Mail) Outbox(ctx context.Context, status string, page, perPage int) ([]*gatehouse.OutboxMail, bool, error) {
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
func (s *Mail) RetryMail(ctx context.Context, admin *Principal, id int64, meta ClientMeta) error {
	if err := s.store.RetryMail(ctx, id, s.clock.Now()); err != nil {
		return err
	}
	s.core.mail.Wake()
	s.core.event(ctx, EventMailRetried, admin.User.ID, admin.SessionID, meta, map[string]any{"mail_id": id})
	return nil
}

// PendingUsers lists accounts waiting for activation, oldest first; page counts from 1.
func (s *Mail) PendingUsers(ctx context.Context, page, perPage int) ([]*gatehouse.User, bool, error) {
	if page < 1 {
		page = 1
	}
	return s.store.PendingUsers(ctx, (page-1)*perPage, perPage)
}

// AdminResendActivation mails a pending user a new activation link. The resend cooldown applies
// to administrators too: it protects the user's mailbox, whoever presses the button.
func (s *Mail) AdminResendActivation(ctx context.Context, admin *Principal, id int64, meta ClientMeta) error {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if !u.Pending {
		return gatehouse.Errorf(gatehouse.EConflict, "this account is already active")
	}
	if err := s.sendActivation(ctx, u); err != nil {
		return err
	}
	s.core.userEvent(ctx, EventActivationResentBy, admin, id, meta, nil)
	return nil
}
