package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/token"
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
func (s *Mail) issueLink(ctx context.Context, u *gatehouse.User, kind string, linkTo func(tok string) (string, error), email string, ttl, cooldown time.Duration,
	build func(link string) ([]*gatehouse.OutboxMail, error)) error {
	return s.issueLinkData(ctx, u, kind, linkTo, email, ttl, cooldown, "", build)
}

// issueLinkData is issueLink for a link that keeps data (OneTimeToken.Data) for its use.
func (s *Mail) issueLinkData(ctx context.Context, u *gatehouse.User, kind string, linkTo func(tok string) (string, error), email string, ttl, cooldown time.Duration, data string,
	build func(link string) ([]*gatehouse.OutboxMail, error)) error {
	tok, h := token.Opaque()
	link, err := linkTo(tok)
	if err != nil {
		return err
	}
	mails, err := build(link)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	t := &gatehouse.OneTimeToken{Hash: h, Kind: kind, UserID: u.ID, Email: email, CreatedAt: now, ExpiresAt: now.Add(ttl), Data: data}
	if err := s.store.IssueToken(ctx, t, cooldown, mails...); err != nil {
		return err
	}
	s.core.mail.Wake()
	return nil
}
