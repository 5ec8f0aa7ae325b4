package auth

import (
	"context"
	"encoding/json"

	"github.com/gatehouse/gatehouse"
)

// registrationClaim is a registration for an address that a pending account holds, kept with the
// activation link mailed to that address until the link is used (docs/mail.md, "An address
// held by a pending account").
type registrationClaim struct {
	Username     string `json:"username"`
	PasswordHash string `json:"password_hash"`
	Language     string `json:"language,omitempty"`
}

// addressHeld answers a registration whose address is already in use. When the account holding it
// was never activated, nobody has proved the address yet: the registration is kept as a claim,
// and its activation link, mailed to the address, replaces the pending account by the new one
// when used. So whoever registered someone else's address first cannot keep its owner out, and
// cannot take the owner's account either (the link goes to the owner's mailbox). Any other holder
// gets the "someone tried to register" notice. Both answers are those of a fresh registration.
func (s *Mail) addressHeld(ctx context.Context, u *gatehouse.User, res *RegisterResult, meta ClientMeta) (*RegisterResult, error) {
	holder, err := s.store.UserByLogin(ctx, u.Email)
	if err != nil {
		return nil, err
	}
	if !holder.Pending || holder.Disabled || !res.ActivationRequired {
		return s.addressTaken(ctx, u, res, meta)
	}
	// The pending account's own username is freed by the claim; any other holder keeps theirs.
	if other, err := s.store.UserByLogin(ctx, u.Username); err == nil && other.Username == u.Username && other.ID != holder.ID {
		return nil, &gatehouse.Error{Code: gatehouse.EConflict, Field: "username", Message: "username is already taken"}
	}
	data, err := json.Marshal(registrationClaim{Username: u.Username, PasswordHash: u.PasswordHash, Language: u.Language})
	if err != nil {
		return nil, err
	}
	st := s.core.Settings()
	// The link is the holder's activation link (only the newest works, with its cooldown): the
	// mailbox gets no more mail than from resends, and the registrant's earlier link dies.
	err = s.issueLinkData(ctx, holder, gatehouse.TokenActivation, s.core.links.Activation, holder.Email, st.ActivationTTL, st.VerificationCooldown, string(data),
		func(link string) ([]*gatehouse.OutboxMail, error) {
			m, err := s.activationMail(u, link)
			return []*gatehouse.OutboxMail{m}, err
		})
	if err != nil && !gatehouse.IsCode(err, gatehouse.ERateLimited) {
		return nil, err
	}
	s.core.event(ctx, gatehouse.EventUserRegistered, 0, "", meta, map[string]any{"username": u.Username, "activation_required": true,
		"claims_pending_user_id": holder.ID, "mailed": err == nil})
	return res, nil
}

// activationUse is what using the activation link t changes: it activates its account, or, for a
// claim, replaces the pending account by the one registered with the claim.
func activationUse(t *gatehouse.OneTimeToken) (gatehouse.TokenUse, error) {
	use := gatehouse.TokenUse{Activate: true}
	if t.Data == "" {
		return use, nil
	}
	var c registrationClaim
	if err := json.Unmarshal([]byte(t.Data), &c); err != nil {
		return use, err
	}
	use.Claim = &gatehouse.User{Username: c.Username, PasswordHash: c.PasswordHash, Language: c.Language, Role: gatehouse.RoleUser}
	return use, nil
}
