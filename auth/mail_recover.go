package auth

import (
	"context"
	"errors"
	"strconv"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/token"
)

func opaque() (string, []byte) { return token.Opaque() }

func asErr(err error, e **gatehouse.Error) bool { return errors.As(err, e) }

// ForgotPassword mails a reset link to the account with this address (or username), when it
// exists and is not disabled, at most once per auth_password_reset_request_cooldown_secs. It
// returns nil in every such case, so the caller answers alike whether or not the address is known.
//
// A pending account gets a reset link too, and using it also activates the account: it proves the
// address, and the password the address's owner chooses replaces whatever the registrant set. So
// someone who registered another person's address first (to squat it, or to have that person
// activate an account whose password they know) loses it to the real owner on recovery.
func (s *Mail) ForgotPassword(ctx context.Context, email string, meta ClientMeta) error {
	email = gatehouse.NormalizeLogin(email)
	if email == "" || len(email) > 254 {
		return gatehouse.FieldError("email", "enter your email address")
	}
	if err := s.core.limits.mailLimit(ctx, LimitRecover, meta); err != nil {
		return err
	}
	u, err := s.store.UserByLogin(ctx, email)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if u.Disabled {
		return nil
	}
	st := s.core.Settings()
	err = s.issueLink(ctx, u, gatehouse.TokenPasswordReset, s.core.links.PasswordReset, u.Email, st.PasswordResetTTL, st.ResetRequestCooldown,
		func(link string) ([]*gatehouse.OutboxMail, error) {
			m, err := s.core.mail.Compose(mail.KindPasswordReset, u.Email, mail.Data{Username: u.Username, Link: link, ExpiresIn: humanDuration(st.PasswordResetTTL), Language: u.Language})
			return []*gatehouse.OutboxMail{m}, err
		})
	if gatehouse.IsCode(err, gatehouse.ERateLimited) {
		return nil // within the cooldown: nothing is sent, and nothing is said
	}
	if err != nil {
		return err
	}
	s.core.event(ctx, gatehouse.EventPasswordResetAsked, u.ID, "", meta, nil)
	return nil
}

// CheckLink reports whether a link of kind is usable, so a page can say so before the user types
// anything. It spends nothing.
func (s *Mail) CheckLink(ctx context.Context, kind, tok string) error {
	h, ok := linkToken(tok)
	what := map[string]string{gatehouse.TokenPasswordReset: "password reset", gatehouse.TokenActivation: "activation", gatehouse.TokenEmailChange: "confirmation"}[kind]
	if !ok {
		return errBadLink(what)
	}
	peek := func() error { _, err := s.store.PeekToken(ctx, h, kind, s.clock.Now()); return err }
	if kind == gatehouse.TokenActivation {
		// An activation page also serves claim links (TokenClaim).
		peek = func() error { _, err := s.peekActivation(ctx, h, s.clock.Now()); return err }
	}
	if err := peek(); err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return errBadLink(what)
		}
		return err
	}
	return nil
}

// ResetPasswordWithLink sets a new password from a reset link. The link works once; using it ends
// every session of the user, and a password.reset event records it.
func (s *Mail) ResetPasswordWithLink(ctx context.Context, tok, pw string, meta ClientMeta) error {
	h, ok := linkToken(tok)
	if !ok {
		return errBadLink("password reset")
	}
	now := s.clock.Now()
	// Look before hashing: a guessed token must not cost an Argon2 run.
	t, err := s.store.PeekToken(ctx, h, gatehouse.TokenPasswordReset, now)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return errBadLink("password reset")
	}
	if err != nil {
		return err
	}
	if err := s.core.accounts.policy().check(pw); err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return errBadLink("password reset")
		}
		return err
	}
	if u.Disabled {
		return gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled; ask an administrator")
	}
	hash, err := s.core.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	// The link proves the address it was sent to; if an administrator changed the address since,
	// it proves nothing about the new one.
	proves := t.Email == u.Email
	wasPending := u.Pending && proves
	// Until now nobody had proved this address: whoever registered it (or brought it from an
	// external provider that did not verify it) may not be its owner, and may have set up ways in
	// of their own. The owner, proving the mailbox now, gets the account without them.
	unproved := proves && (!u.EmailVerified || u.Pending)
	_, u, err = s.store.ConsumeToken(ctx, h, gatehouse.TokenPasswordReset, s.clock.Now(), gatehouse.TokenUse{PasswordHash: &hash, Activate: proves})
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return errBadLink("password reset") // used or expired meanwhile
	}
	if err != nil {
		return err
	}
	s.core.users.drop(u.ID)
	data := map[string]any{"target_user_id": u.ID, "via": "mail", "address_was_unverified": unproved}
	if unproved {
		if err := s.core.accounts.reclaim(ctx, u, "", "", data); err != nil {
			return err
		}
	}
	if wasPending {
		s.core.event(ctx, gatehouse.EventUserActivated, u.ID, "", meta, map[string]any{"username": u.Username, "via": "password_reset"})
	}
	// Whoever was locked out by failed sign-ins has just proved they own the account.
	if err := s.core.limiter.Reset(ctx, "acct:"+strconv.FormatInt(u.ID, 10)); err != nil {
		s.log.Warn("resetting the account rate limit failed", "err", err)
	}
	ended, err := s.core.EndUserSessions(ctx, u.ID, "", gatehouse.ReasonPasswordReset, meta, map[string]any{"via": "mail"})
	data["sessions_ended"] = ended
	s.core.event(ctx, gatehouse.EventPasswordReset, u.ID, "", meta, data)
	return err
}
