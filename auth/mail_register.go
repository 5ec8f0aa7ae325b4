package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
)

// RegisterRequest is a public registration.
type RegisterRequest struct {
	Username, Email, Password string
	// Language is the request's language (the page's, or the API's Accept-Language): the new
	// account's preference, so its activation mail and later mail are in it. "" or a language
	// not offered leaves no preference (English mail).
	Language string
}

// RegisterResult says what the new user must do next.
type RegisterResult struct {
	// ActivationRequired: an activation link was mailed; the account is pending until it is used.
	ActivationRequired bool
	// Tokens is the new session when no activation is needed (seed 004: enrollment signs in).
	// It is nil when the address already had an account (see Register).
	Tokens *Tokens
}

var errAccountPending = gatehouse.Errorf(gatehouse.EAccountPending, "this account is not activated yet: open the link in the activation mail, or ask for a new one")

// Register creates an account through public registration (auth_allow_user_registration).
//
// Enumeration: a username is public by nature (it must be unique and the user must pick another),
// so a taken username is refused with EConflict. An address is not: when it already belongs to an
// account, the answer is exactly the answer of a successful registration, and the owner of the
// address gets a mail saying someone tried to register with it. The password is hashed on both
// paths, so the time taken does not tell them apart either.
func (s *Mail) Register(ctx context.Context, req RegisterRequest, meta ClientMeta) (*RegisterResult, error) {
	st := s.core.Settings()
	if setup, err := s.core.SetupRequired(ctx); err != nil {
		return nil, err
	} else if setup {
		return nil, gatehouse.Errorf(gatehouse.EForbidden, "no account exists yet: create the first administrator on the sign-in page")
	}
	if !st.AllowRegistration {
		return nil, gatehouse.Errorf(gatehouse.EForbidden, "public registration is closed; ask an administrator for an account")
	}
	if err := s.core.limits.mailLimit(ctx, LimitRegister, meta); err != nil {
		return nil, err
	}
	u, err := s.core.accounts.newAccount(ctx, req.Username, req.Email, req.Password, gatehouse.RoleUser)
	if err != nil {
		return nil, err
	}
	u.Language = s.core.language(req.Language)
	res := &RegisterResult{ActivationRequired: st.ActivationEnabled}
	if st.ActivationEnabled {
		err = s.createPending(ctx, u)
	} else {
		err = s.store.CreateUser(ctx, u)
	}
	var e *gatehouse.Error
	if asErr(err, &e) && e.Code == gatehouse.EConflict && e.Field == "email" {
		return s.addressHeld(ctx, u, res, meta)
	}
	if err != nil {
		return nil, err
	}
	s.core.mail.Wake()
	s.core.event(ctx, gatehouse.EventUserRegistered, u.ID, "", meta, map[string]any{"username": u.Username, "activation_required": res.ActivationRequired})
	if !res.ActivationRequired {
		// Seed 004 signs the new user in right after the account is written. The account exists
		// whatever happens next, so a failure here is reported as such and the user signs in.
		if res.Tokens, err = s.core.startSession(ctx, u, gatehouse.AuthPassword, false, meta); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// addressTaken answers a registration whose address is in use as if it had succeeded, unless the
// username is taken as well (which the user may learn), and tells the address's owner.
func (s *Mail) addressTaken(ctx context.Context, u *gatehouse.User, res *RegisterResult, meta ClientMeta) (*RegisterResult, error) {
	if other, err := s.store.UserByLogin(ctx, u.Username); err == nil && other.Username == u.Username {
		return nil, &gatehouse.Error{Code: gatehouse.EConflict, Field: "username", Message: "username is already taken"}
	}
	owner, err := s.store.UserByLogin(ctx, u.Email)
	if err != nil {
		return nil, err
	}
	// The notice goes through a one-time "link" of its own kind only to get the same atomic
	// cooldown as every other mail: repeated attempts cannot flood the owner's mailbox.
	err = s.issueLink(ctx, owner, "registration_notice", s.core.links.RegistrationNotice, owner.Email, s.core.Settings().VerificationCooldown, s.core.Settings().VerificationCooldown,
		func(string) ([]*gatehouse.OutboxMail, error) {
			m, err := s.core.mail.Compose(mail.KindAlreadyRegistered, owner.Email, mail.Data{Username: owner.Username, Language: owner.Language})
			return []*gatehouse.OutboxMail{m}, err
		})
	if err != nil && !gatehouse.IsCode(err, gatehouse.ERateLimited) {
		return nil, err
	}
	s.core.event(ctx, gatehouse.EventRegistrationDupMail, owner.ID, "", meta, map[string]any{"attempted_username": u.Username})
	return res, nil
}

func (s *Mail) activationMail(u *gatehouse.User, link string) (*gatehouse.OutboxMail, error) {
	return s.core.mail.Compose(mail.KindActivation, u.Email, mail.Data{Username: u.Username, Link: link, ExpiresIn: humanDuration(s.core.Settings().ActivationTTL), Language: u.Language})
}

// createPending inserts a pending account with its activation link and mail in one transaction.
func (s *Mail) createPending(ctx context.Context, u *gatehouse.User) error {
	tok, h := opaque()
	link, err := s.core.links.Activation(tok)
	if err != nil {
		return err
	}
	m, err := s.activationMail(u, link)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	t := &gatehouse.OneTimeToken{Hash: h, Kind: gatehouse.TokenActivation, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(s.core.Settings().ActivationTTL)}
	if err := s.store.CreatePendingUser(ctx, u, t, m); err != nil {
		return err
	}
	s.core.hasUsers.Store(true)
	return nil
}

// sendActivation mails a pending user a new activation link (the old one stops working),
// subject to auth_contact_verification_resend_cooldown_secs.
func (s *Mail) sendActivation(ctx context.Context, u *gatehouse.User) error {
	st := s.core.Settings()
	return s.issueLink(ctx, u, gatehouse.TokenActivation, s.core.links.Activation, u.Email, st.ActivationTTL, st.VerificationCooldown,
		func(link string) ([]*gatehouse.OutboxMail, error) {
			m, err := s.activationMail(u, link)
			return []*gatehouse.OutboxMail{m}, err
		})
}

// Activate uses an activation link: the account stops being pending and its address counts as
// verified. It does not sign in: the link may have been opened on another device. The link of a
// registration that claimed an address held by a pending account replaces that account
// (addressHeld).
func (s *Mail) Activate(ctx context.Context, tok string, meta ClientMeta) (*gatehouse.User, error) {
	h, ok := linkToken(tok)
	if !ok {
		return nil, errBadLink("activation")
	}
	now := s.clock.Now()
	t, err := s.store.PeekToken(ctx, h, gatehouse.TokenActivation, now)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, errBadLink("activation")
	}
	if err != nil {
		return nil, err
	}
	use, err := activationUse(t)
	if err != nil {
		return nil, err
	}
	_, u, err := s.store.ConsumeToken(ctx, h, gatehouse.TokenActivation, now, use)
	var e *gatehouse.Error
	switch {
	case gatehouse.IsCode(err, gatehouse.ENotFound):
		return nil, errBadLink("activation")
	case use.Claim != nil && asErr(err, &e) && e.Code == gatehouse.EConflict && e.Field == "username":
		e := gatehouse.Errorf(gatehouse.EConflict, "the username %q was taken after you registered: register again with another one", use.Claim.Username)
		e.Field = "username"
		return nil, e
	case use.Claim != nil && asErr(err, &e) && e.Code == gatehouse.EConflict:
		return nil, &gatehouse.Error{Code: gatehouse.EConflict, Field: "email", Message: "this address belongs to an active account now: sign in, or recover its password"}
	case err != nil:
		return nil, err
	}
	s.core.users.drop(t.UserID)
	if use.Claim != nil {
		s.core.event(ctx, gatehouse.EventPendingReplaced, u.ID, "", meta, map[string]any{"replaced_user_id": t.UserID, "username": u.Username})
	}
	s.core.event(ctx, gatehouse.EventUserActivated, u.ID, "", meta, map[string]any{"username": u.Username})
	return u, nil
}

// ResendActivation mails a new activation link to the pending account named by login (username
// or email). Like password recovery it says nothing about the account: it succeeds whether or not
// one exists, is pending, or is within its cooldown.
func (s *Mail) ResendActivation(ctx context.Context, login string, meta ClientMeta) error {
	login = gatehouse.NormalizeLogin(login)
	if login == "" || len(login) > 254 {
		return gatehouse.FieldError("login", "enter your username or email")
	}
	if err := s.core.limits.mailLimit(ctx, LimitResend, meta); err != nil {
		return err
	}
	u, err := s.store.UserByLogin(ctx, login)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !u.Pending || u.Disabled {
		return nil
	}
	if err := s.sendActivation(ctx, u); err != nil && !gatehouse.IsCode(err, gatehouse.ERateLimited) {
		return err
	}
	return nil
}
