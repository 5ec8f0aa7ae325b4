package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/oidc"
	"github.com/gatehouse/gatehouse/redirect"
	"github.com/gatehouse/gatehouse/token"
)

// StartExternal begins the authorization code flow with PKCE at an enabled provider. rd is kept
// only when it is safe. linkUser, when not nil, is the signed-in user linking an identity; the
// caller must have checked that the request is same-origin (it changes the account).
func (s *SignIn) StartExternal(ctx context.Context, providerID, rd string, linkUser *Principal, meta ClientMeta) (*ExternalStart, error) {
	if err := s.core.providers.needRP(); err != nil {
		return nil, err
	}
	if len(providerID) > 40 || !providerIDPattern.MatchString(providerID) {
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "there is no such sign-in provider")
	}
	p, err := s.store.ProviderByID(ctx, providerID)
	if err != nil || !p.Enabled {
		if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, err
		}
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "there is no enabled sign-in provider %q", providerID)
	}
	// Each start writes a row and asks the provider for its discovery document; the per-address
	// bucket keeps a flood from filling the table or turning gatehouse against the provider. It
	// is generous (a whole office behind one address signs in at nine) and separate from the
	// password buckets.
	if err := s.core.limits.expensive(ctx, LimitExternalStart, meta); err != nil {
		return nil, err
	}
	cfg, err := s.core.providers.rpConfig(ctx, p, meta)
	if err != nil {
		return nil, err
	}
	state, stateHash := token.Opaque()
	browser, browserHash := token.Opaque()
	nonce, _ := token.Opaque()
	verifier := oidc.NewVerifier()
	now := s.clock.Now()
	f := &gatehouse.OIDCFlow{StateHash: stateHash, BrowserHash: browserHash, ProviderID: p.ID, Nonce: nonce, Verifier: verifier,
		CreatedAt: now, ExpiresAt: now.Add(ExternalFlowTTL)}
	if s.core.providers.public != nil {
		if safe, ok := redirect.Safe(s.core.providers.public, rd); ok {
			f.RD = safe
		}
	}
	if linkUser != nil {
		// A linked identity signs in without password or TOTP (reauth.go).
		if err := s.core.RequireRecentAuth(ctx, linkUser); err != nil {
			return nil, err
		}
		f.LinkUserID = linkUser.User.ID
	}
	to, err := s.core.providers.rp.AuthCodeURL(ctx, cfg, state, nonce, verifier)
	if err != nil {
		return nil, s.externalFailed(ctx, p, f.LinkUserID, meta, err)
	}
	if err := s.store.CreateOIDCFlow(ctx, f); err != nil {
		return nil, err
	}
	return &ExternalStart{RedirectURL: to, BrowserToken: browser}, nil
}

// externalFailed records a provider failure and turns it into a clear EProvider error.
func (s *SignIn) externalFailed(ctx context.Context, p *gatehouse.OIDCProvider, userID int64, meta ClientMeta, err error) error {
	var oe *oidc.Error
	data := map[string]any{"provider": p.ID}
	msg := fmt.Sprintf("sign-in with %s failed", p.Name)
	if errors.As(err, &oe) {
		data["reason"] = oe.Reason
		data["detail"] = truncate(oe.Err.Error(), 500)
		if oe.ProviderError != "" {
			data["provider_error"] = oe.ProviderError
		}
		switch oe.Reason {
		case "discovery_failed":
			msg = fmt.Sprintf("%s cannot be reached or did not answer as an OpenID provider with issuer %s; try again later or tell an administrator", p.Name, p.Issuer)
		case "token_exchange_failed":
			msg = fmt.Sprintf("%s refused to complete the sign-in", p.Name)
			if oe.ProviderError != "" {
				msg += " (" + oe.ProviderError + ")"
			}
			if strings.HasPrefix(oe.ProviderError, "invalid_client") {
				// Nearly always a wrong secret or an auth method other than the client's.
				msg += fmt.Sprintf("; an administrator should check the client secret and that the token auth method (%s) is the one the client is registered with", authMethod(p.TokenAuthMethod))
			}
		case "nonce_mismatch":
			msg = fmt.Sprintf("the answer from %s does not belong to this sign-in (nonce mismatch); start again", p.Name)
		default:
			msg = fmt.Sprintf("the answer from %s could not be verified (%s); start again or tell an administrator", p.Name, oe.Reason)
		}
	} else {
		data["reason"] = "error"
		s.log.Error("external sign-in failed", "provider", p.ID, "err", err)
	}
	s.log.Warn("external sign-in failed", "provider", p.ID, "reason", data["reason"], "err", err)
	s.core.event(ctx, gatehouse.EventLoginExternalFailed, userID, "", meta, data)
	return gatehouse.Errorf(gatehouse.EProvider, "%s", msg)
}

// FinishExternal completes the callback: the flow must exist, be fresh, unused and belong to this
// browser; the code is exchanged and the ID token verified; then the identity is matched (bound,
// auto-bind by verified email, auto-create, or linking by a signed-in user).
func (s *SignIn) FinishExternal(ctx context.Context, req CallbackRequest, meta ClientMeta) (*ExternalResult, error) {
	if err := s.core.providers.needRP(); err != nil {
		return nil, err
	}
	// The provider id comes from the address: anything that is not a valid id is not recorded.
	if len(req.ProviderID) > 40 || !providerIDPattern.MatchString(req.ProviderID) {
		return nil, errFlowUnknown
	}
	if req.State == "" || len(req.State) > 128 {
		s.core.throttledEvent(ctx, gatehouse.EventLoginExternalFailed, meta, map[string]any{"provider": req.ProviderID, "reason": "state_missing"})
		return nil, errFlowUnknown
	}
	f, err := s.store.TakeOIDCFlow(ctx, token.Hash(req.State), s.clock.Now())
	if err != nil {
		if !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, err
		}
		s.core.throttledEvent(ctx, gatehouse.EventLoginExternalFailed, meta, map[string]any{"provider": req.ProviderID, "reason": "state_unknown"})
		return nil, errFlowUnknown
	}
	// The flow is taken (used up) before these checks, so a stolen state is worth one try at most.
	if f.ProviderID != req.ProviderID || req.BrowserToken == "" || subtle.ConstantTimeCompare(token.Hash(req.BrowserToken), f.BrowserHash) != 1 {
		s.core.event(ctx, gatehouse.EventLoginExternalFailed, 0, "", meta, map[string]any{"provider": req.ProviderID, "reason": "browser_mismatch"})
		return nil, errFlowUnknown
	}
	p, err := s.store.ProviderByID(ctx, f.ProviderID)
	if err != nil || !p.Enabled {
		if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return nil, err
		}
		return nil, gatehouse.Errorf(gatehouse.ENotFound, "there is no enabled sign-in provider %q", req.ProviderID)
	}
	if req.Error != "" {
		pe := truncate(req.Error, 100)
		if req.ErrorDescription != "" {
			pe += ": " + truncate(req.ErrorDescription, 300)
		}
		s.core.event(ctx, gatehouse.EventLoginExternalFailed, f.LinkUserID, "", meta, map[string]any{"provider": p.ID, "reason": "provider_error", "provider_error": pe})
		return nil, gatehouse.Errorf(gatehouse.EProvider, "%s did not sign you in: %s", p.Name, pe)
	}
	if req.Code == "" || len(req.Code) > 4096 {
		s.core.event(ctx, gatehouse.EventLoginExternalFailed, f.LinkUserID, "", meta, map[string]any{"provider": p.ID, "reason": "code_missing"})
		return nil, gatehouse.Errorf(gatehouse.EProvider, "%s sent no authorization code; start the sign-in again", p.Name)
	}
	cfg, err := s.core.providers.rpConfig(ctx, p, meta)
	if err != nil {
		return nil, err
	}
	claims, err := s.core.providers.rp.Exchange(ctx, cfg, req.Code, f.Verifier, f.Nonce)
	if err != nil {
		return nil, s.externalFailed(ctx, p, f.LinkUserID, meta, err)
	}
	claims.Email = gatehouse.NormalizeLogin(claims.Email)
	if f.LinkUserID != 0 {
		return s.linkIdentity(ctx, p, f, claims, req.Principal, meta)
	}
	return s.signInExternal(ctx, p, f, claims, meta)
}

func (s *SignIn) linkIdentity(ctx context.Context, p *gatehouse.OIDCProvider, f *gatehouse.OIDCFlow, c *oidc.Claims, pr *Principal, meta ClientMeta) (*ExternalResult, error) {
	// The browser must still be signed in to the account that asked for the link.
	if pr == nil || pr.User.ID != f.LinkUserID {
		s.core.event(ctx, gatehouse.EventLoginExternalFailed, f.LinkUserID, "", meta, map[string]any{"provider": p.ID, "reason": "link_session_changed"})
		return nil, gatehouse.Errorf(gatehouse.EUnauthorized, "you are no longer signed in as the account that started linking; sign in and start again from Settings → Security")
	}
	done := &ExternalResult{Linked: true, RD: s.core.links.IdentityLinked()}
	id, err := s.store.IdentityBySubject(ctx, p.ID, c.Subject)
	switch {
	case err == nil && id.UserID == pr.User.ID:
		s.touchIdentity(ctx, id, c.Email)
		return done, nil
	case err == nil:
		s.core.event(ctx, gatehouse.EventLoginExternalFailed, pr.User.ID, pr.SessionID, meta, map[string]any{"provider": p.ID, "reason": "identity_bound_elsewhere"})
		return nil, gatehouse.Errorf(gatehouse.EConflict, "this %s account is already linked to another gatehouse account; unlink it there first", p.Name)
	case !gatehouse.IsCode(err, gatehouse.ENotFound):
		return nil, err
	}
	if err := s.bind(ctx, pr.User, p, c, "link", pr.SessionID, meta); err != nil {
		return nil, err
	}
	return done, nil
}

func (s *SignIn) bind(ctx context.Context, u *gatehouse.User, p *gatehouse.OIDCProvider, c *oidc.Claims, how, sid string, meta ClientMeta) error {
	now := s.clock.Now()
	i := &gatehouse.ExternalIdentity{UserID: u.ID, ProviderID: p.ID, Subject: c.Subject, Email: c.Email, BoundAt: now, LastUsedAt: &now}
	if err := s.store.CreateIdentity(ctx, i); err != nil {
		if gatehouse.IsCode(err, gatehouse.EConflict) {
			return gatehouse.Errorf(gatehouse.EConflict, "this %s account was linked to an account a moment ago; start the sign-in again", p.Name)
		}
		return err
	}
	s.core.event(ctx, gatehouse.EventIdentityBound, u.ID, sid, meta, map[string]any{"provider": p.ID, "subject": c.Subject, "email": c.Email, "how": how})
	return nil
}

func (s *SignIn) touchIdentity(ctx context.Context, i *gatehouse.ExternalIdentity, email string) {
	if err := s.store.TouchIdentity(ctx, i.ID, email, s.clock.Now()); err != nil {
		s.log.Warn("recording an identity's use failed", "identity_id", i.ID, "err", err)
	}
}

func (s *SignIn) signInExternal(ctx context.Context, p *gatehouse.OIDCProvider, f *gatehouse.OIDCFlow, c *oidc.Claims, meta ClientMeta) (*ExternalResult, error) {
	refuseDisabled := func(u *gatehouse.User) error {
		s.core.obs.SignIn("account_disabled")
		s.core.event(ctx, gatehouse.EventLoginExternalFailed, u.ID, "", meta, map[string]any{"provider": p.ID, "reason": "account_disabled"})
		return gatehouse.Errorf(gatehouse.EAccountDisabled, "this account is disabled; ask an administrator")
	}
	// 1. An identity already bound signs in to its user.
	id, err := s.store.IdentityBySubject(ctx, p.ID, c.Subject)
	if err == nil {
		u, err := s.store.UserByID(ctx, id.UserID)
		if err != nil {
			return nil, err
		}
		if u.Disabled {
			return nil, refuseDisabled(u)
		}
		s.touchIdentity(ctx, id, c.Email)
		return s.finishExternal(ctx, u, p, c, f, "bound", meta)
	}
	if !gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, err
	}
	var owners []*gatehouse.User
	if c.Email != "" {
		if owners, err = s.store.UsersByEmail(ctx, c.Email, 2); err != nil {
			return nil, err
		}
	}
	// 2. Auto-bind: the provider vouches for the address, and exactly one local account holds it
	// and has proved it too. The second condition stops account pre-hijacking: someone who
	// registered the victim's address without proving it must not receive the victim's identity.
	// Administrators are never bound automatically: a provider that vouches for any address
	// (a multi-tenant or compromised one) must not be able to hand out the console; they link
	// from Settings or by the verification mail.
	// Both automatic paths honour the provider's allowed email domains: a provider that serves
	// more than one organisation (Google, Entra multi-tenant) vouches for addresses anywhere.
	allowed := emailDomainAllowed(p, c.Email, c.EmailVerified)
	if p.AutoBindVerifiedEmail && allowed && c.EmailVerified && len(owners) == 1 && owners[0].EmailVerified && owners[0].Role != gatehouse.RoleAdmin {
		u := owners[0]
		if u.Disabled {
			return nil, refuseDisabled(u)
		}
		if err := s.bind(ctx, u, p, c, "auto_bind", "", meta); err != nil {
			return nil, err
		}
		return s.finishExternal(ctx, u, p, c, f, "auto_bind", meta)
	}
	// 3. Auto-create: the provider's switch alone decides (seed 000), independent of public
	// registration, so "only our identity provider's people may join" is possible; the address
	// must be at an allowed domain and not be someone's already.
	if p.AutoCreateUsers && len(owners) == 0 {
		if err := gatehouse.ValidateEmail(c.Email); err != nil {
			s.core.event(ctx, gatehouse.EventLoginExternalFailed, 0, "", meta, map[string]any{"provider": p.ID, "reason": "no_email", "subject": c.Subject})
			return nil, gatehouse.Errorf(gatehouse.ENotLinked, "%s did not share a usable email address, so no account can be created; ask an administrator to add the \"email\" scope", p.Name)
		}
		if !allowed {
			s.core.event(ctx, gatehouse.EventLoginExternalFailed, 0, "", meta, map[string]any{"provider": p.ID, "reason": "email_domain_not_allowed", "subject": c.Subject, "email": c.Email})
			return nil, gatehouse.Errorf(gatehouse.ENotLinked, "%s accounts at this email domain cannot create an account here; ask an administrator", p.Name)
		}
		u, err := s.createExternalUser(ctx, p, c, meta)
		if err != nil {
			return nil, err
		}
		if err := s.bind(ctx, u, p, c, "auto_create", "", meta); err != nil {
			return nil, err
		}
		return s.finishExternal(ctx, u, p, c, f, "auto_create", meta)
	}
	// 4. Nothing matched: the user links from a signed-in account, or proves the address by the
	// verification mail (auth/extverify.go).
	s.core.event(ctx, gatehouse.EventLoginExternalFailed, 0, "", meta, map[string]any{"provider": p.ID, "reason": "not_linked", "subject": c.Subject, "email": c.Email})
	return nil, s.notLinked(ctx, p, f, c)
}

// createExternalUser creates a normal user for an external identity: no password, a username
// from preferred_username or the email, made unique.
func (s *SignIn) createExternalUser(ctx context.Context, p *gatehouse.OIDCProvider, c *oidc.Claims, meta ClientMeta) (*gatehouse.User, error) {
	base := usernameBase(c.PreferredUsername)
	if base == "" {
		base = usernameBase(usernameFromEmail(c.Email))
	}
	if base == "" {
		base = "user"
	}
	for n := 1; n <= 50; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		if n == 50 {
			id, _ := token.Opaque()
			name = base + "-" + strings.ToLower(id[:8])
		}
		// The language of the browser that signed in: its mail is then written in it.
		u := &gatehouse.User{Username: name, Email: c.Email, Name: truncate(c.Name, 200), Role: gatehouse.RoleUser, EmailVerified: c.EmailVerified,
			Language: s.core.language(meta.Language)}
		err := s.store.CreateUser(ctx, u)
		if err == nil {
			s.core.hasUsers.Store(true)
			data := map[string]any{"provider": p.ID, "subject": c.Subject, "username": u.Username, "email": u.Email}
			if len(p.DefaultGroupIDs) > 0 {
				data["groups"] = s.grantDefaultGroups(ctx, p, u)
			}
			s.core.event(ctx, gatehouse.EventUserCreatedExternal, u.ID, "", meta, data)
			return u, nil
		}
		var e *gatehouse.Error
		if errors.As(err, &e) && (e.Code == gatehouse.EConflict && e.Field == "username" || e.Code == gatehouse.EConfusable) {
			continue
		}
		if errors.As(err, &e) && e.Code == gatehouse.EConflict && e.Field == "email" {
			return nil, gatehouse.Errorf(gatehouse.ENotLinked, "this %s account is not linked to a gatehouse account. Sign in with your password, then link it under Settings → Security → External identities.", p.Name)
		}
		return nil, err
	}
	return nil, gatehouse.Errorf(gatehouse.EConflict, "no free username could be found; ask an administrator to create your account")
}

// grantDefaultGroups makes a user just created through p a member of the provider's default
// groups and returns the names of those joined. A group deleted since the provider was saved is
// skipped. A failed write is logged and the sign-in goes on: the user then has fewer groups, which
// grants less, never more, and an administrator can add them.
func (s *SignIn) grantDefaultGroups(ctx context.Context, p *gatehouse.OIDCProvider, u *gatehouse.User) []string {
	for _, id := range p.DefaultGroupIDs {
		err := s.store.AddGroupMember(ctx, id, u.ID, s.clock.Now())
		if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			s.log.ErrorContext(ctx, "adding an externally created user to a default group failed", "provider", p.ID, "user_id", u.ID, "group_id", id, "err", err)
		}
	}
	names, err := s.store.UserGroups(ctx, u.ID)
	if err != nil {
		s.log.ErrorContext(ctx, "reading an externally created user's groups failed", "user_id", u.ID, "err", err)
		return []string{}
	}
	return names
}

// finishExternal completes an external sign-in.
//
// finishExternal turns a verified external identity into a session, or into the TOTP step for an
// account with MFA: the same finish as the password login (seed 000: external sign-ins enter the
// second-factor step too).
func (s *SignIn) finishExternal(ctx context.Context, u *gatehouse.User, p *gatehouse.OIDCProvider, c *oidc.Claims, f *gatehouse.OIDCFlow, how string, meta ClientMeta) (*ExternalResult, error) {
	t, err := s.signInOrChallenge(ctx, u, gatehouse.AuthExternal, false, meta)
	if err != nil {
		if gatehouse.IsCode(err, gatehouse.EAccountDisabled) {
			s.core.event(ctx, gatehouse.EventLoginExternalFailed, u.ID, "", meta, map[string]any{"provider": p.ID, "reason": "account_disabled"})
		}
		return nil, err
	}
	sid := ""
	if t.Session != nil {
		sid = t.Session.ID
	}
	s.core.event(ctx, gatehouse.EventLoginExternal, u.ID, sid, meta, map[string]any{"provider": p.ID, "subject": c.Subject, "match": how, "mfa_required": t.MFA != nil})
	return &ExternalResult{Tokens: t, RD: f.RD}, nil
}
