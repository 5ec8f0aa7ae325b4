package auth

import (
	"context"

	"github.com/gatehouse/gatehouse"
)

// Identities lists the principal's own external identities.
func (s *Account) Identities(ctx context.Context, p *Principal) ([]IdentityView, error) {
	ids, err := s.store.ListIdentities(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	if ps, err := s.store.ListProviders(ctx); err == nil {
		for _, p := range ps {
			names[p.ID] = p.Name
		}
	}
	out := make([]IdentityView, 0, len(ids))
	for _, i := range ids {
		v := IdentityView{ID: i.ID, Provider: i.ProviderID, ProviderName: names[i.ProviderID], Subject: i.Subject, Email: i.Email,
			BoundAt: i.BoundAt, LastUsedAt: i.LastUsedAt}
		if v.ProviderName == "" {
			v.ProviderName = i.ProviderID
		}
		out = append(out, v)
	}
	return out, nil
}

// UnlinkIdentity removes one of the principal's identities. The last way to sign in (no
// password, no passkey and no other identity) is refused: the account would be locked for good.
func (s *Account) UnlinkIdentity(ctx context.Context, pr *Principal, id int64, meta ClientMeta) error {
	ids, err := s.store.ListIdentities(ctx, pr.User.ID)
	if err != nil {
		return err
	}
	var target *gatehouse.ExternalIdentity
	for _, i := range ids {
		if i.ID == id {
			target = i
		}
	}
	if target == nil {
		return gatehouse.Errorf(gatehouse.ENotFound, "no such external identity")
	}
	u, err := s.store.UserByID(ctx, pr.User.ID)
	if err != nil {
		return err
	}
	if u.PasswordHash == "" && len(ids) == 1 {
		// A passkey is a way in too.
		pks, err := s.store.ListPasskeys(ctx, u.ID)
		if err != nil {
			return err
		}
		if len(pks) == 0 {
			return gatehouse.Errorf(gatehouse.EConflict, "this identity is your only way to sign in: your account has no password and no passkey. Link another provider or add a passkey first (or ask an administrator to set a password), then unlink this one")
		}
	}
	if err := s.store.DeleteIdentity(ctx, pr.User.ID, id); err != nil {
		return err
	}
	s.core.event(ctx, gatehouse.EventIdentityUnbound, pr.User.ID, pr.SessionID, meta, map[string]any{"provider": target.ProviderID, "subject": target.Subject})
	return nil
}
