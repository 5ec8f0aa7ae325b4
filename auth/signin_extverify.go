package auth

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/oidc"
	"github.com/gatehouse/gatehouse/token"
)

// Linking an external identity by proving the email address (seed 000: "the user either signs in
// to an existing account to link it, or proves the email through the mail flow").
//
// An external sign-in that matched no account leaves a pending identity server-side, bound to the
// browser by a cookie like the sign-in flow itself. That browser may ask for a verification mail;
// it goes to the local account that holds the provider's address, never to an address the
// requester chose, so opening the link proves control of that mailbox, which is what makes the
// binding safe. The link works in any browser: the mailbox is the proof, and a mail opened on a
// phone must still work.

// ExternalPendingTTL is how long the browser may ask for the mail after the sign-in came back.
const ExternalPendingTTL = ExternalFlowTTL

// VerifyOffer is the offer the "not linked" answer makes: the cookie value that ties the pending
// identity to the browser, and the address the mail would go to, masked.
type VerifyOffer struct {
	BrowserToken string
	MaskedEmail  string
	ProviderName string
}

// NotLinkedError is the ENotLinked answer of an external sign-in that may offer the verification
// mail. It unwraps to the *gatehouse.Error, so error codes and statuses stay the same.
type NotLinkedError struct {
	Err   *gatehouse.Error
	Offer *VerifyOffer
}

func (e *NotLinkedError) Error() string { return e.Err.Error() }
func (e *NotLinkedError) Unwrap() error { return e.Err }

// externalVerifyData is kept with the mailed link: the identity to bind.
type externalVerifyData struct {
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
	Email    string `json:"email"`
	RD       string `json:"rd,omitempty"`
}

// MaskEmail shows enough of an address for its owner to recognise it: "j***@example.com".
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		return "***"
	}
	local := []rune(email[:at])
	return string(local[0]) + "***" + email[at:]
}

var errPendingUnknown = gatehouse.Errorf(gatehouse.EInvalid, "this external sign-in has expired or was made in another browser; sign in with the provider again")

// VerifySent is the answer to a request for the verification mail. It is the same whether or not
// a mail was sent.
type VerifySent struct {
	MaskedEmail string
	Provider    string
}

// VerifyLinkInfo is what the confirm page shows before anything is linked: which provider account
// would sign in to which local account, so that the mailbox owner sees what they agree to.
type VerifyLinkInfo struct {
	Provider      string
	ProviderEmail string
	Username      string
}

// notLinked answers an external identity that matched nothing. When the provider gave a usable
// address the answer offers the verification mail, whether or not an account has that address:
// the offer itself must not tell who has an account.
func (s *SignIn) notLinked(ctx context.Context, p *gatehouse.OIDCProvider, f *gatehouse.OIDCFlow, c *oidc.Claims) error {
	if gatehouse.ValidateEmail(c.Email) != nil {
		return gatehouse.Errorf(gatehouse.ENotLinked,
			"this %s account is not linked to a gatehouse account, and %s did not share an email address. Sign in with your password, then link it under Settings → Security → External identities.", p.Name, p.Name)
	}
	e := gatehouse.Errorf(gatehouse.ENotLinked,
		"this %s account is not linked to a gatehouse account. Sign in with your password and link it under Settings → Security → External identities, or have a verification link mailed to %s.", p.Name, MaskEmail(c.Email))
	browser, browserHash := token.Opaque()
	now := s.clock.Now()
	pend := &gatehouse.ExternalPending{BrowserHash: browserHash, ProviderID: p.ID, Subject: c.Subject, Email: c.Email, RD: f.RD,
		CreatedAt: now, ExpiresAt: now.Add(ExternalPendingTTL)}
	if err := s.store.CreateExternalPending(ctx, pend); err != nil {
		// The page still explains the other way to link.
		s.log.Error("storing a pending external identity failed", "provider", p.ID, "err", err)
		return e
	}
	return &NotLinkedError{Err: e, Offer: &VerifyOffer{BrowserToken: browser, MaskedEmail: MaskEmail(c.Email), ProviderName: p.Name}}
}

// SendExternalVerification mails a verification link for the pending identity of this browser to
// the one local account that has the provider's address, unless that account is disabled, the
// resend cooldown holds, or no single account has it. The answer is the same in every such case
// (as for forgot-password), so it does not tell whether the address has an account.
func (s *SignIn) SendExternalVerification(ctx context.Context, browserToken string, meta ClientMeta) (*VerifySent, error) {
	if browserToken == "" || len(browserToken) > 128 {
		return nil, errPendingUnknown
	}
	if err := s.core.limits.mailLimit(ctx, LimitExternalVerify, meta); err != nil {
		return nil, err
	}
	pend, err := s.store.ExternalPendingByHash(ctx, token.Hash(browserToken), s.clock.Now())
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, errPendingUnknown
	}
	if err != nil {
		return nil, err
	}
	p, err := s.store.ProviderByID(ctx, pend.ProviderID)
	if err != nil || !p.Enabled {
		if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, err
		}
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "there is no enabled sign-in provider %q", pend.ProviderID)
	}
	answer := &VerifySent{MaskedEmail: MaskEmail(pend.Email), Provider: p.Name}
	// The link is built before the address is looked up, so that a server that cannot build
	// links (no public_url) fails alike for every address instead of only for known ones.
	tok, h := token.Opaque()
	link, err := s.core.links.ExternalVerify(tok)
	if err != nil {
		return nil, err
	}
	owners, err := s.store.UsersByEmail(ctx, pend.Email, 2)
	if err != nil {
		return nil, err
	}
	if len(owners) != 1 || owners[0].Disabled {
		return answer, nil
	}
	u := owners[0]
	data, err := json.Marshal(externalVerifyData{Provider: p.ID, Subject: pend.Subject, Email: pend.Email, RD: pend.RD})
	if err != nil {
		return nil, err
	}
	st := s.core.Settings()
	m, err := s.core.mail.Compose(mail.KindExternalVerify, u.Email, mail.Data{Username: u.Username, Link: link, ExpiresIn: humanDuration(st.ContactChangeTTL), Provider: p.Name, Language: u.Language})
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	t := &gatehouse.OneTimeToken{Hash: h, Kind: gatehouse.TokenExternalVerify, UserID: u.ID, Email: u.Email, CreatedAt: now,
		ExpiresAt: now.Add(st.ContactChangeTTL), Data: string(data)}
	err = s.store.IssueToken(ctx, t, st.VerificationCooldown, m)
	if gatehouse.IsCode(err, gatehouse.ERateLimited) {
		return answer, nil // within the cooldown: nothing is sent, and nothing is said
	}
	if err != nil {
		return nil, err
	}
	s.core.mail.Wake()
	s.core.event(ctx, gatehouse.EventIdentityVerifySent, u.ID, "", meta, map[string]any{"provider": p.ID, "subject": pend.Subject})
	return answer, nil
}

// CheckExternalVerification reports whether a verification link is usable, and what it links, for
// the confirm page. It spends nothing.
func (s *SignIn) CheckExternalVerification(ctx context.Context, tok string) (*VerifyLinkInfo, error) {
	h, ok := linkToken(tok)
	if !ok {
		return nil, errBadLink("verification")
	}
	t, err := s.store.PeekToken(ctx, h, gatehouse.TokenExternalVerify, s.clock.Now())
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, errBadLink("verification")
		}
		return nil, err
	}
	var d externalVerifyData
	if err := json.Unmarshal([]byte(t.Data), &d); err != nil {
		return nil, errBadLink("verification")
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, errBadLink("verification")
		}
		return nil, err
	}
	info := &VerifyLinkInfo{Provider: d.Provider, ProviderEmail: d.Email, Username: u.Username}
	if p, err := s.store.ProviderByID(ctx, d.Provider); err == nil {
		info.Provider = p.Name
	}
	return info, nil
}

// ConfirmExternalVerification uses a verification link: it binds the identity to the account the
// mail went to (identity.bound, how email_verification) and signs in through signInOrChallenge, so
// an account with MFA still gets its second-factor step.
//
// The mail proves the address. When the account had not proved it before (unverified or pending),
// whoever set up its ways to sign in never did either: that may be someone who registered the
// address first to share the account with its owner later (account pre-hijacking). So the
// password, the second factor, the passkeys and every other external identity are removed and
// every session ended (reclaim); the owner signs in with the identity and may choose a password by
// recovery.
func (s *SignIn) ConfirmExternalVerification(ctx context.Context, tok string, meta ClientMeta) (*ExternalResult, error) {
	h, ok := linkToken(tok)
	if !ok {
		return nil, errBadLink("verification")
	}
	d, u, err := s.openVerifyLink(ctx, h, meta)
	if err != nil {
		return nil, err
	}
	p, err := s.store.ProviderByID(ctx, d.Provider)
	if err != nil || !p.Enabled {
		if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, err
		}
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "there is no enabled sign-in provider %q", d.Provider)
	}
	c := &oidc.Claims{Subject: d.Subject, Email: d.Email}
	bound := false
	switch id, err := s.store.IdentityBySubject(ctx, p.ID, d.Subject); {
	case err == nil && id.UserID == u.ID:
		bound = true // linked meanwhile (say, from Settings): the link still signs in
	case err == nil:
		s.core.event(ctx, gatehouse.EventLoginExternalFailed, u.ID, "", meta, map[string]any{"provider": p.ID, "reason": "identity_bound_elsewhere"})
		return nil, gatehouse.Errorf(gatehouse.EConflict, "this %s account is already linked to another gatehouse account", p.Name)
	case !gatehouse.IsCode(err, gatehouse.ENotFound):
		return nil, err
	}
	unproved := !u.EmailVerified || u.Pending
	wasPending := u.Pending
	use := gatehouse.TokenUse{Activate: true}
	if unproved && u.PasswordHash != "" {
		none := ""
		use.PasswordHash = &none
	}
	_, u, err = s.store.ConsumeToken(ctx, h, gatehouse.TokenExternalVerify, s.clock.Now(), use)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, errBadLink("verification") // used or expired meanwhile
	}
	if err != nil {
		return nil, err
	}
	s.core.users.drop(u.ID)
	data := map[string]any{"provider": p.ID, "subject": d.Subject, "address_was_unverified": unproved, "password_removed": use.PasswordHash != nil}
	if unproved {
		if err := s.core.accounts.reclaim(ctx, u, p.ID, d.Subject, data); err != nil {
			return nil, err
		}
		// The sign-in below must see the account as it is now, without its second factor.
		if u, err = s.store.UserByID(ctx, u.ID); err != nil {
			return nil, err
		}
		// A revocation the store did not take is queued; the sign-in goes on.
		data["sessions_ended"], _ = s.core.EndUserSessions(ctx, u.ID, "", gatehouse.ReasonPasswordReset, meta, map[string]any{"via": "external_verify"})
		if wasPending {
			s.core.event(ctx, gatehouse.EventUserActivated, u.ID, "", meta, map[string]any{"username": u.Username, "via": "external_verify"})
		}
	}
	s.core.event(ctx, gatehouse.EventIdentityVerifyUsed, u.ID, "", meta, data)
	if !bound {
		if err := s.bind(ctx, u, p, c, "email_verification", "", meta); err != nil {
			return nil, err
		}
	}
	return s.finishExternal(ctx, u, p, c, &gatehouse.OIDCFlow{RD: d.RD}, "email_verification", meta)
}

// openVerifyLink reads a verification link without using it: the identity it would
// link and the account it was sent for. A disabled account, or one whose address changed since,
// is refused.
func (s *SignIn) openVerifyLink(ctx context.Context, h []byte, meta ClientMeta) (d externalVerifyData, u *gatehouse.User, err error) {
	t, err := s.store.PeekToken(ctx, h, gatehouse.TokenExternalVerify, s.clock.Now())
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return d, nil, errBadLink("verification")
	}
	if err != nil {
		return d, nil, err
	}
	if err := json.Unmarshal([]byte(t.Data), &d); err != nil || d.Provider == "" || d.Subject == "" {
		return d, nil, errBadLink("verification")
	}
	u, err = s.store.UserByID(ctx, t.UserID)
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return d, nil, errBadLink("verification")
	}
	if err != nil {
		return d, nil, err
	}
	if u.Disabled {
		s.core.event(ctx, gatehouse.EventLoginExternalFailed, u.ID, "", meta, map[string]any{"provider": d.Provider, "reason": "account_disabled"})
		return d, nil, gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled; ask an administrator")
	}
	// The link proves the address it was sent to; if the account's address changed since, it
	// proves nothing about the account.
	if t.Email != u.Email {
		return d, nil, errBadLink("verification")
	}
	return d, u, nil
}
