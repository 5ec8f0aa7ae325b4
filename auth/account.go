package auth

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse"
)

// SessionView is a session as the owner or an administrator sees it.
type SessionView struct {
	ID           string
	Current      bool
	AuthMethod   string
	IP           string
	UserAgent    string
	CreatedAt    time.Time
	LastSeenAt   time.Time
	ExpiresAt    time.Time
	StaySignedIn bool
	// Location and Network are where the session signed in from, when a GeoIP database knew.
	Location *SessionLocation
	Network  *SessionNetwork
}

// RevokeOwnSession ends one of the principal's own sessions. Another user's session id is
// ENotFound, never a hint that it exists.
func (s *Account) RevokeOwnSession(ctx context.Context, p *Principal, sid string, meta ClientMeta) error {
	sess, err := s.store.SessionByID(ctx, sid)
	if err != nil || sess.UserID != p.User.ID || !sess.Active(s.clock.Now()) {
		if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return err
		}
		return gatehouse.Errorf(gatehouse.ENotFound, "no such session")
	}
	ended, err := s.core.endSession(ctx, sid, p.User.ID, gatehouse.ReasonUser, meta, map[string]any{"by_session": p.SessionID})
	if ended {
		s.core.event(ctx, gatehouse.EventSessionRevoked, p.User.ID, sid, meta, map[string]any{"reason": gatehouse.ReasonUser, "by_user_id": p.User.ID})
	}
	return err
}

// SignOutOthers ends every session of the principal but the current one. EStoreUnavailable when
// some revocations are only queued.
func (s *Account) SignOutOthers(ctx context.Context, p *Principal, meta ClientMeta) (int, error) {
	return s.core.EndUserSessions(ctx, p.User.ID, p.SessionID, gatehouse.ReasonSignOutOthers, meta, nil)
}

// ChangePassword checks the current password, sets the new one and ends the user's other sessions.
func (s *Account) ChangePassword(ctx context.Context, p *Principal, current, next string, meta ClientMeta) error {
	if current == "" {
		return gatehouse.FieldError("current_password", "enter your current password")
	}
	if err := s.core.accounts.policy().checkMax(current); err != nil {
		return gatehouse.FieldError("current_password", "the current password is wrong")
	}
	if err := s.core.accounts.policy().check(next); err != nil {
		if e, ok := err.(*gatehouse.Error); ok {
			return &gatehouse.Error{Code: e.Code, Field: "new_password", Message: e.Message}
		}
		return err
	}
	if err := s.core.limits.reauthLimit(ctx, p.User.ID, meta); err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if u.PasswordHash == "" {
		return gatehouse.FieldError("current_password", "this account has no password: it signs in through an external provider")
	}
	ok, _, err := s.core.hasher.Verify(ctx, current, u.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		s.core.event(ctx, gatehouse.EventLoginFailed, u.ID, p.SessionID, meta, map[string]any{"reason": "wrong_current_password", "during": "password_change"})
		return &gatehouse.Error{Code: gatehouse.EInvalidCredentials, Field: "current_password", Message: "the current password is wrong"}
	}
	h, err := s.core.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	if _, err := s.store.UpdateUser(ctx, u.ID, gatehouse.UserUpdate{PasswordHash: &h}); err != nil {
		return err
	}
	ended, err := s.core.EndUserSessions(ctx, u.ID, p.SessionID, gatehouse.ReasonPasswordChanged, meta, nil)
	s.core.event(ctx, gatehouse.EventPasswordChanged, u.ID, p.SessionID, meta, map[string]any{"other_sessions_ended": ended})
	return err
}

// Sessions lists the principal's own active sessions, marking the current one.
func (s *Account) Sessions(ctx context.Context, p *Principal) ([]SessionView, error) {
	return s.core.accounts.sessionViews(ctx, p.User.ID, p.SessionID)
}

// language is the preference to store for pref, a language code or an Accept-Language header
// (mail.Outbox.Language): "" when nothing offered matches.
func (s *Core) language(pref string) string { return s.mail.Language(pref) }

// SetLanguage saves the account's preferred language: its mail is written in it, and its pages
// when the browser has not chosen one. "" clears the preference; a language not offered is
// refused (EInvalid, field "language").
func (s *Account) SetLanguage(ctx context.Context, p *Principal, code string, meta ClientMeta) (*gatehouse.User, error) {
	if code != "" && s.core.language(code) != code {
		return nil, gatehouse.FieldError("language", "this language is not offered")
	}
	u, err := s.store.UpdateUser(ctx, p.User.ID, gatehouse.UserUpdate{Language: &code})
	if err != nil {
		return nil, err
	}
	// This instance sees the change at once; others through the change feed.
	s.core.users.drop(u.ID)
	s.core.event(ctx, gatehouse.EventUserLanguageChanged, u.ID, p.SessionID, meta, map[string]any{"language": code})
	return u, nil
}
