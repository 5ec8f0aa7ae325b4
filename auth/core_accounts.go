package auth

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// accountKit is what several services need to make and read accounts: the password policy,
// creating an account, reading the principal's user fresh, reclaiming an account for an
// external identity, and listing a user's sessions.
type accountKit struct {
	core  *Core
	store gatehouse.Store
	clock gatehouse.Clock
}

func (s *accountKit) policy() passwordPolicy {
	st := s.core.Settings()
	return passwordPolicy{min: st.PasswordMinLen, max: st.PasswordMaxLen}
}

// newAccount validates and normalizes a new account's fields and hashes its password.
func (s *accountKit) newAccount(ctx context.Context, username, email, pw string, role gatehouse.Role) (*gatehouse.User, error) {
	u := &gatehouse.User{Email: gatehouse.NormalizeLogin(email), Role: role}
	name := strings.TrimSpace(username)
	if name == "" && u.Email != "" {
		// An email alone is enough: the username defaults to its local part.
		name = usernameFromEmail(u.Email)
	}
	// PRECIS (fullwidth letters folded, case mapped); the store refuses a look-alike of an
	// existing name by its TR39 skeleton.
	name, err := gatehouse.NormalizeUsername(name)
	if err != nil {
		return nil, err
	}
	u.Username = name
	if err := gatehouse.ValidateEmail(u.Email); err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, gatehouse.FieldError("role", "role must be admin or user")
	}
	if err := s.policy().check(pw); err != nil {
		return nil, err
	}
	h, err := s.core.hasher.Hash(ctx, pw)
	if err != nil {
		return nil, err
	}
	u.PasswordHash = h
	return u, nil
}

// freshUser reads the principal's user from the store: MFA state must not come from a cache.
func (s *accountKit) freshUser(ctx context.Context, p *Principal) (*gatehouse.User, error) {
	return s.store.UserByID(ctx, p.User.ID)
}

// reclaim removes every way to sign in to u that someone other than the address's owner may have
// set up, except the identity about to be bound (provider, subject): the second factor (it would
// lock the owner out, or keep a squatter's factor on the account), passkeys and other external
// identities. The password went with the link's use. What was removed is added to data.
func (s *accountKit) reclaim(ctx context.Context, u *gatehouse.User, provider, subject string, data map[string]any) error {
	mfa, err := s.store.DeleteMFA(ctx, u.ID, s.clock.Now())
	if err != nil {
		return err
	}
	data["mfa_removed"] = mfa
	pks, err := s.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, pk := range pks {
		if _, err := s.store.DeletePasskey(ctx, u.ID, pk.ID); err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return err
		}
	}
	data["passkeys_removed"] = len(pks)
	ids, err := s.store.ListIdentities(ctx, u.ID)
	if err != nil {
		return err
	}
	removed := 0
	for _, i := range ids {
		if i.ProviderID == provider && i.Subject == subject {
			continue
		}
		if err := s.store.DeleteIdentity(ctx, u.ID, i.ID); err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return err
		}
		removed++
	}
	data["identities_removed"] = removed
	s.core.users.drop(u.ID)
	return nil
}

// sessionViews lists a user's active sessions, marking `current`.
func (s *accountKit) sessionViews(ctx context.Context, userID int64, current string) ([]SessionView, error) {
	list, err := s.store.ListSessions(ctx, userID, s.clock.Now())
	if err != nil {
		return nil, err
	}
	out := make([]SessionView, 0, len(list))
	for _, sess := range list {
		if s.core.revoked.Revoked(sess.ID) {
			continue
		}
		out = append(out, sessionView(sess, current, s.core.lastSeenLocal(sess)))
	}
	return out, nil
}

// reportUsernameCollisions fills the confusable skeletons of accounts written before they existed
// and logs every pair of existing usernames that look alike. Nothing is renamed or removed: an
// administrator decides (docs/operations.md). A failure is logged; the next start tries again.
func (s *Core) reportUsernameCollisions(ctx context.Context) {
	cs, err := s.store.FillUsernameSkeletons(ctx)
	if err != nil {
		s.log.Warn("checking existing usernames for look-alikes failed", "err", err)
	}
	for _, c := range cs {
		s.log.Warn("two existing usernames look alike (same Unicode confusable skeleton); rename or delete one of them",
			"user_id", c.ID, "username", c.Username, "other_user_id", c.OtherID, "other_username", c.OtherUsername)
	}
}
