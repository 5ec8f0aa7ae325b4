package auth

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/gatehouse/gatehouse"
)

// CreateUserRequest is an account created by an administrator (no activation needed).
type CreateUserRequest struct {
	Username, Email, Password string
	Role                      gatehouse.Role
}

// UserPatch is an administrator's change to a user; nil fields stay as they are.
type UserPatch struct {
	Role     *gatehouse.Role
	Disabled *bool
	Email    *string
}

// ParseID parses a numeric path id, ENotFound for anything else.
func ParseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, gatehouse.Errorf(gatehouse.ENotFound, "no such user")
	}
	return id, nil
}

// AdminResetMFA clears a user's authenticator, recovery codes and unfinished sign-in challenges
// and ends all their sessions (seed 000: the way back for a user who lost both). EConflict when
// MFA was not on.
func (s *Admin) AdminResetMFA(ctx context.Context, admin *Principal, id int64, meta ClientMeta) (int, error) {
	if err := requireAdmin(admin); err != nil {
		return 0, err
	}
	was, err := s.store.DeleteMFA(ctx, id, s.clock.Now())
	if err != nil {
		return 0, err
	}
	s.core.users.drop(id)
	if !was {
		return 0, gatehouse.Errorf(gatehouse.EConflict, "multi-factor authentication is not on for this user")
	}
	ended, err := s.core.EndUserSessions(ctx, id, "", gatehouse.ReasonMFAReset, meta, map[string]any{"by_user_id": admin.User.ID})
	s.core.userEvent(ctx, gatehouse.EventMFAReset, admin, id, meta, map[string]any{"sessions_ended": ended})
	return ended, err
}

// AdminPasskeys lists a user's passkeys for an administrator (ENotFound for an unknown user).
func (s *Admin) AdminPasskeys(ctx context.Context, admin *Principal, userID int64) ([]PasskeyView, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	if _, err := s.store.UserByID(ctx, userID); err != nil {
		return nil, err
	}
	return s.core.passkeys.list(ctx, userID)
}

// AdminDeletePasskey removes a user's passkey as an administrator.
func (s *Admin) AdminDeletePasskey(ctx context.Context, admin *Principal, userID, id int64, meta ClientMeta) error {
	if err := requireAdmin(admin); err != nil {
		return err
	}
	pk, err := s.store.DeletePasskey(ctx, userID, id)
	if err != nil {
		return err
	}
	s.core.userEvent(ctx, gatehouse.EventPasskeyRemoved, admin, userID, meta, map[string]any{"passkey_id": pk.ID, "name": pk.Name, "by": "admin"})
	return nil
}

// ListUsers returns one page of users matching query; page counts from 1.
func (s *Admin) ListUsers(ctx context.Context, admin *Principal, query string, page, perPage int) ([]*gatehouse.User, bool, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, false, err
	}
	if page < 1 {
		page = 1
	}
	return s.store.ListUsers(ctx, gatehouse.UserFilter{Query: query, Offset: (page - 1) * perPage, Limit: perPage})
}

// UserByID returns a user (ENotFound).
func (s *Admin) UserByID(ctx context.Context, admin *Principal, id int64) (*gatehouse.User, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	return s.store.UserByID(ctx, id)
}

// CreateUser creates an account as an administrator.
func (s *Admin) CreateUser(ctx context.Context, admin *Principal, req CreateUserRequest, meta ClientMeta) (*gatehouse.User, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	if req.Role == "" {
		req.Role = gatehouse.RoleUser
	}
	u, err := s.core.accounts.newAccount(ctx, req.Username, req.Email, req.Password, req.Role)
	if err != nil {
		return nil, err
	}
	// An administrator vouches for the address; no activation mail is needed.
	u.EmailVerified = true
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	s.core.hasUsers.Store(true)
	s.core.userEvent(ctx, gatehouse.EventAdminUserCreated, admin, u.ID, meta, map[string]any{"username": u.Username, "role": u.Role})
	return u, nil
}

// UpdateUser changes role, disabled state or email. Disabling ends every session of the user at
// once; the store refuses to leave no enabled administrator.
func (s *Admin) UpdateUser(ctx context.Context, admin *Principal, id int64, p UserPatch, meta ClientMeta) (*gatehouse.User, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	upd := gatehouse.UserUpdate{Role: p.Role, Disabled: p.Disabled}
	changes := map[string]any{}
	if p.Role != nil {
		if !p.Role.Valid() {
			return nil, gatehouse.FieldError("role", "role must be admin or user")
		}
		changes["role"] = *p.Role
	}
	if p.Disabled != nil {
		changes["disabled"] = *p.Disabled
	}
	if p.Email != nil {
		e := gatehouse.NormalizeLogin(*p.Email)
		if err := gatehouse.ValidateEmail(e); err != nil {
			return nil, err
		}
		upd.Email = &e
		changes["email"] = e
	}
	if len(changes) == 0 {
		return nil, gatehouse.Errorf(gatehouse.EInvalid, "nothing to change: give role, disabled or email")
	}
	u, err := s.store.UpdateUser(ctx, id, upd)
	if err != nil {
		return nil, err
	}
	s.core.users.drop(id)
	var endErr error
	if u.Disabled && p.Disabled != nil {
		changes["sessions_ended"], endErr = s.core.EndUserSessions(ctx, id, "", gatehouse.ReasonUserDisabled, meta, map[string]any{"by_user_id": admin.User.ID})
	}
	s.core.userEvent(ctx, gatehouse.EventAdminUserUpdated, admin, id, meta, changes)
	if endErr != nil {
		return nil, endErr
	}
	return u, nil
}

// DeleteUser ends the user's sessions and deletes the account.
func (s *Admin) DeleteUser(ctx context.Context, admin *Principal, id int64, meta ClientMeta) error {
	if err := requireAdmin(admin); err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	// Refuse before ending sessions, so a refused delete changes nothing.
	if err := s.store.DeleteUser(ctx, id); err != nil {
		return err
	}
	// The store deleted the sessions too. Their tokens die because the user lookup fails: here at
	// once, elsewhere when the user change arrives through the feed.
	s.core.users.drop(id)
	s.core.userEvent(ctx, gatehouse.EventAdminUserDeleted, admin, id, meta, map[string]any{"username": u.Username})
	return nil
}

// ResetPassword sets a user's password as an administrator and ends all their sessions.
func (s *Admin) ResetPassword(ctx context.Context, admin *Principal, id int64, pw string, meta ClientMeta) error {
	if err := requireAdmin(admin); err != nil {
		return err
	}
	return s.resetPassword(ctx, admin, id, pw, meta)
}

// resetPassword is ResetPassword after the permission check; admin is nil for the CLI.
func (s *Admin) resetPassword(ctx context.Context, admin *Principal, id int64, pw string, meta ClientMeta) (err error) {
	if err := s.core.accounts.policy().check(pw); err != nil {
		return err
	}
	if _, err := s.store.UserByID(ctx, id); err != nil {
		return err
	}
	h, err := s.core.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	if _, err := s.store.UpdateUser(ctx, id, gatehouse.UserUpdate{PasswordHash: &h}); err != nil {
		return err
	}
	var by int64
	if admin != nil {
		by = admin.User.ID
	}
	ended, endErr := s.core.EndUserSessions(ctx, id, "", gatehouse.ReasonPasswordReset, meta, map[string]any{"by_user_id": by})
	defer func() {
		if endErr != nil && err == nil {
			err = endErr
		}
	}()
	data := map[string]any{"target_user_id": id, "sessions_ended": ended}
	if admin != nil {
		s.core.event(ctx, gatehouse.EventPasswordReset, admin.User.ID, admin.SessionID, meta, data)
	} else {
		data["via"] = "cli"
		s.core.event(ctx, gatehouse.EventPasswordReset, id, "", meta, data)
	}
	return nil
}

// AdminRevokeSession ends any session as an administrator.
func (s *Admin) AdminRevokeSession(ctx context.Context, admin *Principal, sid string, meta ClientMeta) error {
	if err := requireAdmin(admin); err != nil {
		return err
	}
	sess, err := s.store.SessionByID(ctx, sid)
	if err != nil {
		return err
	}
	if !sess.Active(s.clock.Now()) {
		return gatehouse.Errorf(gatehouse.ENotFound, "no such active session")
	}
	ended, err := s.core.endSession(ctx, sid, sess.UserID, gatehouse.ReasonAdmin, meta, map[string]any{"by_user_id": admin.User.ID})
	if ended {
		s.core.event(ctx, gatehouse.EventSessionRevoked, admin.User.ID, admin.SessionID, meta, map[string]any{"reason": gatehouse.ReasonAdmin, "target_user_id": sess.UserID, "target_session_id": sid})
	}
	return err
}

// PatchSettings validates every value and saves all or nothing.
func (s *Admin) PatchSettings(ctx context.Context, admin *Principal, patch gatehouse.SettingsPatch, meta ClientMeta) error {
	if err := requireAdmin(admin); err != nil {
		return err
	}
	vals, err := gatehouse.ValidateSettingsPatch(patch, s.core.Settings(), s.core.cookieSecureDefault)
	if err != nil || len(vals) == 0 {
		return err
	}
	if err := s.core.binding.checkBindingSettings(vals); err != nil {
		return err
	}
	keys := slices.Sorted(maps.Keys(vals)) // for the event, before sealing: names only
	s.core.sealSecretSettings(vals)
	if err := s.store.UpdateSettings(ctx, vals, s.clock.Now()); err != nil {
		return err
	}
	if err := s.core.reloadSettings(ctx); err != nil {
		return err
	}
	s.core.event(ctx, gatehouse.EventSettingsChanged, admin.User.ID, admin.SessionID, meta, map[string]any{"keys": keys})
	return nil
}

// Events lists the audit trail.
func (s *Admin) Events(ctx context.Context, admin *Principal, f gatehouse.EventFilter) ([]*gatehouse.Event, bool, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, false, err
	}
	return s.store.ListEvents(ctx, f)
}

// BootstrapAdmin creates the first administrator from the CLI. It reports false, without error,
// when an administrator already exists (the command is idempotent).
func (s *Admin) BootstrapAdmin(ctx context.Context, username, email, pw string) (bool, error) {
	has, err := s.store.HasAdmin(ctx)
	if err != nil || has {
		return false, err
	}
	u, err := s.core.accounts.newAccount(ctx, username, email, pw, gatehouse.RoleAdmin)
	if err != nil {
		return false, err
	}
	u.EmailVerified = true
	err = s.store.CreateFirstAdmin(ctx, u)
	if gatehouse.IsCode(err, gatehouse.ESetupDone) {
		// Users exist but none is an administrator (or one appeared meanwhile): make this one an
		// administrator unless another administrator now exists.
		if has, herr := s.store.HasAdmin(ctx); herr != nil || has {
			return false, herr
		}
		err = s.store.CreateUser(ctx, u)
	}
	if err != nil {
		return false, err
	}
	s.core.hasUsers.Store(true)
	s.core.event(ctx, gatehouse.EventSetupAdminCreated, u.ID, "", ClientMeta{IP: "cli"}, map[string]any{"username": u.Username, "via": "cli"})
	return true, nil
}

// ResetPasswordCLI sets a password from the CLI for a username or email.
func (s *Admin) ResetPasswordCLI(ctx context.Context, login, pw string) (*gatehouse.User, error) {
	u, err := s.store.UserByLogin(ctx, gatehouse.NormalizeSignInLogin(login))
	if err != nil {
		return nil, err
	}
	return u, s.resetPassword(ctx, nil, u.ID, pw, ClientMeta{IP: "cli"})
}

// SeedDevAdmin creates admin@admin.com / admin when there are no users ([dev] seed_admin). The
// password policy is bypassed on purpose: this is for local development only.
func (s *Admin) SeedDevAdmin(ctx context.Context) (bool, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return false, err
	}
	h, err := s.core.hasher.Hash(ctx, "admin")
	if err != nil {
		return false, err
	}
	u := &gatehouse.User{Username: "admin", Email: "admin@admin.com", Role: gatehouse.RoleAdmin, EmailVerified: true, PasswordHash: h}
	if err := s.store.CreateFirstAdmin(ctx, u); err != nil {
		if gatehouse.IsCode(err, gatehouse.ESetupDone) {
			return false, nil
		}
		return false, err
	}
	s.core.hasUsers.Store(true)
	s.core.event(ctx, gatehouse.EventSetupAdminCreated, u.ID, "", ClientMeta{IP: "dev-seed"}, map[string]any{"username": "admin", "via": "dev_seed_admin"})
	return true, nil
}

// requireAdmin is the permission check of every admin use case. The transports check the role
// too, but only to shape the answer (a JSON 403 or a redirect); this check is the one that holds.
func requireAdmin(p *Principal) error {
	if p == nil || p.User == nil || p.User.Role != gatehouse.RoleAdmin {
		return gatehouse.Errorf(gatehouse.EForbidden, "administrators only")
	}
	return nil
}

// UserSessions lists another user's active sessions for an administrator (ENotFound for an
// unknown user); current is the administrator's own session id, marked when listed.
func (s *Admin) UserSessions(ctx context.Context, admin *Principal, userID int64) ([]SessionView, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	if _, err := s.store.UserByID(ctx, userID); err != nil {
		return nil, err
	}
	return s.core.accounts.sessionViews(ctx, userID, admin.SessionID)
}

// Settings returns the runtime settings snapshot for the settings console.
func (s *Admin) Settings(admin *Principal) (*gatehouse.Settings, error) {
	if err := requireAdmin(admin); err != nil {
		return nil, err
	}
	return s.core.Settings(), nil
}
